// Requests without an answer: the error names the cause in the resolver's, the socket's and
// OpenSSL's own words, and a stop ends a request in flight and bounds the logout. Everything on
// 127.0.0.1 (the unresolvable name fails inside the resolver: see below).
#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "../support/ports.hpp"
#include "sim/server.hpp"
#include "tigo/client.hpp"

using namespace std::chrono;

namespace {

tigo::ClientOptions options_for(const std::string& base_url) {
  tigo::ClientOptions o;
  o.base_url = base_url;
  o.credentials = {"demo", "demo", ""};
  o.timeout = seconds{5};
  return o;
}

// An HTTP server on 127.0.0.1 whose answers wait until the test releases them: a stalled API.
struct StalledApi {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex m;
  std::condition_variable cv;
  int entered = 0;        // requests that reached a handler
  int answered = 0;       // requests answered
  bool released = false;  // handlers answer without waiting

  StalledApi() {
    server.Get("/api/v3/users/login", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"user":{"user_id":1,"auth":"t","expires":"2099-01-01T00:00:00Z"}})",
                      "application/json");
    });
    const auto stall = [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(m);
      ++entered;
      cv.notify_all();
      cv.wait_for(lock, seconds{30}, [this] { return released; });
      ++answered;
      res.set_content(R"({"object_types":[]})", "application/json");
    };
    server.Get("/api/v3/objects/types", stall);
    server.Get("/api/v3/users/logout", stall);
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(milliseconds{1});
  }
  ~StalledApi() {
    release();
    server.stop();
    thread.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port) + "/api/v3/"; }
  void wait_entered(int n) {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, seconds{10}, [&] { return entered >= n; }));
  }
  void release() {
    std::lock_guard lock(m);
    released = true;
    cv.notify_all();
  }
  int answers() {
    std::lock_guard lock(m);
    return answered;
  }
  int entries() {
    std::lock_guard lock(m);
    return entered;
  }
};

}  // namespace

TEST_CASE("a closed port is named as connection refused", "[tigo][client][errors]") {
  const int port = testing::closed_loopback_port();
  auto c =
      tigo::Client::create(options_for("http://127.0.0.1:" + std::to_string(port) + "/api/v3/"))
          .value();
  auto r = c->systems();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::transport);
  CHECK(r.error().endpoint == "users/login");
  CHECK(r.error().message ==
        "users/login: connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_CASE("a name that does not resolve says so in the resolver's words",
          "[tigo][client][errors]") {
  // A label longer than 63 octets (RFC 1035): glibc's resolver refuses to build the query, so
  // the lookup fails inside this process and no DNS packet is sent (checked with strace: no
  // AF_INET socket is opened). A plain "x.invalid" would be asked of the configured server.
  const std::string host = std::string(64, 'a') + ".invalid";
  auto c = tigo::Client::create(options_for("http://" + host + "/api/v3/")).value();
  auto r = c->systems();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::transport);
  CHECK(r.error().message ==
        "users/login: name does not resolve: " + host + ": " + gai_strerror(EAI_NONAME));
}

TEST_CASE("an answer that does not come within the timeout is named as such",
          "[tigo][client][errors]") {
  StalledApi api;
  auto o = options_for(api.base_url());
  o.credentials = {"", "", "pre-issued"};
  o.timeout = seconds{1};
  auto c = tigo::Client::create(o).value();
  auto r = c->object_types();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::transport);
  CHECK(r.error().message == "objects/types: no complete answer from 127.0.0.1:" +
                                 std::to_string(api.port) + " within 1s");
}

TEST_CASE("a connection the server drops is named as closed", "[tigo][client][errors]") {
  sim::Fleet fleet({1, 1, 6});
  sim::Clock clock{sys_seconds{sys_days{year{2026} / 6 / 21}} + hours{18}, 0.0};
  sim::ServerOptions so;
  so.port = 0;
  so.faults.drop_connection = 1.0;
  sim::Server server(fleet, clock, so);
  REQUIRE(server.bind().ok());
  server.start();
  auto r = tigo::Client::create(options_for(server.base_url())).value()->object_types();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::transport);
  const std::string url = server.base_url();
  const auto host_port = url.substr(7, url.find("/api/v3/") - 7);
  CHECK(r.error().message ==
        "users/login: connection to " + host_port + " closed before a complete answer");
}

TEST_CASE("a stop ends the request in flight, and the client works on afterwards",
          "[tigo][client][stop]") {
  StalledApi api;
  auto o = options_for(api.base_url());
  o.credentials = {"", "", "pre-issued"};
  o.timeout = seconds{30};
  auto c = tigo::Client::create(o).value();
  std::stop_source stop;
  std::optional<tigo::Result<std::vector<tigo::ObjectType>>> r;
  std::thread caller([&] { r = c->object_types(stop.get_token()); });
  api.wait_entered(1);
  stop.request_stop();
  caller.join();
  // The server has not answered: the call returned because it was aborted.
  CHECK(api.answers() == 0);
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->ok());
  CHECK(r->error().kind == tigo::ErrorKind::cancelled);
  CHECK(r->error().message == "objects/types: cancelled (stopping)");

  // Stopped before it starts: nothing is sent.
  auto early = c->object_types(stop.get_token());
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().kind == tigo::ErrorKind::cancelled);
  CHECK(api.entries() == 1);

  api.release();
  auto later = c->object_types();
  CHECK(later.ok());
  CHECK(c->governor().state().in_flight == 0);
}

TEST_CASE("logout gives up at its deadline when the API does not answer", "[tigo][client][stop]") {
  StalledApi api;
  auto o = options_for(api.base_url());
  o.logout_deadline = milliseconds{300};
  auto c = tigo::Client::create(o).value();
  REQUIRE(c->login().ok());
  c->logout();
  CHECK(api.answers() == 0);  // returned while the server still held the logout
  CHECK_FALSE(c->token_expires().has_value());
}

TEST_CASE("a TLS handshake with a plain HTTP server names OpenSSL's reason",
          "[tigo][client][errors][tls]") {
  StalledApi api;  // speaks plain HTTP
  auto o = options_for("https://127.0.0.1:" + std::to_string(api.port) + "/api/v3/");
  auto r = tigo::Client::create(o).value()->systems();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::transport);
  CHECK(r.error().message == "users/login: TLS handshake with 127.0.0.1:" +
                                 std::to_string(api.port) + " failed: wrong version number");
}
