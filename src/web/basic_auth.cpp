#include "web/basic_auth.hpp"

#include <crypt.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "util/base64.hpp"

namespace web {
namespace {

constexpr std::size_t kMaxCachedVerdicts = 1024;

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return {reinterpret_cast<char*>(md), len};
}

}  // namespace

bool bcrypt_matches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  return out != nullptr && out[0] != '*' && hash == out;
}

bool BasicAuth::check(std::string_view authorization_header) {
  const auto creds = util::parse_basic_auth(authorization_header);
  if (!creds) return false;
  const auto it = users_.find(creds->first);
  if (it == users_.end()) return false;
  const std::string key = sha256(creds->first + '\0' + creds->second);
  {
    std::lock_guard lock(mutex_);
    if (auto v = verdicts_.find(key); v != verdicts_.end()) return v->second;
  }
  const bool ok = bcrypt_matches(creds->second, it->second);
  std::lock_guard lock(mutex_);
  if (verdicts_.size() >= kMaxCachedVerdicts) verdicts_.clear();
  verdicts_[key] = ok;
  return ok;
}

}  // namespace web
