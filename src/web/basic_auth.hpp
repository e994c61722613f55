// Checks HTTP basic auth against bcrypt hashes (crypt_r). bcrypt is slow on purpose, so verdicts
// for credentials already seen are cached (keyed by a SHA-256 of user and password, never the
// password itself).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace web {

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

  bool enabled() const { return !users_.empty(); }
  // The Authorization header's value; true if it names a user with the right password.
  bool check(std::string_view authorization_header);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mutex_;
  std::unordered_map<std::string, bool> verdicts_;  // bounded: cleared when it grows large
};

// crypt_r with the hash as setting; true if the password matches.
bool bcrypt_matches(const std::string& password, const std::string& hash);

}  // namespace web
