// The web config loader against the exporter-toolkit's format: defaults, every field, and its
// error texts; the rate limiter's bucket; the exposition format negotiation. Certificates and
// what a listener does with them: tls_test.cpp.
#include "web/web_config.hpp"

#include <catch2/catch.hpp>

#include "web/rate_limiter.hpp"
#include "web/server.hpp"

namespace {

std::string error_of(const std::string& yaml) {
  auto cfg = web::parse_web_config(yaml, "/etc/tigo/web.yml");
  if (cfg.ok()) return "(accepted)";
  const auto& m = cfg.error().message;
  CHECK(m.find('\n') == std::string::npos);
  CHECK(m.rfind("/etc/tigo/web.yml: ", 0) == 0);
  return m.substr(std::string("/etc/tigo/web.yml: ").size());
}

}  // namespace

TEST_CASE("web config: an empty file or no TLS fields serve plain HTTP", "[web][config]") {
  auto empty = web::parse_web_config("", "w.yml");
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->tls.has_value());
  CHECK(empty->tls_settings == nullptr);
  CHECK(empty->headers.empty());
  CHECK_FALSE(empty->rate_limit.enabled());
  // As the toolkit's TLSConfig.IsEnabled: versions alone configure no TLS.
  auto versions = web::parse_web_config("tls_server_config:\n  min_version: TLS13\n", "w.yml");
  REQUIRE(versions.ok());
  CHECK_FALSE(versions->tls.has_value());
  // http2 is accepted (HTTP/1.1 is served regardless).
  CHECK(web::parse_web_config("http_server_config:\n  http2: false\n", "w.yml").ok());
}

TEST_CASE("web config: the toolkit's errors, one line each", "[web][config]") {
  const std::string tls = "tls_server_config:\n  cert_file: /x.crt\n  key_file: /x.key\n";
  CHECK(error_of("unknown_key: 1\n") == "unknown key \"unknown_key\" in the file");
  CHECK(error_of(tls + "  cert_fil: y\n") == "unknown key \"cert_fil\" in tls_server_config");
  CHECK(error_of("http_server_config:\n  header: {}\n") ==
        "unknown key \"header\" in http_server_config");
  CHECK(error_of("rate_limit:\n  intervall: 1s\n") == "unknown key \"intervall\" in rate_limit");
  CHECK(error_of("tls_server_config:\n  key_file: /x.key\n") == "missing one of cert or cert_file");
  CHECK(error_of("tls_server_config:\n  cert_file: /x.crt\n") == "missing one of key or key_file");
  CHECK(error_of("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n") ==
        "missing one of cert or cert_file");
  CHECK(error_of(tls + "  client_auth_type: Always\n") == "invalid ClientAuth: Always");
  CHECK(error_of(tls + "  client_ca_file: /ca.crt\n") ==
        "client CA's have been configured without a Client Auth Policy");
  for (const char* auth : {"NoClientCert", "RequestClientCert", "VerifyClientCertIfGiven"}) {
    INFO(auth);
    CHECK(error_of(tls + "  client_auth_type: " + auth +
                   "\n  client_allowed_sans: [prometheus.example]\n") ==
          "client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or "
          "RequireAndVerifyClientCert");
  }
  CHECK(error_of(tls + "  min_version: TLS14\n") == "unknown TLS version: TLS14");
  CHECK(error_of(tls + "  max_version: tls13\n") == "unknown TLS version: tls13");
  CHECK(error_of(tls + "  min_version: TLS13\n  max_version: TLS12\n") ==
        "min_version is above max_version");
  CHECK(error_of(tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_INVENTED_CIPHER]\n") ==
        "unknown cipher: TLS_INVENTED_CIPHER");
  CHECK(error_of(tls + "  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n") ==
        "unknown cipher: ECDHE-RSA-AES128-GCM-SHA256");  // OpenSSL's name: not the toolkit's
  CHECK(error_of(tls + "  curve_preferences: [CurveP256, P-256]\n") == "unknown curve: P-256");
  CHECK(error_of(tls + "  curve_preferences: [X25519MLKEM768]\n") ==
        "unknown curve: X25519MLKEM768");  // newer Go's; OpenSSL 3.0 has no ML-KEM
  // Names pass, then the files are read.
  CHECK(error_of(tls + "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
                       "  curve_preferences: [CurveP384, X25519]\n") ==
        "failed to read cert_file (/x.crt): No such file or directory");
  CHECK(error_of(tls + "  prefer_server_cipher_suites: maybe\n") ==
        "tls_server_config.prefer_server_cipher_suites must be true or false");
  CHECK(error_of(tls + "  cipher_suites: TLS_AES_128_GCM_SHA256\n") ==
        "tls_server_config.cipher_suites must be a list of strings");
  CHECK(error_of("http_server_config:\n  headers:\n    Server: tigo\n") ==
        "HTTP header \"Server\" can not be configured");
  CHECK(error_of("http_server_config:\n  headers:\n    x-frame-options: deny\n") ==
        "HTTP header \"x-frame-options\" can not be configured");
  CHECK(error_of("http_server_config:\n  headers:\n    X-Frame-Options: allow\n") ==
        "invalid value for X-Frame-Options. Expected one of: [\"deny\" \"sameorigin\"], but "
        "got: \"allow\"");
  CHECK(error_of("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n") ==
        "invalid value for X-Content-Type-Options. Expected one of: [\"nosniff\"], but got: "
        "\"sniff\"");
  CHECK(error_of("rate_limit:\n  interval: soon\n  burst: 1\n") ==
        "rate_limit.interval: invalid duration \"soon\"");
  CHECK(error_of("rate_limit:\n  interval: 1s\n  burst: many\n") ==
        "rate_limit.burst must be an integer");
  CHECK(error_of("rate_limit:\n  interval: 1s\n  burst: 0\n") ==
        "rate_limit.burst must be at least 1 when an interval is set");
  CHECK(error_of("basic_auth_users:\n  bob: plaintext\n") ==
        "the password of \"bob\" is not a bcrypt hash");
  CHECK(error_of("basic_auth_users: [a, b]\n") == "basic_auth_users must be a mapping");
  CHECK(error_of("[1, 2") != "(accepted)");
}

TEST_CASE("web config: fields and defaults as the toolkit's", "[web][config]") {
  // Parsing without loading: the TLS part is checked by its files (tls_test.cpp), so only the
  // other sections here, and the paths the watcher follows.
  auto cfg = web::parse_web_config(
      "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n"
      "    Content-Security-Policy: \"\"\n    X-XSS-Protection: '0'\n"
      "rate_limit:\n  interval: 500ms\n  burst: 20\n",
      "w.yml");
  REQUIRE(cfg.ok());
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Frame-Options", "sameorigin"}, {"X-XSS-Protection", "0"}};  // blank: unset
  CHECK(cfg->headers == headers);
  CHECK(cfg->rate_limit.interval == std::chrono::milliseconds{500});
  CHECK(cfg->rate_limit.burst == 20);
  CHECK(cfg->rate_limit.enabled());
  auto off = web::parse_web_config("rate_limit:\n  interval: 0\n  burst: 0\n", "w.yml");
  REQUIRE(off.ok());
  CHECK_FALSE(off->rate_limit.enabled());

  const web::TlsConfig defaults;
  CHECK(defaults.min_version == web::TlsVersion::tls12);
  CHECK(defaults.max_version == web::TlsVersion::tls13);
  CHECK(defaults.client_auth == web::ClientAuth::no_client_cert);
  CHECK(defaults.prefer_server_cipher_suites);

  CHECK(web::files_named_in("tls_server_config:\n  cert_file: a.crt\n  key_file: /k/a.key\n"
                            "  client_ca_file: ca.crt\n  bogus: 1\n",
                            "/etc/tigo/web.yml") ==
        std::vector<std::string>{"/etc/tigo/a.crt", "/k/a.key", "/etc/tigo/ca.crt"});
  CHECK(web::files_named_in("[1, 2", "/etc/tigo/web.yml").empty());
}

TEST_CASE("rate limiter: a token bucket of `burst`, one token back per interval", "[web][config]") {
  using namespace std::chrono_literals;
  const web::RateLimiter::Clock::time_point t0{};
  web::RateLimiter limiter({1s, 3}, t0);
  CHECK(limiter.allow(t0));
  CHECK(limiter.allow(t0));
  CHECK(limiter.allow(t0));
  CHECK_FALSE(limiter.allow(t0));
  CHECK_FALSE(limiter.allow(t0 + 999ms));
  CHECK(limiter.allow(t0 + 1s));
  CHECK_FALSE(limiter.allow(t0 + 1s));
  // A long pause refills to the burst, not beyond.
  for (int i = 0; i < 3; ++i) CHECK(limiter.allow(t0 + 1h));
  CHECK_FALSE(limiter.allow(t0 + 1h));
  web::RateLimiter off({0ms, 0}, t0);
  for (int i = 0; i < 100; ++i) CHECK(off.allow(t0));
}

TEST_CASE("format negotiation as Prometheus' client libraries do it", "[web][config]") {
  using web::Format;
  // Prometheus 2.42's default scrape Accept header.
  CHECK(web::negotiate_format("application/openmetrics-text;version=1.0.0,application/"
                              "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
                              "q=0.5,*/*;q=0.1") == Format::openmetrics_1_0_0);
  CHECK(web::negotiate_format("") == Format::text_0_0_4);
  CHECK(web::negotiate_format("*/*") == Format::text_0_0_4);
  CHECK(web::negotiate_format("text/plain") == Format::text_0_0_4);
  CHECK(web::negotiate_format("text/plain;version=0.0.4;q=0.9, application/openmetrics-text; "
                              "version=1.0.0; q=0.5") == Format::text_0_0_4);
  CHECK(web::negotiate_format("application/openmetrics-text; version=0.0.1") ==
        Format::openmetrics_0_0_1);
  CHECK(web::negotiate_format("application/openmetrics-text") == Format::openmetrics_0_0_1);
  CHECK(web::negotiate_format("Application/OpenMetrics-Text; Version=\"1.0.0\"") ==
        Format::openmetrics_1_0_0);
  // A version we do not speak, or q=0, is passed over.
  CHECK(web::negotiate_format("application/openmetrics-text;version=2.0.0,text/plain;q=0.1") ==
        Format::text_0_0_4);
  CHECK(web::negotiate_format("application/openmetrics-text;version=1.0.0;q=0") ==
        Format::text_0_0_4);
  CHECK(web::content_type(Format::openmetrics_1_0_0) ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(web::content_type(Format::text_0_0_4) == "text/plain; version=0.0.4; charset=utf-8");
}
