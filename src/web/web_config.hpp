// --web.config.file in the Prometheus exporter-toolkit's format (its docs/web-configuration.md):
// TLS of the listener (client certificates, versions, ciphers, curves), security headers, a
// rate limit and bcrypt basic auth, with the toolkit's names, defaults and error texts. The file
// is followed at run time (WebConfigWatcher): certificates rotate without a restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace web {

class TlsSettings;  // tls.hpp: a TlsConfig with its certificates loaded and checked

// The toolkit's client_auth_type values (Go's tls.ClientAuthType).
enum class ClientAuth {
  no_client_cert,
  request_client_cert,
  require_any_client_cert,
  verify_client_cert_if_given,
  require_and_verify_client_cert,
};

// Protocol versions by their wire numbers (OpenSSL's TLS1_x_VERSION).
enum class TlsVersion { tls10 = 0x0301, tls11 = 0x0302, tls12 = 0x0303, tls13 = 0x0304 };

// tls_server_config as written, relative paths resolved against the config file's folder.
struct TlsConfig {
  std::string cert_file, key_file, client_ca_file;
  std::string cert, key, client_ca;  // inline PEM instead of the files (key is a secret)
  ClientAuth client_auth = ClientAuth::no_client_cert;
  std::vector<std::string> client_allowed_sans;
  TlsVersion min_version = TlsVersion::tls12;
  TlsVersion max_version = TlsVersion::tls13;
  std::vector<std::string> cipher_suites;      // Go's names: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  std::vector<std::string> curve_preferences;  // Go's names: CurveP256, X25519
  bool prefer_server_cipher_suites = true;
};

// rate_limit: a token bucket over all requests (not per client), as the toolkit's.
struct RateLimit {
  std::chrono::milliseconds interval{0};  // one token per interval; 0 disables the limit
  int burst = 0;
  bool enabled() const { return interval.count() > 0; }
  bool operator==(const RateLimit&) const = default;
};

struct WebConfig {
  std::optional<TlsConfig> tls;  // set when the file configures TLS (a certificate or client CA)
  std::shared_ptr<const TlsSettings> tls_settings;      // `tls` loaded; set together with it
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  // http_server_config.headers: the security headers every answer carries (blank ones unset).
  std::vector<std::pair<std::string, std::string>> headers;
  RateLimit rate_limit;
};

// Parses and checks the YAML, and loads the certificates and keys it names: a config that
// loads is one the listener can serve. The error names the file and the problem, on one line.
util::Result<WebConfig> load_web_config(const std::string& path);
util::Result<WebConfig> parse_web_config(const std::string& yaml, const std::string& origin);

// The files a config names (certificate, key, client CA), as far as the YAML says, even when it
// is otherwise invalid: the watcher follows them too.
std::vector<std::string> files_named_in(const std::string& yaml, const std::string& origin);

// Follows --web.config.file: reads it again when it or a file it names changed (polled by
// content, every `period`), or when asked (SIGHUP). A good file goes to `apply`; a bad one is
// logged (once per content when polled) and the last good one stays in use.
class WebConfigWatcher {
 public:
  // Returns false when part of the config could not take effect (logged): TLS switched on or
  // off, which needs a restart.
  using Apply = std::function<bool(const WebConfig&)>;
  enum class Outcome { unchanged, applied, refused };

  explicit WebConfigWatcher(std::string path);
  ~WebConfigWatcher();
  WebConfigWatcher(const WebConfigWatcher&) = delete;
  WebConfigWatcher& operator=(const WebConfigWatcher&) = delete;

  // The first read, at start (its error exits 2); what was read is the baseline for changes.
  util::Result<WebConfig> load();
  // Reads the file again if anything changed since the last read, or always when forced.
  Outcome check(bool forced, const Apply& apply);
  // Polls check(false) on a thread of its own until stop() (or destruction).
  void start(std::chrono::milliseconds period, Apply apply);
  void stop();

 private:
  std::string fingerprint(const std::string& yaml) const;

  const std::string path_;
  std::mutex check_mutex_;  // SIGHUP and the poll thread
  std::string last_seen_;   // fingerprint of the last content read, good or bad
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace web
