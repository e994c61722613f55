#include "web/web_config.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "util/duration.hpp"
#include "util/log.hpp"
#include "web/tls.hpp"

namespace web {
namespace {

// The headers the toolkit lets a config set, with the values it accepts (empty: any value).
// Kept to its list on purpose, "to ensure consistency in the Prometheus ecosystem".
struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;
};
const std::array<AllowedHeader, 5>& allowed_headers() {
  static const std::array<AllowedHeader, 5> kAllowed = {{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  }};
  return kAllowed;
}

// yaml-cpp reports type errors by exception; these turn them into the parser's messages.
struct Bad {
  std::string message;
};

std::string scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) throw Bad{what + " must be a string"};
  return node.Scalar();
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& what) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) throw Bad{what + " must be a list of strings"};
  for (const auto& item : node) out.push_back(scalar(item, what + " entries"));
  return out;
}

bool boolean(const YAML::Node& node, const std::string& what) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value))
    throw Bad{what + " must be true or false"};
  return value;
}

void only_keys(const YAML::Node& map, std::initializer_list<std::string_view> keys,
               const std::string& where) {
  if (!map.IsMap()) throw Bad{where + " must be a mapping"};
  for (const auto& kv : map) {
    const auto key = scalar(kv.first, "a key of " + where);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      throw Bad{"unknown key \"" + key + "\" in " + where};
  }
}

std::string resolve(const std::string& file, const std::filesystem::path& dir) {
  if (file.empty() || dir.empty() || std::filesystem::path(file).is_absolute()) return file;
  return (dir / file).string();
}

TlsVersion tls_version(const YAML::Node& node, const std::string& what) {
  const auto name = scalar(node, what);
  static const std::map<std::string, TlsVersion, std::less<>> kVersions = {
      {"TLS10", TlsVersion::tls10},
      {"TLS11", TlsVersion::tls11},
      {"TLS12", TlsVersion::tls12},
      {"TLS13", TlsVersion::tls13}};
  const auto it = kVersions.find(name);
  if (it == kVersions.end()) throw Bad{"unknown TLS version: " + name};
  return it->second;
}

ClientAuth client_auth(const std::string& name) {
  if (name.empty() || name == "NoClientCert") return ClientAuth::no_client_cert;
  if (name == "RequestClientCert") return ClientAuth::request_client_cert;
  // RequireClientCert: the toolkit's older spelling, still accepted.
  if (name == "RequireAnyClientCert" || name == "RequireClientCert")
    return ClientAuth::require_any_client_cert;
  if (name == "VerifyClientCertIfGiven") return ClientAuth::verify_client_cert_if_given;
  if (name == "RequireAndVerifyClientCert") return ClientAuth::require_and_verify_client_cert;
  throw Bad{"invalid ClientAuth: " + name};
}

// tls_server_config -> TlsConfig, or nothing when it configures no TLS (only versions, say), as
// the toolkit's TLSConfig.IsEnabled.
std::optional<TlsConfig> parse_tls(const YAML::Node& node, const std::filesystem::path& dir) {
  only_keys(node,
            {"cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type",
             "client_ca_file", "client_allowed_sans", "min_version", "max_version", "cipher_suites",
             "prefer_server_cipher_suites", "curve_preferences"},
            "tls_server_config");
  TlsConfig t;
  std::string auth;
  for (const auto& kv : node) {
    const auto key = kv.first.Scalar();
    const auto& v = kv.second;
    const std::string what = "tls_server_config." + key;
    if (v.IsNull()) continue;
    if (key == "cert") t.cert = scalar(v, what);
    if (key == "key") t.key = scalar(v, what);
    if (key == "client_ca") t.client_ca = scalar(v, what);
    if (key == "cert_file") t.cert_file = resolve(scalar(v, what), dir);
    if (key == "key_file") t.key_file = resolve(scalar(v, what), dir);
    if (key == "client_ca_file") t.client_ca_file = resolve(scalar(v, what), dir);
    if (key == "client_auth_type") auth = scalar(v, what);
    if (key == "client_allowed_sans") t.client_allowed_sans = string_list(v, what);
    if (key == "min_version") t.min_version = tls_version(v, what);
    if (key == "max_version") t.max_version = tls_version(v, what);
    if (key == "cipher_suites") t.cipher_suites = string_list(v, what);
    if (key == "curve_preferences") t.curve_preferences = string_list(v, what);

    if (key == "prefer_server_cipher_suites") t.prefer_server_cipher_suites = boolean(v, what);
  }
  t.client_auth = client_auth(auth);
  for (const auto& name : t.cipher_suites)
    if (!known_cipher_suite(name)) throw Bad{"unknown cipher: " + name};
  for (const auto& name : t.curve_preferences)
    if (!known_curve(name)) throw Bad{"unknown curve: " + name};
  const bool enabled = !t.cert.empty() || !t.key.empty() || !t.cert_file.empty() ||
                       !t.key_file.empty() || !t.client_ca.empty() || !t.client_ca_file.empty() ||
                       !auth.empty();
  if (!enabled) return std::nullopt;
  if (t.cert.empty() && t.cert_file.empty()) throw Bad{"missing one of cert or cert_file"};
  if (t.key.empty() && t.key_file.empty()) throw Bad{"missing one of key or key_file"};
  if (!t.cert.empty() && !t.cert_file.empty())
    throw Bad{"cert and cert_file are both set: give one of them"};
  if (!t.key.empty() && !t.key_file.empty())
    throw Bad{"key and key_file are both set: give one of them"};
  if (!t.client_ca.empty() && !t.client_ca_file.empty())
    throw Bad{"client_ca and client_ca_file are both set: give one of them"};
  if ((!t.client_ca.empty() || !t.client_ca_file.empty()) &&
      t.client_auth == ClientAuth::no_client_cert)
    throw Bad{"client CA's have been configured without a Client Auth Policy"};
  if (!t.client_allowed_sans.empty() && t.client_auth != ClientAuth::require_any_client_cert &&
      t.client_auth != ClientAuth::require_and_verify_client_cert)
    throw Bad{
        "client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or "
        "RequireAndVerifyClientCert"};
  if (static_cast<int>(t.min_version) > static_cast<int>(t.max_version))
    throw Bad{"min_version is above max_version"};
  return t;
}

std::vector<std::pair<std::string, std::string>> parse_http(const YAML::Node& node) {
  only_keys(node, {"http2", "headers"}, "http_server_config");
  // http2 is accepted as in the toolkit; this server speaks HTTP/1.1 only.
  if (const auto h2 = node["http2"]; h2 && !h2.IsNull()) boolean(h2, "http_server_config.http2");
  std::vector<std::pair<std::string, std::string>> out;
  const auto headers = node["headers"];
  if (!headers || headers.IsNull()) return out;
  if (!headers.IsMap()) throw Bad{"http_server_config.headers must be a mapping"};
  for (const auto& kv : headers) {
    const auto name = scalar(kv.first, "a header name");
    const auto value = kv.second.IsNull() ? std::string() : scalar(kv.second, name);
    const auto& allowed = allowed_headers();
    const auto it = std::find_if(allowed.begin(), allowed.end(),
                                 [&](const AllowedHeader& h) { return h.name == name; });
    if (it == allowed.end()) throw Bad{"HTTP header \"" + name + "\" can not be configured"};
    if (value.empty()) continue;  // "Unset if blank"
    if (!it->values.empty() &&
        std::find(it->values.begin(), it->values.end(), value) == it->values.end()) {
      std::string expected;
      for (auto v : it->values)
        expected += (expected.empty() ? "\"" : " \"") + std::string(v) + "\"";
      throw Bad{"invalid value for " + name + ". Expected one of: [" + expected + "], but got: \"" +
                value + "\""};
    }
    if (value.find_first_of("\r\n") != std::string::npos)
      throw Bad{"the value of " + name + " must be one line"};
    out.emplace_back(name, value);
  }
  return out;
}

RateLimit parse_rate_limit(const YAML::Node& node) {
  only_keys(node, {"interval", "burst"}, "rate_limit");
  RateLimit r;
  if (const auto i = node["interval"]; i && !i.IsNull()) {
    const auto text = scalar(i, "rate_limit.interval");
    const auto d = util::parse_duration(text);
    if (!d) throw Bad{"rate_limit.interval: invalid duration \"" + text + "\""};
    r.interval = *d;
  }
  if (const auto b = node["burst"]; b && !b.IsNull()) {
    if (!b.IsScalar() || !YAML::convert<int>::decode(b, r.burst))
      throw Bad{"rate_limit.burst must be an integer"};
  }
  // With no token ever available the toolkit's limiter refuses every request: surely a mistake.
  if (r.enabled() && r.burst < 1)
    throw Bad{"rate_limit.burst must be at least 1 when an interval is set"};
  return r;
}

std::map<std::string, std::string> parse_users(const YAML::Node& users) {
  std::map<std::string, std::string> out;
  if (!users.IsMap()) throw Bad{"basic_auth_users must be a mapping"};
  for (const auto& kv : users) {
    const auto user = scalar(kv.first, "a user name");
    // The hash is not quoted in errors: a password pasted in by mistake must not reach a log.
    if (!kv.second.IsScalar()) throw Bad{"the password of \"" + user + "\" must be a string"};
    const auto& hash = kv.second.Scalar();
    if (!(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")))
      throw Bad{"the password of \"" + user + "\" is not a bcrypt hash"};
    out[user] = hash;
  }
  return out;
}

// The file's bytes; on failure empty, with `error` set to the system's reason.
std::string read_file(const std::string& path, std::string& error) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = errno != 0 ? std::strerror(errno) : "cannot open";
    return {};
  }
  error.clear();
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

util::Result<WebConfig> parse_web_config(const std::string& yaml, const std::string& origin) {
  try {
    const YAML::Node root = YAML::Load(yaml);
    WebConfig cfg;
    if (!root || root.IsNull()) return cfg;
    only_keys(root, {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"},
              "the file");
    const auto dir = std::filesystem::path(origin).parent_path();
    if (const auto n = root["tls_server_config"]; n && !n.IsNull()) cfg.tls = parse_tls(n, dir);
    if (const auto n = root["http_server_config"]; n && !n.IsNull()) cfg.headers = parse_http(n);
    if (const auto n = root["basic_auth_users"]; n && !n.IsNull())
      cfg.basic_auth_users = parse_users(n);
    if (const auto n = root["rate_limit"]; n && !n.IsNull()) cfg.rate_limit = parse_rate_limit(n);
    if (cfg.tls) {
      auto settings = make_tls_settings(*cfg.tls);
      if (!settings) return util::make_error(origin + ": " + settings.error().message);
      cfg.tls_settings = std::move(*settings);
    }
    return cfg;
  } catch (const Bad& e) {
    return util::make_error(origin + ": " + e.message);
  } catch (const YAML::Exception& e) {
    return util::make_error(origin + ": " + e.what());
  }
}

util::Result<WebConfig> load_web_config(const std::string& path) {
  std::string error;
  const auto yaml = read_file(path, error);
  if (!error.empty()) return util::make_error(path + ": cannot read: " + error);
  return parse_web_config(yaml, path);
}

std::vector<std::string> files_named_in(const std::string& yaml, const std::string& origin) {
  std::vector<std::string> out;
  try {
    const YAML::Node tls = YAML::Load(yaml)["tls_server_config"];
    if (!tls || !tls.IsMap()) return out;
    const auto dir = std::filesystem::path(origin).parent_path();
    for (const char* key : {"cert_file", "key_file", "client_ca_file"})
      if (const auto n = tls[key]; n && n.IsScalar()) out.push_back(resolve(n.Scalar(), dir));
  } catch (const YAML::Exception&) {  // an unparsable file names nothing
  }
  return out;
}

// --- WebConfigWatcher ---------------------------------------------------------------------------

WebConfigWatcher::WebConfigWatcher(std::string path) : path_(std::move(path)) {}

WebConfigWatcher::~WebConfigWatcher() { stop(); }

// A digest of the file and of every file it names: a rotated certificate changes it even when
// the config itself stays the same. Small files, read every few seconds.
std::string WebConfigWatcher::fingerprint(const std::string& yaml) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  const auto add = [ctx](const std::string& s) {
    const std::uint64_t n = s.size();
    EVP_DigestUpdate(ctx, &n, sizeof n);
    EVP_DigestUpdate(ctx, s.data(), s.size());
  };
  add(yaml);
  for (const auto& file : files_named_in(yaml, path_)) {
    std::string error;
    add(file);
    add(read_file(file, error));
    add(error);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return {reinterpret_cast<char*>(md), len};
}

util::Result<WebConfig> WebConfigWatcher::load() {
  std::lock_guard lock(check_mutex_);
  std::string error;
  const auto yaml = read_file(path_, error);
  if (!error.empty()) return util::make_error(path_ + ": cannot read: " + error);
  last_seen_ = fingerprint(yaml);
  return parse_web_config(yaml, path_);
}

WebConfigWatcher::Outcome WebConfigWatcher::check(bool forced, const Apply& apply) {
  std::lock_guard lock(check_mutex_);
  std::string error;
  const auto yaml = read_file(path_, error);
  const std::string seen = error.empty() ? fingerprint(yaml) : "unreadable: " + error;
  const bool changed = seen != last_seen_;
  last_seen_ = seen;
  if (!changed && !forced) return Outcome::unchanged;
  auto loaded = error.empty()
                    ? parse_web_config(yaml, path_)
                    : util::Result<WebConfig>(util::make_error(path_ + ": cannot read: " + error));
  if (!loaded) {
    // Polled: once per content (a file saved half-way is read again when it changes).
    util::log::error("web config not reloaded: the one in use is kept",
                     {{"err", loaded.error().message}});
    return Outcome::refused;
  }
  const bool whole = apply(*loaded);
  util::log::info("web config reloaded",
                  {{"file", path_},
                   {"trigger", forced ? "signal" : "change"},
                   {"basic_auth_users", std::to_string(loaded->basic_auth_users.size())},
                   {"tls", whole ? (loaded->tls ? "reloaded" : "off")
                                 : "switched on or off: applies at the next start"}});
  return Outcome::applied;
}

void WebConfigWatcher::start(std::chrono::milliseconds period, Apply apply) {
  stop();
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this, period, apply = std::move(apply)] {
    std::unique_lock lock(stop_mutex_);
    while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      check(false, apply);
      lock.lock();
    }
  });
}

void WebConfigWatcher::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace web
