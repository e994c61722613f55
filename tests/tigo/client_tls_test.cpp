// TLS: the client verifies the server against --tigo.ca-file (or the system store, which does
// not know a self-signed test certificate). The certificate is made with the openssl CLI.
#include <httplib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "tigo/client.hpp"

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tigo-tls-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("TLS is verified against the CA file", "[tigo][client][tls]") {
  TempDir dir;
  const auto cert = (dir.path / "cert.pem").string();
  const auto key = (dir.path / "key.pem").string();
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);  // the openssl CLI (scripts/packages)
  httplib::SSLServer server(cert.c_str(), key.c_str());
  REQUIRE(server.is_valid());
  server.set_keep_alive_timeout(1);
  server.Get("/api/v3/users/login", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"user":{"user_id":1,"auth":"t","expires":"2099-01-01T00:00:00Z"}})",
                    "application/json");
  });
  server.Get("/api/v3/objects/types", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"object_types":[{"object_type_id":1,"label":"System"}]})",
                    "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});

  tigo::ClientOptions o;
  o.base_url = "https://127.0.0.1:" + std::to_string(port) + "/api/v3/";
  o.credentials = {"demo", "pw", ""};
  o.timeout = std::chrono::seconds{5};
  {
    auto untrusted = tigo::Client::create(o).value();
    auto r = untrusted->object_types();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == tigo::ErrorKind::transport);
    CHECK(r.error().endpoint == "users/login");
    // OpenSSL's own words (X509_verify_cert_error_string).
    CHECK(r.error().message == "users/login: certificate verify failed: self-signed certificate");
  }
  {
    // Trusted, but asked for by a name the certificate does not carry (localhost: /etc/hosts).
    auto named = o;
    named.ca_file = cert;
    named.base_url = "https://localhost:" + std::to_string(port) + "/api/v3/";
    auto r = tigo::Client::create(named).value()->object_types();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "users/login: certificate verify failed: the certificate does not name localhost");
  }
  {
    o.ca_file = cert;
    auto trusted = tigo::Client::create(o).value();
    auto r = trusted->object_types();
    REQUIRE(r.ok());
    CHECK(r->at(0).label == "System");
  }
  server.stop();
  thread.join();
}
