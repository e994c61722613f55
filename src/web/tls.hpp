// TLS of the exporter's listener with OpenSSL: a tls_server_config (web_config.hpp) loaded into
// TlsSettings, and TlsContext, which sets up the listener's SSL_CTX so that every new handshake
// takes the settings current when it starts. A reload (a rotated certificate, another client CA,
// versions, ciphers) thus applies to the next connection without a restart; connections already
// open keep what they started with. The transport only needs to create its SSL objects from the
// SSL_CTX that TlsContext::setup prepared.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace web {

struct TlsConfig;
class TlsSettings;

// Reads and checks the certificate chain, key (and that they match), client CAs, and the names
// of versions, cipher suites and curves. Errors are the toolkit's texts, one line, no secret.
util::Result<std::shared_ptr<const TlsSettings>> make_tls_settings(const TlsConfig& config);

// Whether the toolkit knows a cipher suite (Go's name, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or a
// curve (CurveP256, CurveP384, CurveP521, X25519).
bool known_cipher_suite(std::string_view go_name);
bool known_curve(std::string_view go_name);

// The subject of the settings' leaf certificate ("CN=..."), for logs and tests.
std::string certificate_subject(const TlsSettings& settings);

class TlsContext {
 public:
  explicit TlsContext(std::shared_ptr<const TlsSettings> settings);

  // Prepares the listener's context (httplib::SSLServer's setup callback): protocol options,
  // no session resumption (a resumed session would skip a client certificate check that a
  // reload added), and the callbacks that apply the current settings per handshake.
  bool setup(SSL_CTX& ctx);
  // New handshakes use `settings` from now on.
  void update(std::shared_ptr<const TlsSettings> settings);
  std::shared_ptr<const TlsSettings> current() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsSettings> settings_;
};

}  // namespace web
