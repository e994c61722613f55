#include "web/basic_auth.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "util/base64.hpp"

namespace web {
namespace {

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return {reinterpret_cast<char*>(md), len};
}

// A bcrypt hash of a random password with a random salt at `cost`: checking any password
// against it takes as long as against a user's own hash, and never matches a password anyone
// knows.
std::string make_dummy_hash(unsigned long cost) {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) return {};
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, reinterpret_cast<const char*>(random), 16, salt,
                       sizeof salt) == nullptr)
    return {};
  std::string password;
  for (std::size_t i = 16; i < sizeof random; ++i)
    password.push_back(static_cast<char>('a' + random[i] % 26));
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_r(password.c_str(), salt, data.get());
  return out != nullptr && out[0] != '*' ? std::string(out) : std::string();
}

}  // namespace

unsigned long bcrypt_cost(std::string_view hash) {
  if (hash.size() < 7 || hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' ||
      hash[6] != '$')
    return 10;
  return static_cast<unsigned long>(hash[4] - '0') * 10 + static_cast<unsigned long>(hash[5] - '0');
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  return out != nullptr && out[0] != '*' && std::strlen(out) == hash.size() &&
         CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
}

BasicAuth::BasicAuth(const std::map<std::string, std::string>& users, std::size_t max_cached)
    : max_cached_(std::max<std::size_t>(1, max_cached)) {
  unsigned long cost = 0;
  for (const auto& [name, hash] : users) {
    users_.push_back({sha256(name), hash});
    cost = std::max(cost, bcrypt_cost(hash));
  }
  if (!users_.empty()) dummy_hash_ = make_dummy_hash(cost);
}

BasicAuth::Verdict BasicAuth::check(std::string_view authorization_header) {
  if (authorization_header.empty()) return Verdict::missing;
  const auto creds = util::parse_basic_auth(authorization_header);
  if (!creds) return Verdict::invalid;
  // Every user is compared, without an early exit: the time does not depend on where (or
  // whether) the name is in the list.
  const std::string name_digest = sha256(creds->first);
  const User* user = nullptr;
  for (const auto& u : users_) {
    const bool same =
        CRYPTO_memcmp(u.name_digest.data(), name_digest.data(), name_digest.size()) == 0;
    user = same ? &u : user;
  }
  const std::string& hash = user != nullptr ? user->hash : dummy_hash_;
  std::string key = creds->first;
  key.append(1, '\0').append(creds->second).append(1, '\0').append(hash);
  key = sha256(key);
  {
    std::lock_guard lock(mutex_);
    if (passed_.count(key) != 0) return Verdict::ok;
    if (refused_.count(key) != 0) return Verdict::invalid;
  }
  ++bcrypt_runs_;
  const bool matches = bcrypt_matches(creds->second, hash);
  const bool ok = matches && user != nullptr;
  std::lock_guard lock(mutex_);
  auto& cache = ok ? passed_ : refused_;
  if (cache.size() >= max_cached_) cache.clear();
  cache.insert(std::move(key));
  return ok ? Verdict::ok : Verdict::invalid;
}

}  // namespace web
