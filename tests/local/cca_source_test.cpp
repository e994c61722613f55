// CcaSource against real HTTP on 127.0.0.1: the simulator's CCA (sim::CcaServer, in-process,
// on a frozen clock) for the values, the lock and the password; small httplib servers for a
// slow answer, HTTP errors and malformed bodies; a port nobody listens on.
#include "local/cca_source.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/ports.hpp"
#include "sim/cca.hpp"
#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "util/time.hpp"

using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

sys_seconds at_utc(int y, unsigned m, unsigned d, int h, int min = 0) {
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours{h} + minutes{min};
}

// Polls until `done` holds; a bound on how long a broken test hangs, not a timing assertion.
template <class F>
bool eventually(F done, milliseconds limit = 20s) {
  const auto until = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// What this process writes to stderr (the logs) while it lives.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    REQUIRE(file_ != nullptr);
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(::fileno(file_), 2);
  }
  ~StderrCapture() {
    restore();
    std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // The lines that name `source`.
  std::vector<std::string> lines_of(const std::string& source) {
    restore();
    std::rewind(file_);
    std::vector<std::string> out;
    std::string line;
    for (int c = std::fgetc(file_); c != EOF; c = std::fgetc(file_)) {
      if (c != '\n') {
        line += static_cast<char>(c);
        continue;
      }
      if (line.find("source=" + source) != std::string::npos) out.push_back(line);
      line.clear();
    }
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::FILE* file_;
  int saved_ = -1;
};

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& text) {
  std::size_t n = 0;
  for (const auto& l : lines) n += l.find(text) != std::string::npos ? 1 : 0;
  return n;
}

constexpr std::int64_t kSaoPaulo = 1004;  // system 4 of the fleet: mid-afternoon at 18:30 UTC
const std::string kPassword = "s3cret-Pw";

// The simulator's CCA of one system on a frozen clock.
struct SimCca {
  sim::Fleet fleet{{1, 4, 24, {}}};
  sim::Clock clock;
  sim::SystemContext context;
  std::unique_ptr<sim::CcaServer> server;
  int port = 0;

  SimCca(sys_seconds at, sim::CcaOptions o) : clock(at, 0.0) {
    context = sim::make_context(fleet, fleet.system(static_cast<std::size_t>(kSaoPaulo - 1001)));
    serve(std::move(o));
  }
  // (Re)starts the server, on the same port when it ran before.
  void serve(sim::CcaOptions o) {
    server.reset();
    o.system_id = kSaoPaulo;
    o.host = "127.0.0.1";
    o.port = port;
    server = std::make_unique<sim::CcaServer>(fleet, clock, o);
    const auto bound = server->bind();
    REQUIRE(bound.ok());
    port = *bound;
    server->start();
  }
  local::CcaSourceOptions source_options(const std::string& name, std::string password = "") {
    local::CcaSourceOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.password = std::move(password);
    o.zone = context.spec.timezone;
    o.timeout = 10s;
    o.now = [this] { return clock.now_precise(); };
    o.name = name;
    return o;
  }
};

sim::CcaOptions with_password(bool locked = false) {
  sim::CcaOptions o;
  o.password = kPassword;
  o.locked = locked;
  return o;
}

// The model's panel values at `minute` against the snapshot's.
void check_minute(const SimCca& f, const local::CcaSnapshot& snap, sys_seconds minute) {
  const sim::PowerModel model(f.fleet);
  std::vector<sim::Sample> samples;
  model.minute(f.context, minute, samples);
  const auto& topo = f.context.topo;
  REQUIRE(snap.panels.size() == topo.panels.size());
  for (const auto& st : topo.strings) {
    for (int k = 0; k < st.panel_count; ++k) {
      const auto index = static_cast<std::size_t>(st.first_panel) + static_cast<std::size_t>(k);
      const auto& label = topo.panels[index].label;
      INFO("panel " << label);
      const auto* p = snap.find(label);
      REQUIRE(p != nullptr);
      CHECK(p->string == sim::string_label(st));
      CHECK(p->inverter == (topo.has_inverters
                                ? topo.inverters[static_cast<std::size_t>(st.inverter_index)].label
                                : std::string()));
      const auto& s = samples[index];
      REQUIRE(s.present);
      REQUIRE(p->power);
      REQUIRE(p->voltage);
      REQUIRE(p->rssi);
      CHECK(p->power->minute == minute);
      CHECK(p->voltage->minute == minute);
      CHECK(p->rssi->minute == minute);
      CHECK(std::abs(p->power->value - static_cast<double>(s.mw) / 1000.0) <= 0.5);  // whole W
      CHECK(p->voltage->value == static_cast<double>(s.dv) / 10.0);
      CHECK(p->rssi->value == s.rssi);
    }
  }
}

}  // namespace

TEST_CASE("CcaSource: the simulator's minute per panel, its layout and today's energy",
          "[local][cca]") {
  const auto at = at_utc(2026, 6, 21, 18, 30) + 17s;
  SimCca f(at, with_password());
  local::CcaSource source(f.source_options("cca-values", kPassword));
  CHECK(source.name() == "cca-values");
  CHECK(source.snapshot()->health.polls == 0);
  CHECK(source.snapshot()->panels.empty());

  source.poll_once();
  auto snap = source.snapshot();
  const auto& h = snap->health;
  INFO(h.last_error);
  CHECK(h.polls == 1);
  CHECK(h.requests == 6);  // jsconfig, config, pin, vin, rssi, energy
  CHECK(h.failures() == 0);
  CHECK(h.last_success == at);
  CHECK_FALSE(h.locked);
  CHECK(h.last_error.empty());
  CHECK(h.next_poll_in == 60s);
  const auto today = *util::local_day_in_zone(at, f.context.spec.timezone);
  CHECK(snap->day == today);
  CHECK(snap->device_date == today);
  CHECK(snap->last_data == at);
  REQUIRE(snap->layout);
  CHECK(snap->layout->system_label == f.context.spec.name);
  CHECK(snap->layout->strings.size() == f.context.topo.strings.size());
  check_minute(f, *snap, at_utc(2026, 6, 21, 18, 29));  // the last whole minute

  const sim::PowerModel model(f.fleet);
  std::vector<int> all(f.context.topo.panels.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  const double wh = model.energy_between(
      f.context, all,
      sim::midnight_in(f.context.spec.timezone,
                       date::local_days{date::days{today.time_since_epoch().count()}}),
      at);
  REQUIRE(snap->energy_today_wh);
  CHECK(*snap->energy_today_wh == static_cast<double>(std::llround(wh)));

  // Five minutes on, from the polling thread: the new minute; the layout is not asked again.
  f.clock.set(at + 5min);
  source.start();
  REQUIRE(eventually([&] { return source.snapshot()->health.polls >= 2; }));
  source.stop();
  snap = source.snapshot();
  CHECK(snap->health.failures() == 0);
  CHECK(snap->health.requests == 6 + 5 * (snap->health.polls - 1));
  CHECK(snap->health.last_success == at + 5min);
  check_minute(f, *snap, at_utc(2026, 6, 21, 18, 34));
}

TEST_CASE("CcaSource: a locked CCA (firmware 4.0.4): one clear warning, slow polls, then back",
          "[local][cca]") {
  const auto at = at_utc(2026, 6, 21, 18, 30);
  SimCca f(at, with_password(true));
  auto options = f.source_options("cca-locked", kPassword);
  options.locked_interval = 1h;
  local::CcaSource source(options);

  std::vector<std::string> log;
  {
    StderrCapture capture;
    for (int i = 0; i < 3; ++i) source.poll_once();
    log = capture.lines_of("cca-locked");
  }
  auto snap = source.snapshot();
  const auto& h = snap->health;
  CHECK(h.polls == 3);
  CHECK(h.requests == 3);  // the probe alone, while it refuses
  CHECK(h.unauthorized == 3);
  CHECK(h.failures() == 3);
  CHECK(h.locked);
  CHECK(h.last_failure == local::CcaFailure::unauthorized);
  CHECK(h.next_poll_in == 1h);
  CHECK_FALSE(h.last_success);
  CHECK_THAT(h.last_error,
             Catch::Contains("summary_jsconfig: 401 Unauthorized") && Catch::Contains("4.0.4"));
  CHECK(h.last_error.find(kPassword) == std::string::npos);
  CHECK(snap->panels.empty());
  INFO("log:\n"
       << [&] {
            std::ostringstream s;
            for (const auto& l : log) s << l << "\n";
            return s.str();
          }());
  CHECK(log.size() == 1);
  CHECK(count_containing(log, "CCA local API refused (401)") == 1);
  CHECK(count_containing(log, "in case it is unlocked") == 1);
  CHECK(count_containing(log, kPassword) == 0);

  // The thread polls once, then waits the locked interval: stop ends that wait.
  source.start();
  REQUIRE(eventually([&] { return source.snapshot()->health.polls == 4; }));
  source.stop();
  CHECK(source.snapshot()->health.unauthorized == 4);

  // Unlocked: the next poll reads everything and says so once.
  f.serve(with_password(false));
  local::CcaSource again(f.source_options("cca-unlocked", kPassword));
  again.poll_once();
  CHECK(again.snapshot()->health.failures() == 0);
  {
    local::CcaSource relocked(options);
    f.serve(with_password(true));
    relocked.poll_once();
    REQUIRE(relocked.snapshot()->health.locked);
    f.serve(with_password(false));
    StderrCapture capture;
    relocked.poll_once();
    const auto lines = capture.lines_of("cca-locked");
    const auto back = relocked.snapshot();
    CHECK_FALSE(back->health.locked);
    CHECK(back->health.unauthorized == 1);
    CHECK(back->health.requests == 7);
    CHECK(back->health.last_success == at);
    CHECK(back->health.next_poll_in == 60s);
    CHECK(back->panels.size() == 24);
    CHECK(count_containing(lines, "CCA local API answers again") == 1);
  }
}

TEST_CASE("CcaSource: a wrong or missing password is a 401, told apart in words", "[local][cca]") {
  const auto at = at_utc(2026, 6, 21, 18, 30);
  SimCca f(at, with_password());
  const std::string wrong = "wrong-Pw-42";
  local::CcaSource source(f.source_options("cca-wrong", wrong));
  source.poll_once();
  auto h = source.snapshot()->health;
  CHECK(h.unauthorized == 1);
  CHECK(h.locked);  // the CCA answers both the same way
  CHECK_THAT(h.last_error, Catch::Contains("refused the password of user Tigo"));
  CHECK(h.last_error.find(wrong) == std::string::npos);

  local::CcaSource none(f.source_options("cca-none"));
  none.poll_once();
  h = none.snapshot()->health;
  CHECK(h.unauthorized == 1);
  CHECK_THAT(h.last_error, Catch::Contains("asks for a password (user Tigo) and none is set"));
}

TEST_CASE("CcaSource: nothing listening is unreachable, and the poll ends at the probe",
          "[local][cca]") {
  local::CcaSourceOptions o;
  o.host = "127.0.0.1";
  o.port = testing::closed_loopback_port();
  o.zone = "Europe/Berlin";
  o.password = kPassword;
  o.timeout = 5s;
  o.now = [] { return system_clock::time_point{at_utc(2026, 6, 21, 12)}; };
  local::CcaSource source(o);
  CHECK(source.name() == "cca:127.0.0.1:" + std::to_string(o.port));
  source.poll_once();
  const auto snap = source.snapshot();
  const auto& h = snap->health;
  CHECK(h.polls == 1);
  CHECK(h.requests == 1);
  CHECK(h.unreachable == 1);
  CHECK(h.failures() == 1);
  CHECK_FALSE(h.locked);
  CHECK_FALSE(h.last_success);
  CHECK(h.next_poll_in == 60s);
  CHECK(h.last_failure == local::CcaFailure::unreachable);
  CHECK(h.last_error == "summary_jsconfig: cannot connect to 127.0.0.1:" + std::to_string(o.port));
  CHECK(snap->panels.empty());
  CHECK_FALSE(snap->layout);
}

TEST_CASE("CcaSource: refused settings throw at construction", "[local][cca]") {
  local::CcaSourceOptions o;
  o.host = "127.0.0.1";
  o.zone = "Europe/Berlin";
  CHECK_NOTHROW(local::CcaSource(o));
  auto bad = o;
  bad.host.clear();
  CHECK_THROWS_AS(local::CcaSource(bad), std::invalid_argument);
  bad = o;
  bad.port = 70000;
  CHECK_THROWS_AS(local::CcaSource(bad), std::invalid_argument);
  bad = o;
  bad.zone = "Mars/Olympus_Mons";
  CHECK_THROWS_AS(local::CcaSource(bad), std::invalid_argument);
  bad = o;
  bad.timeout = 0ms;
  CHECK_THROWS_AS(local::CcaSource(bad), std::invalid_argument);
}

namespace {

// An httplib server of the test's own on 127.0.0.1.
struct TestServer {
  httplib::Server http;
  int port = 0;
  std::thread thread;
  TestServer() = default;
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  void start() {
    port = http.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { http.listen_after_bind(); });
    REQUIRE(eventually([this] { return http.is_running(); }));
  }
  ~TestServer() {
    http.stop();
    if (thread.joinable()) thread.join();
  }
  local::CcaSourceOptions source_options(const std::string& name) const {
    local::CcaSourceOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.zone = "UTC";
    o.password = kPassword;
    o.timeout = 10s;
    o.now = [] { return system_clock::time_point{at_utc(2026, 6, 21, 12)}; };
    o.name = name;
    return o;
  }
};

}  // namespace

TEST_CASE("CcaSource: stop cuts a slow request off without waiting for its answer",
          "[local][cca]") {
  std::mutex mutex;
  std::condition_variable cv;
  bool released = false;
  std::atomic<bool> entered{false};
  std::atomic<bool> answered{false};
  TestServer server;
  server.http.Get("/cgi-bin/summary_jsconfig",
                  [&](const httplib::Request&, httplib::Response& res) {
                    entered = true;
                    std::unique_lock lock(mutex);
                    cv.wait_for(lock, 60s, [&] { return released; });
                    answered = true;
                    res.set_content(R"({"sDate":"2026-06-21"})", "application/json");
                  });
  server.start();
  auto options = server.source_options("cca-slow");
  options.timeout = 120s;  // longer than the handler's own limit: only stop() can end it sooner
  local::CcaSource source(options);
  source.start();
  REQUIRE(eventually([&] { return entered.load(); }));
  source.stop();
  // stop() returned while the server still held the request.
  CHECK_FALSE(answered.load());
  const auto h = source.snapshot()->health;
  CHECK(h.polls == 1);
  CHECK(h.requests == 1);
  CHECK(h.failures() == 0);  // cut off by us, not a failure of the CCA
  CHECK_FALSE(h.last_success);
  {
    const std::lock_guard lock(mutex);
    released = true;
  }
  cv.notify_all();
}

TEST_CASE("CcaSource: HTTP errors and malformed bodies are counted, the poll goes on",
          "[local][cca]") {
  TestServer server;
  server.http.Get("/cgi-bin/summary_jsconfig", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"sDate":"2026-06-21","version":"3.7.1"})", "application/json");
  });
  server.http.Get("/cgi-bin/summary_config", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>not JSON</html>", "text/html");
  });
  // summary_data has no route: 404.
  server.http.Get("/cgi-bin/summary_energy", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"([["2026-06-20",5000],["2026-06-21",1234]])", "application/json");
  });
  server.start();

  local::CcaSource source(server.source_options("cca-errors"));
  std::vector<std::string> log;
  {
    StderrCapture capture;
    for (int i = 0; i < 3; ++i) source.poll_once();
    log = capture.lines_of("cca-errors");
  }
  const auto snap = source.snapshot();
  const auto& h = snap->health;
  CHECK(h.polls == 3);
  CHECK(h.requests == 18);
  CHECK(h.malformed == 3);    // summary_config, asked again while there is no layout
  CHECK(h.http_status == 9);  // pin, vin, rssi
  CHECK(h.unreachable == 0);
  CHECK(h.unauthorized == 0);
  CHECK_FALSE(h.locked);
  CHECK_FALSE(h.last_success);
  CHECK(h.last_failure == local::CcaFailure::http_status);
  CHECK(h.last_error == "summary_data?temp=rssi: HTTP status 404");
  CHECK(snap->device_date == local::parse_cca_jsconfig(R"({"sDate":"2026-06-21"})").value());
  CHECK(snap->energy_today_wh == 1234.0);
  CHECK_FALSE(snap->layout);
  CHECK(snap->panels.empty());
  // Each problem logged when it began, not at every poll.
  CHECK(log.size() == 4);
  CHECK(count_containing(log, "summary_config: body: invalid JSON") == 1);
  CHECK(count_containing(log, "summary_data?temp=pin: HTTP status 404") == 1);

  // A body over the limit is refused as malformed, and the poll still goes on.
  auto small = server.source_options("cca-small");
  small.max_body_bytes = 16;
  local::CcaSource limited(small);
  limited.poll_once();
  const auto& l = limited.snapshot()->health;
  CHECK(l.requests == 6);
  CHECK(l.malformed == 3);  // jsconfig (over 16 bytes), config, energy (over 16 bytes)
  CHECK(l.http_status == 3);
  CHECK_FALSE(limited.snapshot()->energy_today_wh);
}
