// --web.config.file against real certificates: a CA, server and client certificates with SANs,
// made by `openssl` into a temp folder at test time, and a real OpenSSL client on loopback.
// Mutual TLS, client_allowed_sans, versions, ciphers and curves, security headers, the rate
// limit, and certificates rotated on disk served to new connections without a restart.
#include "web/tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/pki.hpp"
#include "util/gzip.hpp"
#include "web/server.hpp"
#include "web/web_config.hpp"

namespace {

namespace fs = std::filesystem;
using testing::Pki;
using testing::slurp;
using testing::write;

// The exporter's server on a loopback port, configured from a web config file.
struct Served {
  std::unique_ptr<web::Server> server;
  std::thread thread;
  int port = 0;

  explicit Served(const web::WebConfig& cfg) {
    web::Handlers h;
    h.metrics = [](bool gzip, web::Format) {
      const std::string text = "tigo_systems 3\n";
      web::Payload p{{}, gzip};
      if (gzip)
        p.pieces.push_back(
            {std::make_shared<const std::string>(util::gzip_compress(text)), true, text.size()});
      else
        p.pieces.push_back({std::make_shared<const std::string>(text)});
      return p;
    };
    h.ready = [] { return true; };
    h.page = [](const web::PageRequest& req) {
      return req.path == "/"
                 ? web::PageAnswer{200, "text/html; charset=utf-8", "<html>status</html>", ""}
                 : web::PageAnswer{404, "text/plain; charset=utf-8", "Not found\n", ""};
    };
    web::ServerOptions options;
    options.listen.host = "127.0.0.1";
    options.web = cfg;
    server = std::make_unique<web::Server>(std::move(options), h);
    auto bound = server->bind();
    REQUIRE(bound.ok());
    port = *bound;
    thread = std::thread([this] { server->run(); });
  }
  ~Served() {
    server->stop();
    thread.join();
  }
  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;
};

web::WebConfig load(const std::string& path) {
  auto cfg = web::load_web_config(path);
  INFO((cfg ? std::string() : cfg.error().message));
  REQUIRE(cfg.ok());
  return std::move(*cfg);
}

struct ClientOptions {
  ClientOptions(std::string ca_file, std::string cert_file = "", std::string key_file = "",
                int max = 0)
      : ca(std::move(ca_file)),
        cert(std::move(cert_file)),
        key(std::move(key_file)),
        max_version(max) {}
  std::string ca;         // trust anchor for the server's certificate
  std::string cert, key;  // client certificate, if any
  int max_version = 0;    // 0: OpenSSL's default
  std::string ciphers;    // TLS 1.2 cipher list, empty: default
  std::string groups;     // empty: default
  std::string path = "/metrics";
  std::string extra_headers;
};

// One HTTPS request on a fresh connection, by OpenSSL directly (what the server's certificate
// is, which protocol and cipher were chosen).
struct Answer {
  bool handshake = false;
  int status = 0;        // 0: no HTTP answer (refused after the handshake, as TLS 1.3 does)
  std::string response;  // status line, headers and body
  std::string peer_subject, version, cipher;
};

Answer https_get(int port, const ClientOptions& o) {
  // A refused client is hung up on; its next write must fail, not kill the test with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  Answer a;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  REQUIRE(ctx != nullptr);
  if (!o.ca.empty()) {
    REQUIRE(SSL_CTX_load_verify_locations(ctx, o.ca.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert.empty()) {
    REQUIRE(SSL_CTX_use_certificate_chain_file(ctx, o.cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx, o.max_version);
  if (!o.ciphers.empty()) REQUIRE(SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) == 1);
  if (!o.groups.empty()) REQUIRE(SSL_CTX_set1_groups_list(ctx, o.groups.c_str()) == 1);

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  a.handshake = SSL_connect(ssl) == 1;
  if (a.handshake) {
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
      char buf[256];
      X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
      a.peer_subject = buf;
      X509_free(peer);
    }
    a.version = SSL_get_version(ssl);
    a.cipher = SSL_get_cipher_name(ssl);
    const std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                o.extra_headers + "Connection: close\r\n\r\n";
    if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
      char buf[4096];
      for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) a.response.append(buf, n);
    }
    if (a.response.rfind("HTTP/1.1 ", 0) == 0) a.status = std::stoi(a.response.substr(9, 3));
  }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  return a;
}

bool served(const Answer& a) { return a.handshake && a.status == 200; }

}  // namespace

TEST_CASE(
    "mutual TLS: RequireAndVerifyClientCert lets a certificate of client_ca_file in, refuses "
    "none and another CA's",
    "[web][tls]") {
  Pki pki;
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
  Served s(load(pki.dir() + "/web.yml"));
  const auto good = https_get(s.port, {pki.crt("ca"), pki.crt("client"), pki.key("client")});
  CHECK(served(good));
  CHECK(good.response.find("tigo_systems 3") != std::string::npos);
  CHECK(good.peer_subject == "/CN=server");
  CHECK_FALSE(served(https_get(s.port, {pki.crt("ca")})));
  CHECK_FALSE(served(https_get(s.port, {pki.crt("ca"), pki.crt("rogue"), pki.key("rogue")})));
  // TLS 1.2 refuses in the handshake itself.
  const auto none12 = https_get(s.port, {pki.crt("ca"), "", "", TLS1_2_VERSION});
  CHECK_FALSE(none12.handshake);
}

TEST_CASE("client_auth_type: what each policy lets in", "[web][tls]") {
  Pki pki;
  const auto with_auth = [&](const std::string& policy, bool ca) {
    write(pki.dir() + "/web.yml",
          "tls_server_config:\n  cert_file: server.crt\n"
          "  key_file: server.key\n  client_auth_type: " +
              policy + "\n" + (ca ? "  client_ca_file: ca.crt\n" : ""));
    return load(pki.dir() + "/web.yml");
  };
  const ClientOptions none{pki.crt("ca")};
  const ClientOptions good{pki.crt("ca"), pki.crt("client"), pki.key("client")};
  const ClientOptions rogue{pki.crt("ca"), pki.crt("rogue"), pki.key("rogue")};
  {
    INFO("NoClientCert");
    Served s(with_auth("NoClientCert", false));
    CHECK(served(https_get(s.port, none)));
    CHECK(served(https_get(s.port, rogue)));  // not asked for, so not looked at
  }
  {
    INFO("RequestClientCert: asked for, never verified");
    Served s(with_auth("RequestClientCert", false));
    CHECK(served(https_get(s.port, none)));
    CHECK(served(https_get(s.port, rogue)));
  }
  {
    INFO("RequireAnyClientCert: any certificate, but one");
    Served s(with_auth("RequireAnyClientCert", false));
    CHECK_FALSE(served(https_get(s.port, none)));
    CHECK(served(https_get(s.port, rogue)));
  }
  {
    INFO("VerifyClientCertIfGiven: none, or a good one");
    Served s(with_auth("VerifyClientCertIfGiven", true));
    CHECK(served(https_get(s.port, none)));
    CHECK(served(https_get(s.port, good)));
    CHECK_FALSE(served(https_get(s.port, rogue)));
  }
}

TEST_CASE("client_allowed_sans: a verified certificate must also carry one of the SANs",
          "[web][tls]") {
  Pki pki;
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
        "  client_allowed_sans:\n    - prometheus.example\n");
  {
    Served s(load(pki.dir() + "/web.yml"));
    CHECK(served(https_get(s.port, {pki.crt("ca"), pki.crt("client"), pki.key("client")})));
    // Same CA, another SAN.
    CHECK_FALSE(
        served(https_get(s.port, {pki.crt("ca"), pki.crt("intruder"), pki.key("intruder")})));
  }
  // A URI SAN matches exactly too.
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_auth_type: RequireAnyClientCert\n"
        "  client_allowed_sans: [spiffe://cluster/ns/monitoring/prometheus]\n");
  Served s(load(pki.dir() + "/web.yml"));
  CHECK(served(https_get(s.port, {pki.crt("ca"), pki.crt("client"), pki.key("client")})));
  CHECK_FALSE(served(https_get(s.port, {pki.crt("ca"), pki.crt("intruder"), pki.key("intruder")})));
}

TEST_CASE("min_version and max_version: TLS 1.2 refused when TLS13 is required", "[web][tls]") {
  Pki pki;
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  min_version: TLS13\n");
  {
    Served s(load(pki.dir() + "/web.yml"));
    const auto tls13 = https_get(s.port, {pki.crt("ca")});
    CHECK(served(tls13));
    CHECK(tls13.version == "TLSv1.3");
    CHECK_FALSE(https_get(s.port, {pki.crt("ca"), "", "", TLS1_2_VERSION}).handshake);
  }
  // The default (TLS12 .. TLS13) speaks both; max_version TLS12 stops at 1.2.
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  {
    Served s(load(pki.dir() + "/web.yml"));
    CHECK(https_get(s.port, {pki.crt("ca")}).version == "TLSv1.3");
    CHECK(https_get(s.port, {pki.crt("ca"), "", "", TLS1_2_VERSION}).version == "TLSv1.2");
  }
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  max_version: TLS12\n");
  Served s(load(pki.dir() + "/web.yml"));
  const auto capped = https_get(s.port, {pki.crt("ca")});
  CHECK(served(capped));
  CHECK(capped.version == "TLSv1.2");
}

TEST_CASE("cipher_suites and curve_preferences bind TLS 1.2 handshakes", "[web][tls]") {
  Pki pki;
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  max_version: TLS12\n"
        "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"
        "  curve_preferences: [CurveP384]\n");
  Served s(load(pki.dir() + "/web.yml"));
  const auto a = https_get(s.port, {pki.crt("ca")});
  CHECK(served(a));
  CHECK(a.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384");
  ClientOptions other_cipher{pki.crt("ca")};
  other_cipher.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  CHECK_FALSE(https_get(s.port, other_cipher).handshake);
  ClientOptions other_curve{pki.crt("ca")};
  other_curve.groups = "P-256";
  CHECK_FALSE(https_get(s.port, other_curve).handshake);
}

TEST_CASE("http_server_config.headers are on every answer, over TLS too", "[web][tls]") {
  Pki pki;
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "http_server_config:\n  headers:\n"
        "    Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
        "    X-Content-Type-Options: nosniff\n    X-Frame-Options: deny\n"
        "    X-XSS-Protection: 1; mode=block\n"
        "    Content-Security-Policy: \"default-src 'self'\"\n");
  Served s(load(pki.dir() + "/web.yml"));
  for (const std::string path : {"/metrics", "/", "/-/healthy", "/nope"}) {
    INFO(path);
    ClientOptions o{pki.crt("ca")};
    o.path = path;
    const auto a = https_get(s.port, o);
    CHECK(a.status == (path == "/nope" ? 404 : 200));
    CHECK(
        a.response.find("\r\nStrict-Transport-Security: max-age=31536000; includeSubDomains\r\n") !=
        std::string::npos);
    CHECK(a.response.find("\r\nX-Content-Type-Options: nosniff\r\n") != std::string::npos);
    CHECK(a.response.find("\r\nX-Frame-Options: deny\r\n") != std::string::npos);
    CHECK(a.response.find("\r\nX-XSS-Protection: 1; mode=block\r\n") != std::string::npos);
    CHECK(a.response.find("\r\nContent-Security-Policy: default-src 'self'\r\n") !=
          std::string::npos);
  }
}

TEST_CASE(
    "rate_limit answers 429 beyond the burst, and a reload with the same limit keeps the bucket",
    "[web][tls]") {
  Pki pki;
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n"
        "rate_limit:\n  interval: 1h\n  burst: 2\n");
  auto cfg = load(pki.dir() + "/web.yml");
  CHECK(cfg.rate_limit.interval == std::chrono::hours{1});
  CHECK(cfg.rate_limit.burst == 2);
  Served s(cfg);
  const ClientOptions o{pki.crt("ca")};
  CHECK(https_get(s.port, o).status == 200);
  CHECK(https_get(s.port, o).status == 200);
  const auto limited = https_get(s.port, o);
  CHECK(limited.status == 429);
  CHECK(limited.response.find("Too Many Requests") != std::string::npos);
  CHECK(limited.response.find("\r\nX-Frame-Options: sameorigin\r\n") != std::string::npos);
  // The same limit again: no fresh burst.
  CHECK(s.server->update_web_config(load(pki.dir() + "/web.yml")));
  CHECK(https_get(s.port, o).status == 429);
  // Another limit: a bucket of its own.
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "rate_limit:\n  interval: 1h\n  burst: 1\n");
  CHECK(s.server->update_web_config(load(pki.dir() + "/web.yml")));
  CHECK(https_get(s.port, o).status == 200);
  CHECK(https_get(s.port, o).status == 429);
  // No limit.
  write(pki.dir() + "/web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  CHECK(s.server->update_web_config(load(pki.dir() + "/web.yml")));
  CHECK(https_get(s.port, o).status == 200);
  CHECK(https_get(s.port, o).status == 200);
}

TEST_CASE(
    "a certificate rotated on disk is served to new connections, and a bad file keeps the last "
    "good one",
    "[web][tls]") {
  Pki pki;
  const std::string yml = pki.dir() + "/web.yml";
  fs::copy_file(pki.crt("server"), pki.dir() + "/live.crt");
  fs::copy_file(pki.key("server"), pki.dir() + "/live.key");
  write(yml, "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n");
  web::WebConfigWatcher watcher(yml);
  auto first = watcher.load();
  REQUIRE(first.ok());
  REQUIRE(first->tls_settings != nullptr);
  CHECK(web::certificate_subject(*first->tls_settings) == "CN=server");
  Served s(*first);
  const auto apply = [&s](const web::WebConfig& next) { return s.server->update_web_config(next); };
  CHECK(https_get(s.port, {pki.crt("ca")}).peer_subject == "/CN=server");
  CHECK(watcher.check(false, apply) == web::WebConfigWatcher::Outcome::unchanged);

  // The config file stays the same; its certificate and key are replaced.
  write(pki.dir() + "/live.crt", slurp(pki.crt("rotated")));
  write(pki.dir() + "/live.key", slurp(pki.key("rotated")));
  CHECK(watcher.check(false, apply) == web::WebConfigWatcher::Outcome::applied);
  const auto after = https_get(s.port, {pki.crt("ca")});
  CHECK(served(after));
  CHECK(after.peer_subject == "/CN=rotated");
  CHECK(watcher.check(false, apply) == web::WebConfigWatcher::Outcome::unchanged);

  // Half a rotation (a certificate without its key) is refused; the rotated pair stays in use.
  write(pki.dir() + "/live.crt", slurp(pki.crt("server")));
  CHECK(watcher.check(false, apply) == web::WebConfigWatcher::Outcome::refused);
  CHECK(watcher.check(false, apply) == web::WebConfigWatcher::Outcome::unchanged);  // logged once
  CHECK(https_get(s.port, {pki.crt("ca")}).peer_subject == "/CN=rotated");
  write(pki.dir() + "/live.key", slurp(pki.key("server")));
  CHECK(watcher.check(false, apply) == web::WebConfigWatcher::Outcome::applied);
  CHECK(https_get(s.port, {pki.crt("ca")}).peer_subject == "/CN=server");

  // A broken config file: refused, last good kept; a signal reads it again regardless.
  write(yml, "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n  bogus: 1\n");
  CHECK(watcher.check(false, apply) == web::WebConfigWatcher::Outcome::refused);
  CHECK(watcher.check(true, apply) == web::WebConfigWatcher::Outcome::refused);
  CHECK(served(https_get(s.port, {pki.crt("ca")})));
}

TEST_CASE("the poll thread picks a rotated certificate up by itself", "[web][tls]") {
  Pki pki;
  const std::string yml = pki.dir() + "/web.yml";
  fs::copy_file(pki.crt("server"), pki.dir() + "/live.crt");
  fs::copy_file(pki.key("server"), pki.dir() + "/live.key");
  write(yml, "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n");
  web::WebConfigWatcher watcher(yml);
  auto first = watcher.load();
  REQUIRE(first.ok());
  Served s(*first);
  watcher.start(std::chrono::milliseconds{50},
                [&s](const web::WebConfig& next) { return s.server->update_web_config(next); });
  write(pki.dir() + "/live.key", slurp(pki.key("rotated")));
  write(pki.dir() + "/live.crt", slurp(pki.crt("rotated")));
  std::string subject;
  for (int i = 0; i < 200 && subject != "/CN=rotated"; ++i) {
    subject = https_get(s.port, {pki.crt("ca")}).peer_subject;
    if (subject != "/CN=rotated") std::this_thread::sleep_for(std::chrono::milliseconds{25});
  }
  CHECK(subject == "/CN=rotated");
  watcher.stop();
}

TEST_CASE("TLS cannot be switched on or off at run time: reported, the rest applies",
          "[web][tls]") {
  Pki pki;
  write(pki.dir() + "/tls.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  write(pki.dir() + "/plain.yml", "rate_limit:\n  interval: 1h\n  burst: 1\n");
  {
    Served s(web::WebConfig{});
    CHECK_FALSE(s.server->update_web_config(load(pki.dir() + "/tls.yml")));
    CHECK(https_get(s.port, {pki.crt("ca")}).handshake == false);  // still plain
  }
  Served s(load(pki.dir() + "/tls.yml"));
  CHECK_FALSE(s.server->update_web_config(load(pki.dir() + "/plain.yml")));
  CHECK(https_get(s.port, {pki.crt("ca")}).status == 200);  // still TLS, now rate limited
  CHECK(https_get(s.port, {pki.crt("ca")}).status == 429);
}

TEST_CASE("certificate errors: the toolkit's texts, one line, no key material", "[web][tls]") {
  Pki pki;
  const auto error_of = [&](const std::string& yaml) {
    write(pki.dir() + "/web.yml", yaml);
    auto cfg = web::load_web_config(pki.dir() + "/web.yml");
    REQUIRE_FALSE(cfg.ok());
    const auto& m = cfg.error().message;
    CHECK(m.find('\n') == std::string::npos);
    CHECK(m.rfind(pki.dir() + "/web.yml: ", 0) == 0);
    return m;
  };
  CHECK_THAT(error_of("tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n"),
             Catch::Contains("failed to read cert_file (" + pki.dir() +
                             "/nope.crt): No such file or directory"));
  pki.key("client");  // made now: the config names it by relative path
  CHECK_THAT(error_of("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n"),
             Catch::EndsWith("failed to load X509KeyPair: private key does not match public key"));
  CHECK_THAT(error_of("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n"),
             Catch::Contains("no PEM certificate in cert_file"));
  CHECK_THAT(error_of("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n"),
             Catch::Contains("no PEM private key in key_file"));
  CHECK_THAT(error_of("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                      "  client_auth_type: RequireAndVerifyClientCert\n"
                      "  client_ca_file: web.yml\n"),
             Catch::Contains("holds no PEM certificate"));
  // Inline PEM works as the files do; the key's text never shows in an error.
  const std::string key = slurp(pki.key("client"));
  auto indent = [](const std::string& pem) {
    std::string out;
    for (char c : pem) out += c == '\n' ? std::string("\n    ") : std::string(1, c);
    return out;
  };
  const auto m = error_of("tls_server_config:\n  cert: |\n    " + indent(slurp(pki.crt("server"))) +
                          "\n  key: |\n    " + indent(key) + "\n");
  CHECK_THAT(m, Catch::EndsWith("private key does not match public key"));
  CHECK(m.find("PRIVATE KEY") == std::string::npos);
  write(pki.dir() + "/web.yml", "tls_server_config:\n  cert: |\n    " +
                                    indent(slurp(pki.crt("server"))) + "\n  key: |\n    " +
                                    indent(slurp(pki.key("server"))) + "\n");
  auto inline_ok = web::load_web_config(pki.dir() + "/web.yml");
  REQUIRE(inline_ok.ok());
  Served s(*inline_ok);
  CHECK(https_get(s.port, {pki.crt("ca")}).peer_subject == "/CN=server");
}
