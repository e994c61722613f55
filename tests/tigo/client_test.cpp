// The exporter's client against a running simulator over HTTP.
#include "tigo/client.hpp"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "sim/server.hpp"

using namespace std::chrono;

namespace {

// Thread-safe, as the client calls it from every calling thread.
struct Recorder : tigo::CallObserver {
  std::mutex m;
  std::map<std::string, int> calls;
  std::atomic<int> logins_ok = 0, logins_failed = 0;
  std::optional<double> remaining;
  void on_call(std::string_view endpoint, std::string_view code, double) override {
    std::lock_guard lock(m);
    ++calls[std::string(endpoint) + " " + std::string(code)];
  }
  void on_login(bool ok, std::optional<tigo::Timestamp>) override {
    (ok ? logins_ok : logins_failed)++;
  }
  void on_rate_limit(std::optional<double>, std::optional<double> r,
                     std::optional<double>) override {
    std::lock_guard lock(m);
    if (r) remaining = r;
  }
};

struct Fixture {
  sim::Fleet fleet;
  sim::Clock clock{sys_seconds{sys_days{year{2026} / 6 / 21}} + hours{18}, 0.0};
  sim::Server server;
  Recorder recorder;

  explicit Fixture(int systems, sim::ServerOptions o = {})
      : fleet({1, systems, 6}), server(fleet, clock, port0(o)) {
    REQUIRE(server.bind().ok());
    server.start();
  }
  static sim::ServerOptions port0(sim::ServerOptions o) {
    o.port = 0;
    o.rate_limit = 10'000;
    return o;
  }
  // Options for a client of this server, observed by `recorder`; tests adjust the rest.
  tigo::ClientOptions options(tigo::Credentials c = {"demo", "demo", ""}) {
    tigo::ClientOptions o;
    o.base_url = server.base_url();
    o.credentials = c;
    o.timeout = seconds{5};
    o.observer = &recorder;
    return o;
  }
  std::unique_ptr<tigo::Client> client(tigo::Credentials c = {"demo", "demo", ""}) {
    auto made = tigo::Client::create(options(c));
    REQUIRE(made.ok());
    return std::move(*made);
  }
};

}  // namespace

TEST_CASE("the client follows _meta.pageCount through every page") {
  Fixture f(120);
  auto c = f.client();
  auto systems = c->systems();
  REQUIRE(systems.ok());
  REQUIRE(systems->size() == 120);
  CHECK(systems->front().system_id == 1001);
  CHECK(systems->back().system_id == 1120);
  CHECK(f.recorder.calls["systems 200"] == 3);  // 50 per page
  CHECK(f.recorder.calls["users/login 200"] == 1);
  CHECK(f.recorder.remaining.has_value());
}

TEST_CASE("the client reads summaries and logs in only once") {
  Fixture f(3);
  auto c = f.client();
  for (std::int64_t id : {1001, 1002, 1003}) {
    auto s = c->summary(id);
    REQUIRE(s.ok());
    CHECK(s->lifetime_energy_wh.has_value());
    CHECK(s->updated_on.has_value());
  }
  CHECK(f.recorder.logins_ok == 1);
  CHECK(f.recorder.calls["data/summary 200"] == 3);
}

TEST_CASE("a refused token leads to one re-login") {
  Fixture f(2);
  auto c = f.client();
  REQUIRE(c->summary(1001).ok());
  c->logout();  // server forgets the token; the client forgot it too
  auto stale = f.client({"demo", "demo", "not-a-valid-token"});
  auto s = stale->summary(1002);
  REQUIRE(s.ok());
  CHECK(f.recorder.calls["data/summary 401"] == 1);
  CHECK(f.recorder.logins_ok == 2);
}

TEST_CASE("errors name endpoint and status, never the password") {
  Fixture f(2);
  auto c = f.client({"demo", "wrong-secret-pw", ""});
  auto s = c->summary(1001);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("users/login: HTTP 401") == 0);
  CHECK(s.error().message.find("wrong-secret-pw") == std::string::npos);
  CHECK(f.recorder.logins_failed == 1);
  auto good = f.client();
  auto missing = good->summary(4242);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("data/summary: HTTP 404") == 0);
}

namespace {

// Time stands still until the test moves it.
class FakeClock : public tigo::GovernorClock {
 public:
  time_point now() const override { return t_.load(); }
  void sleep_until(time_point t, std::stop_token) override {
    if (t > t_.load()) t_.store(t);
  }
  void advance(std::chrono::steady_clock::duration d) { t_.store(t_.load() + d); }

 private:
  std::atomic<time_point> t_{time_point{} + hours{1000}};
};

}  // namespace

TEST_CASE("a refused login is not tried again before a back-off that doubles", "[tigo][client]") {
  Fixture f(2);
  auto clock = std::make_shared<FakeClock>();
  auto o = f.options({"demo", "wrong-secret-pw", ""});
  o.clock = clock;
  auto made = tigo::Client::create(o);
  REQUIRE(made.ok());
  auto& c = **made;
  // Calls until the next login attempt: each fails at once, as unauthorized, naming the 401.
  auto calls_fail = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto s = c.summary(1001);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().kind == tigo::ErrorKind::unauthorized);
      CHECK(s.error().message.find("users/login: HTTP 401") == 0);
      CHECK(s.error().message.find("wrong-secret-pw") == std::string::npos);
    }
  };
  calls_fail(5);
  CHECK(f.recorder.calls["users/login 401"] == 1);
  CHECK(f.recorder.logins_failed == 1);  // tigo_api_logins_total{result="failure"}
  CHECK(f.recorder.calls["data/summary 401"] == 0);
  clock->advance(seconds{29});
  calls_fail(3);
  CHECK(f.recorder.calls["users/login 401"] == 1);
  clock->advance(seconds{1});  // 30 s: one attempt, refused again; now 60 s
  calls_fail(3);
  CHECK(f.recorder.calls["users/login 401"] == 2);
  clock->advance(seconds{59});
  calls_fail(3);
  CHECK(f.recorder.calls["users/login 401"] == 2);
  clock->advance(seconds{1});
  calls_fail(1);
  CHECK(f.recorder.calls["users/login 401"] == 3);
  CHECK(f.recorder.logins_failed == 3);
  CHECK(f.recorder.logins_ok == 0);
}

TEST_CASE("the login back-off stops at its cap", "[tigo][client]") {
  Fixture f(1);
  auto clock = std::make_shared<FakeClock>();
  auto o = f.options({"demo", "wrong-secret-pw", ""});
  o.clock = clock;
  o.login_backoff = seconds{30};
  o.login_backoff_cap = seconds{100};
  auto made = tigo::Client::create(o);
  REQUIRE(made.ok());
  auto& c = **made;
  // Refusals at 0, +30, +60 (next wait 120 capped to 100), +100, +100.
  for (auto wait : {seconds{0}, seconds{30}, seconds{60}, seconds{100}, seconds{100}}) {
    clock->advance(wait - seconds{1});
    const int before = f.recorder.logins_failed;
    if (wait.count() > 0) {
      REQUIRE_FALSE(c.user().ok());
      CHECK(f.recorder.logins_failed == before);  // a second early: no attempt
    }
    clock->advance(seconds{1});
    REQUIRE_FALSE(c.user().ok());
    CHECK(f.recorder.logins_failed == before + 1);
  }
}

TEST_CASE("threads that all call with a refused password cause one login", "[tigo][client]") {
  Fixture f(2);
  auto c = f.client({"demo", "wrong-secret-pw", ""});
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) failed += !c->summary(1001).ok();
    });
  for (auto& t : threads) t.join();
  CHECK(failed == 40);
  CHECK(f.recorder.calls["users/login 401"] == 1);
  CHECK(f.recorder.logins_failed == 1);
}

TEST_CASE("transport failure is an error value, counted as code error") {
  Recorder r;
  tigo::ClientOptions o;
  o.base_url = "http://127.0.0.1:1/api/v3/";  // nothing listens on port 1
  o.credentials = {"demo", "demo", ""};
  o.timeout = seconds{2};
  o.observer = &r;
  auto c = tigo::Client::create(o);
  REQUIRE(c.ok());
  auto s = (*c)->systems();
  REQUIRE_FALSE(s.ok());
  CHECK(r.calls["users/login error"] == 1);
}

TEST_CASE("402 is reported once and the endpoint is not asked again", "[tigo][client]") {
  sim::ServerOptions o;
  o.accounts = {{"basic", "pw", false, {}}};
  Fixture f(2, o);
  auto c = f.client({"basic", "pw", ""});
  auto s = c->summary(1001);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == tigo::ErrorKind::payment_required);
  CHECK(s.error().status == 402);
  CHECK(s.error().endpoint == "data/summary");
  CHECK(c->payment_required("data/summary"));
  CHECK_FALSE(c->payment_required("systems"));
  auto again = c->summary(1002);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == tigo::ErrorKind::payment_required);
  CHECK(f.recorder.calls["data/summary 402"] == 1);  // the second call never left
  CHECK(c->systems().ok());                          // other endpoints still work
}

TEST_CASE("the governor keeps the client under the simulator's limit, no 429", "[tigo][client]") {
  sim::ServerOptions o;
  Fixture f(2, o);
  // The fixture raised the simulator's limit; a second server with a limit of 4 a minute.
  sim::ServerOptions tight;
  tight.port = 0;
  tight.rate_limit = 4;
  sim::Server server(f.fleet, f.clock, tight);
  REQUIRE(server.bind().ok());
  server.start();
  tigo::ClientOptions co;
  co.base_url = server.base_url();
  co.credentials = {"demo", "demo", ""};
  co.timeout = seconds{5};
  co.observer = &f.recorder;
  auto c = tigo::Client::create(co).value();
  for (int i = 0; i < 3; ++i) REQUIRE(c->summary(1001).ok());  // + the login = 4
  CHECK(c->governor().requests_per_minute() == Approx(4));     // lowered by the headers
  std::stop_source stop;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(milliseconds{300});
    stop.request_stop();
  });
  auto blocked = c->summary(1001, stop.get_token());
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().kind == tigo::ErrorKind::cancelled);
  CHECK(f.recorder.calls["data/summary 429"] == 0);
  CHECK(f.recorder.calls["data/summary 200"] == 3);
  c.reset();  // close the keep-alive connections before the server waits for them
  server.stop();
}

TEST_CASE("token-file mode: no login, and 401 is an error", "[tigo][client]") {
  Fixture f(2);
  auto issuer = f.client();
  auto login = issuer->login();
  REQUIRE(login.ok());
  const int logins_before = f.recorder.logins_ok;
  auto c = f.client({"", "", login->token});
  REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.logins_ok == logins_before);
  c->logout();  // keeps a pre-issued token valid
  REQUIRE(c->summary(1001).ok());
  issuer->logout();  // the server forgets the token
  auto s = c->summary(1001);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == tigo::ErrorKind::unauthorized);
  CHECK(s.error().status == 401);
  CHECK(s.error().message.find(login->token) == std::string::npos);
  CHECK(f.recorder.logins_ok == logins_before);
  CHECK(f.recorder.logins_failed == 0);
}

TEST_CASE("an expired token is renewed once on 401", "[tigo][client]") {
  sim::ServerOptions o;
  o.token_ttl = seconds{1};
  Fixture f(2, o);
  auto co = f.options();
  co.renew_ahead = seconds{0};
  auto c = tigo::Client::create(co).value();
  REQUIRE(c->summary(1001).ok());
  REQUIRE(c->token_expires().has_value());
  std::this_thread::sleep_for(milliseconds{2100});
  REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.logins_ok == 2);
}

TEST_CASE("the token is renewed ahead of its expiry", "[tigo][client]") {
  sim::ServerOptions o;
  o.token_ttl = seconds{8};  // the simulator floors `expires` to seconds: 7 to 8 s left
  Fixture f(2, o);
  auto co = f.options();
  co.renew_ahead = seconds{3};
  auto c = tigo::Client::create(co).value();
  REQUIRE(c->systems().ok());
  REQUIRE(c->systems().ok());
  CHECK(f.recorder.logins_ok == 1);
  std::this_thread::sleep_for(milliseconds{7200});  // renewal is due 5 to 7 s after login
  REQUIRE(c->systems().ok());
  CHECK(f.recorder.logins_ok == 2);
  CHECK(f.recorder.calls["systems 401"] == 0);  // renewed before it was refused
}

TEST_CASE("a token shorter-lived than renew_ahead is still used for 3/4 of its life",
          "[tigo][client]") {
  sim::ServerOptions o;
  o.token_ttl = seconds{20};
  Fixture f(2, o);
  auto co = f.options();  // renew_ahead stays at its default, 10 minutes
  auto c = tigo::Client::create(co).value();
  for (int i = 0; i < 5; ++i) REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.logins_ok == 1);
  CHECK(f.recorder.calls["users/login 200"] == 1);
}

TEST_CASE("threads that all see a refused token cause one re-login", "[tigo][client]") {
  Fixture f(3);
  auto co = f.options({"demo", "demo", "stale-token"});
  co.concurrency = 4;
  auto c = tigo::Client::create(co).value();
  std::atomic<int> ok{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5; ++i) {
          if (c->summary(1001 + (t + i) % 3).ok()) ++ok;
        }
      });
    }
  }
  CHECK(ok == 40);
  CHECK(f.recorder.logins_ok == 1);
  CHECK(f.recorder.calls["data/summary 200"] == 40);
}

namespace {

// Credential files in a fresh directory, removed afterwards.
struct SecretFiles {
  std::filesystem::path dir;
  SecretFiles() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tigo-creds-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~SecretFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const auto path = (dir / name).string();
    std::ofstream(path, std::ios::trunc) << content << "\n";
    return path;
  }
};

}  // namespace

TEST_CASE("token and password: the token first, the password when the token is refused",
          "[tigo][client][credentials]") {
  Fixture f(2);
  auto issuer = f.client();
  auto issued = issuer->login();
  REQUIRE(issued.ok());
  SecretFiles files;
  auto o = f.options({"demo", "demo", issued->token});
  o.password_file = files.write("password", "demo");
  o.token_file = files.write("token", issued->token);
  auto c = tigo::Client::create(o).value();
  CHECK(c->login_state().mode == "token, then password");
  REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.logins_ok == 1);  // the issuer's only: the token was used
  issuer->logout();                  // the server forgets the pre-issued token
  REQUIRE(c->summary(1001).ok());    // 401, then a login with the configured password
  CHECK(f.recorder.calls["data/summary 401"] == 1);
  CHECK(f.recorder.logins_ok == 2);
  CHECK(f.recorder.logins_failed == 0);
  const auto state = c->login_state();
  CHECK(state.last_ok);
  CHECK(state.last_attempt.has_value());
  CHECK(state.token_expires.has_value());
  c->logout();  // ends the login token, not the file's (already gone here)
  REQUIRE(c->summary(1002).ok());
  CHECK(f.recorder.logins_ok == 3);
}

TEST_CASE("a login token that expires is renewed with the password, again and again",
          "[tigo][client][credentials]") {
  sim::ServerOptions so;
  so.token_ttl = seconds{1};
  Fixture f(1, so);
  auto issued = f.client()->login();
  REQUIRE(issued.ok());
  auto o = f.options({"demo", "demo", issued->token});
  o.renew_ahead = seconds{0};
  auto c = tigo::Client::create(o).value();
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(milliseconds{1100});  // past the 1 s lifetime
    INFO("round " << round);
    REQUIRE(c->summary(1001).ok());
  }
  CHECK(f.recorder.logins_ok == 4);  // the issuer's and one per expiry
  CHECK(f.recorder.logins_failed == 0);
  CHECK(f.recorder.calls["data/summary 200"] == 3);
}

TEST_CASE("a fixed password file ends the login back-off without a restart",
          "[tigo][client][credentials]") {
  Fixture f(1);
  SecretFiles files;
  auto clock = std::make_shared<FakeClock>();
  auto o = f.options({"demo", "wrong-secret-pw", ""});
  o.password_file = files.write("password", "wrong-secret-pw");
  o.clock = clock;
  auto c = tigo::Client::create(o).value();
  auto refused = c->summary(1001);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == tigo::ErrorKind::unauthorized);
  auto state = c->login_state();
  CHECK_FALSE(state.last_ok);
  CHECK(state.last_error.find("users/login: HTTP 401") == 0);
  CHECK(state.next_attempt.has_value());
  REQUIRE_FALSE(c->summary(1001).ok());  // backing off: not asked again
  CHECK(f.recorder.calls["users/login 401"] == 1);

  files.write("password", "demo");  // the clock has not moved: only the change ends the wait
  REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.calls["users/login 401"] == 1);
  CHECK(f.recorder.calls["users/login 200"] == 1);
  state = c->login_state();
  CHECK(state.last_ok);
  CHECK_FALSE(state.next_attempt.has_value());
  CHECK(state.last_error.empty());
}

TEST_CASE("a new token file is used when the token is refused, and at once on reload",
          "[tigo][client][credentials]") {
  Fixture f(1);
  auto issuer = f.client();
  auto first = issuer->login();
  REQUIRE(first.ok());
  SecretFiles files;
  auto o = f.options({"", "", first->token});
  o.token_file = files.write("token", first->token);
  auto c = tigo::Client::create(o).value();
  CHECK(c->login_state().mode == "token");
  REQUIRE(c->summary(1001).ok());

  // Refused and the file unchanged: unauthorized, and the state says so.
  issuer->logout();
  auto refused = c->summary(1001);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == tigo::ErrorKind::unauthorized);
  CHECK(refused.error().message.find(first->token) == std::string::npos);
  CHECK(c->login_state().last_error.find("token was refused") != std::string::npos);

  // The operator writes a new token: the next refusal reads it, no restart.
  auto second = issuer->login();
  REQUIRE(second.ok());
  files.write("token", second->token);
  REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.calls["data/summary 401"] == 2);

  // On reload (SIGHUP) a changed file is used before anything is refused.
  auto third = f.client()->login();
  REQUIRE(third.ok());
  files.write("token", third->token);
  c->reload_credentials();
  issuer->logout();  // ends the second token: no longer in use
  REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.calls["data/summary 401"] == 2);
  c->logout();  // a pre-issued token is not ours to end
  REQUIRE(c->summary(1001).ok());
}

TEST_CASE("a credential file that cannot be read keeps the credential in use",
          "[tigo][client][credentials]") {
  Fixture f(1);
  SecretFiles files;
  auto o = f.options({"demo", "demo", ""});
  o.password_file = files.write("password", "demo");
  auto c = tigo::Client::create(o).value();
  REQUIRE(c->summary(1001).ok());
  std::filesystem::remove(o.password_file);
  c->reload_credentials();
  c->logout();                     // the next call logs in: the file is gone, "demo" is kept
  REQUIRE(c->summary(1001).ok());  // with the password in use
  files.write("password", "");     // empty: kept too
  c->logout();
  REQUIRE(c->summary(1001).ok());
  CHECK(f.recorder.logins_ok == 3);
  CHECK(f.recorder.logins_failed == 0);
}
