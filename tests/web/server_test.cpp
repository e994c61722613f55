// The exporter's web endpoints over real HTTP(S) on a loopback port.
#include "web/server.hpp"

#include <crypt.h>
#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "util/gzip.hpp"
#include "web/basic_auth.hpp"
#include "web/web_config.hpp"

namespace {

struct Running {
  std::atomic<bool> ready{false};
  std::atomic<int> renders{0};
  std::shared_ptr<const std::string> fleet_text;
  std::shared_ptr<const std::string> fleet_gzip;  // replace through replace_gzip()
  std::mutex gzip_mutex;  // a request is not ordered after a replacement for TSan otherwise
  std::unique_ptr<web::Server> server;
  std::thread thread;
  int port = 0;

  std::shared_ptr<const std::string> current_gzip() {
    std::lock_guard lock(gzip_mutex);
    return fleet_gzip;
  }
  void replace_gzip(std::string bytes) {
    std::lock_guard lock(gzip_mutex);
    fleet_gzip = std::make_shared<const std::string>(std::move(bytes));
  }

  explicit Running(web::WebConfig cfg = {}, std::string text = "tigo_systems 3\n",
                   std::string host = "127.0.0.1")
      : fleet_text(std::make_shared<const std::string>(std::move(text))),
        fleet_gzip(
            std::make_shared<const std::string>(util::gzip_compress_parallel(*fleet_text, 2))) {
    web::Handlers h;
    h.metrics = [this](bool gzip, web::Format) {
      ++renders;
      // As app.cpp: the fleet cached gzipped only (inflated for plain answers), then own lines.
      web::Payload p{{{current_gzip(), true, fleet_text->size()}}, gzip};
      const std::string own = "tigo_exporter_build_info{version=\"x\"} 1\n";
      if (gzip)
        p.pieces.push_back(
            {std::make_shared<const std::string>(util::gzip_compress(own)), true, own.size()});
      else
        p.pieces.push_back({std::make_shared<const std::string>(own)});
      return p;
    };
    h.ready = [this] { return ready.load(); };
    h.page = [](const web::PageRequest& req) {
      if (req.path == "/")
        return web::PageAnswer{200, "text/html; charset=utf-8", "<html>landing</html>", ""};
      return web::PageAnswer{404, "text/plain", "no page " + req.path + " q=" + req.query,
                             "no-store"};
    };
    // Built member by member: a braced temporary trips g++ 12's -Wmaybe-uninitialized at -O3.
    web::ServerOptions options;
    options.listen.host = std::move(host);
    options.web = std::move(cfg);
    server = std::make_unique<web::Server>(std::move(options), h);
    auto bound = server->bind();
    REQUIRE(bound.ok());
    port = *bound;
    thread = std::thread([this] { server->run(); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
};

std::string hash_password(const std::string& pw) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* h = crypt_r(pw.c_str(), salt, &data);
  REQUIRE(h != nullptr);
  return h;
}

}  // namespace

TEST_CASE("metrics are the cached fleet text plus the self-metrics", "[web]") {
  Running r;
  httplib::Client c("127.0.0.1", r.port);
  c.set_decompress(false);
  auto plain = c.Get("/metrics");
  REQUIRE(plain);
  CHECK(plain->status == 200);
  CHECK(plain->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(plain->get_header_value("Content-Encoding").empty());
  CHECK(plain->body == "tigo_systems 3\ntigo_exporter_build_info{version=\"x\"} 1\n");
}

TEST_CASE("gzip: the cached member and a fresh one, concatenated, decode to the text", "[web]") {
  Running r;
  httplib::Client c("127.0.0.1", r.port);
  c.set_decompress(false);
  auto res = c.Get("/metrics", httplib::Headers{{"Accept-Encoding", "gzip, deflate"}});
  REQUIRE(res);
  CHECK(res->get_header_value("Content-Encoding") == "gzip");
  // Sent as is: the cached member is the body's first bytes, not compressed a second time.
  CHECK(res->body.compare(0, r.fleet_gzip->size(), *r.fleet_gzip) == 0);
  CHECK(util::gzip_decompress(res->body) ==
        "tigo_systems 3\ntigo_exporter_build_info{version=\"x\"} 1\n");
}

TEST_CASE("a plain answer inflates the cached multi-member gzip exactly, chunk after chunk",
          "[web]") {
  std::string text;
  for (int i = 0; text.size() < 3'000'000; ++i)
    text += "tigo_panel_power_watts{system_id=\"" + std::to_string(i / 100) + "\",panel=\"A" +
            std::to_string(i % 100) + "\"} " + std::to_string(i * 7 % 401) + "\n";
  Running r({}, text);
  REQUIRE(r.fleet_gzip->size() < text.size() / 4);
  REQUIRE(util::gzip_decompress(*r.fleet_gzip) == text);  // two members
  httplib::Client c("127.0.0.1", r.port);
  c.set_decompress(false);
  auto plain = c.Get("/metrics");
  REQUIRE(plain);
  CHECK(plain->status == 200);
  CHECK(plain->get_header_value("Content-Length") ==
        std::to_string(text.size() +
                       std::string("tigo_exporter_build_info{version=\"x\"} 1\n").size()));
  CHECK(plain->body == text + "tigo_exporter_build_info{version=\"x\"} 1\n");
  auto gz = c.Get("/metrics", httplib::Headers{{"Accept-Encoding", "gzip"}});
  REQUIRE(gz);
  CHECK(util::gzip_decompress(gz->body) == plain->body);
}

TEST_CASE("a corrupt cached gzip fails the plain answer instead of cutting it short", "[web]") {
  std::string text;
  for (int i = 0; text.size() < 600'000; ++i) text += "tigo_x{i=\"" + std::to_string(i) + "\"} 1\n";
  Running r({}, text);
  auto cut = *r.fleet_gzip;
  cut.resize(cut.size() / 2);  // as if the cache were truncated
  r.replace_gzip(cut);
  httplib::Client c("127.0.0.1", r.port);
  c.set_decompress(false);
  auto plain = c.Get("/metrics");
  // The declared length cannot be met: the connection drops, the client sees an error.
  CHECK((!plain || plain->body.size() != text.size() + 41));
  CHECK_FALSE(plain);
}

TEST_CASE("every interface: reachable over IPv4 and, where the kernel has it, IPv6", "[web]") {
  Running r({}, "tigo_systems 3\n", "");  // as --web.listen-address :PORT
  httplib::Client v4("127.0.0.1", r.port);
  auto a = v4.Get("/-/healthy");
  REQUIRE(a);
  CHECK(a->status == 200);
  // Bound to :: (dual-stack) when the kernel has IPv6, so ::1 answers too.
  if (httplib::Server probe; probe.bind_to_any_port("::1") > 0) {
    httplib::Client v6("::1", r.port);
    auto b = v6.Get("/-/healthy");
    REQUIRE(b);
    CHECK(b->status == 200);
  } else {
    WARN("no IPv6 loopback here: only IPv4 checked");
  }
}

TEST_CASE("the listen socket is exclusive: a busy port fails with the system's reason", "[web]") {
  Running first;
  web::ServerOptions options;
  options.listen = {"127.0.0.1", first.port};
  web::Server second(options, {});
  const auto bound = second.bind();
  REQUIRE_FALSE(bound.ok());
  CHECK(bound.error().message ==
        "cannot listen on 127.0.0.1:" + std::to_string(first.port) + ": Address already in use");
  // The first server still answers every connection.
  httplib::Client c("127.0.0.1", first.port);
  auto res = c.Get("/-/healthy");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("a listen host that does not resolve says so", "[web]") {
  web::ServerOptions options;
  options.listen = {"no-such-host.invalid", 0};
  web::Server server(options, {});
  const auto bound = server.bind();
  REQUIRE_FALSE(bound.ok());
  CHECK(bound.error().message.starts_with("cannot listen on no-such-host.invalid:0: "));
  CHECK_FALSE(bound.error().message.ends_with(": "));
}

TEST_CASE("Accept-Encoding parsing", "[web]") {
  CHECK(web::accepts_gzip("gzip"));
  CHECK(web::accepts_gzip("deflate, gzip;q=0.5"));
  CHECK(web::accepts_gzip("*"));
  CHECK_FALSE(web::accepts_gzip(""));
  CHECK_FALSE(web::accepts_gzip("identity"));
  CHECK_FALSE(web::accepts_gzip("gzip;q=0"));
  CHECK_FALSE(web::accepts_gzip("br, x-gzip2"));
}

TEST_CASE("readiness follows the first refresh, health always 200", "[web]") {
  Running r;
  httplib::Client c("127.0.0.1", r.port);
  CHECK(c.Get("/-/healthy")->status == 200);
  CHECK(c.Get("/-/ready")->status == 503);
  r.ready = true;
  CHECK(c.Get("/-/ready")->status == 200);
  CHECK(c.Get("/")->body == "<html>landing</html>");
  CHECK(c.Get("/nope")->status == 404);
}

TEST_CASE("other methods on a served path answer 405 with Allow, unknown paths 404", "[web]") {
  Running r;
  httplib::Client c("127.0.0.1", r.port);
  for (const char* path : {"/metrics", "/-/healthy", "/-/ready", "/"}) {
    INFO(path);
    std::vector<httplib::Result> answers;
    answers.push_back(c.Post(path, "x", "text/plain"));
    answers.push_back(c.Put(path, "x", "text/plain"));
    answers.push_back(c.Patch(path, "x", "text/plain"));
    answers.push_back(c.Delete(path));
    answers.push_back(c.Options(path));
    for (const auto& res : answers) {
      REQUIRE(res);
      CHECK(res->status == 405);
      CHECK(res->get_header_value("Allow") == "GET, HEAD");
    }
    auto head = c.Head(path);
    REQUIRE(head);
    CHECK(head->status != 405);
  }
  CHECK(r.renders == 1);  // only the HEAD of /metrics rendered
  auto unknown = c.Post("/nope", "x", "text/plain");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(unknown->get_header_value("Allow").empty());
}

TEST_CASE("a reloaded web config changes basic auth from the next request", "[web]") {
  Running r;
  httplib::Client c("127.0.0.1", r.port);
  CHECK(c.Get("/-/healthy")->status == 200);
  web::WebConfig with_users;
  with_users.basic_auth_users["prom"] = hash_password("scrape-me");
  CHECK(r.server->update_web_config(with_users));
  CHECK(c.Get("/-/healthy")->status == 401);
  c.set_basic_auth("prom", "scrape-me");
  CHECK(c.Get("/-/healthy")->status == 200);
  CHECK(r.server->update_web_config({}));
  httplib::Client anonymous("127.0.0.1", r.port);
  CHECK(anonymous.Get("/-/healthy")->status == 200);
  // Switching TLS on or off at run time: tests/web/tls_test.cpp.
}

TEST_CASE("basic auth with bcrypt hashes guards every endpoint", "[web]") {
  web::WebConfig cfg;
  cfg.basic_auth_users["prom"] = hash_password("scrape-me");
  Running r(cfg);
  httplib::Client c("127.0.0.1", r.port);
  auto anonymous = c.Get("/metrics");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  CHECK(anonymous->get_header_value("WWW-Authenticate").find("Basic") == 0);
  CHECK(r.renders == 0);
  CHECK(c.Get("/-/ready")->status == 401);
  // The pages too: the status page, panel maps, their JSON and the static assets.
  for (const char* path : {"/", "/systems/1001", "/api/systems/1001", "/static/map.js"})
    CHECK(c.Get(path)->status == 401);
  c.set_basic_auth("prom", "wrong");
  CHECK(c.Get("/metrics")->status == 401);
  c.set_basic_auth("prom", "scrape-me");
  CHECK(c.Get("/metrics")->status == 200);
  CHECK(c.Get("/metrics")->status == 200);  // second time from the verdict cache
  const auto page = c.Get("/systems/1001?q=Barn%20%E2%98%80");
  REQUIRE(page);
  CHECK(page->status == 404);
  CHECK(page->body == "no page /systems/1001 q=Barn \u2600");
  CHECK(page->get_header_value("Cache-Control") == "no-store");
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  c.set_basic_auth("other", "scrape-me");
  CHECK(c.Get("/metrics")->status == 401);
}

TEST_CASE("bcrypt verification", "[web]") {
  const auto h = hash_password("pw");
  CHECK(web::bcrypt_matches("pw", h));
  CHECK_FALSE(web::bcrypt_matches("pw2", h));
  CHECK_FALSE(web::bcrypt_matches("pw", "not-a-hash"));
}

TEST_CASE("web config file: TLS and users, with clear errors", "[web]") {
  auto ok = web::parse_web_config(
      "basic_auth_users:\n  alice: $2b$05$abcdefghijklmnopqrstuu5Z3pUvP3dHfDbdB2wW9I2x2FVBfmJGe\n",
      "/tmp/web.yml");
  REQUIRE(ok.ok());
  CHECK(ok->basic_auth_users.count("alice") == 1);
  CHECK_FALSE(ok->tls.has_value());
  auto not_bcrypt = web::parse_web_config("basic_auth_users:\n  bob: plaintext\n", "w.yml");
  REQUIRE_FALSE(not_bcrypt.ok());
  CHECK(not_bcrypt.error().message.find("bob") != std::string::npos);
  CHECK(not_bcrypt.error().message.find("plaintext") == std::string::npos);
  CHECK_FALSE(web::parse_web_config("tls_server_config:\n  cert_file: x\n", "w.yml").ok());
  CHECK_FALSE(web::parse_web_config("unknown_key: 1\n", "w.yml").ok());
  CHECK_FALSE(web::parse_web_config("[1, 2", "w.yml").ok());
  CHECK(web::parse_web_config("", "w.yml").ok());
}

TEST_CASE("TLS from the web config serves HTTPS", "[web]") {
  char dir[] = "/tmp/tigo_tls_XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string d = dir;
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      d + "/key.pem -out " + d + "/cert.pem >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ofstream(d + "/web.yml")
      << "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n";
  auto cfg = web::load_web_config(d + "/web.yml");
  REQUIRE(cfg.ok());
  REQUIRE(cfg->tls.has_value());
  {
    Running r(*cfg);
    httplib::SSLClient c("127.0.0.1", r.port);
    c.set_ca_cert_path((d + "/cert.pem").c_str());
    c.enable_server_certificate_verification(true);
    auto res = c.Get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.find("tigo_systems 3") == 0);
    httplib::Client plain("127.0.0.1", r.port);
    plain.set_connection_timeout(2);
    plain.set_read_timeout(2);
    auto refused = plain.Get("/metrics");
    CHECK((!refused || refused->status != 200));
  }
  std::system(("rm -rf " + d).c_str());
}
