// HTTP basic auth against bcrypt hashes (crypt_r), at the exporter-toolkit's standard:
// - bcrypt is slow on purpose, so verdicts already reached are cached, keyed by a SHA-256 of user,
//   password and hash (never the password itself), in bounded sets; credentials that passed are
//   kept apart from refused ones, so a flood of wrong passwords cannot evict them;
// - a user name that does not exist is checked against a dummy hash of the users' cost, so the
//   time of an answer does not tell which names exist;
// - user names and hashes are compared in constant time (CRYPTO_memcmp).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace web {

class BasicAuth {
 public:
  enum class Verdict { ok, missing, invalid };

  // user -> bcrypt hash. With users, makes the dummy hash: one bcrypt at the users' cost.
  // `max_cached`: verdicts kept per set (passed, refused).
  explicit BasicAuth(const std::map<std::string, std::string>& users,
                     std::size_t max_cached = 1024);

  bool enabled() const { return !users_.empty(); }
  // The Authorization header's value (empty when absent).
  Verdict check(std::string_view authorization_header);

  // bcrypt runs so far: tests tell a cached verdict from a computed one by it, not by time.
  std::uint64_t bcrypt_runs() const { return bcrypt_runs_; }
  // What unknown names are checked against (a hash of a random password nobody knows).
  const std::string& dummy_hash() const { return dummy_hash_; }

 private:
  struct User {
    std::string name_digest;  // SHA-256 of the name
    std::string hash;
  };
  std::vector<User> users_;
  std::string dummy_hash_;
  std::size_t max_cached_;
  std::atomic<std::uint64_t> bcrypt_runs_{0};
  std::mutex mutex_;
  std::unordered_set<std::string> passed_, refused_;  // cache keys; each cleared when full
};

// The cost of a "$2b$NN$..." hash; 10 (htpasswd's default) when it cannot be read.
unsigned long bcrypt_cost(std::string_view hash);

// crypt_r with the hash as setting; true if the password matches (compared in constant time).
bool bcrypt_matches(const std::string& password, const std::string& hash);

}  // namespace web
