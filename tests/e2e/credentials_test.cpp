// The exporter's session and its stop, as processes against tigo_sim: a token file with a
// password file through token expiries, a fixed password file picked up without a restart,
// SIGHUP re-reading the credential files, and a stop bounded whatever the API does.
#include <httplib.h>
#include <signal.h>
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support/exposition.hpp"
#include "support/process.hpp"

using namespace std::chrono_literals;
using testing::Process;
using testing::TempDir;

namespace {

struct Sim {
  std::unique_ptr<Process> process;
  std::string api;  // http://127.0.0.1:P/api/v3/

  Sim(const TempDir& dir, std::vector<std::string> args) {
    args.insert(args.begin(), {TIGO_SIM_BIN, "--listen", "127.0.0.1:0"});
    process = std::make_unique<Process>(args, dir.path() + "/sim.log");
    auto url = process->wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
    REQUIRE(url.has_value());
    api = *url;
  }
  httplib::Client http() const {
    httplib::Client c(api.substr(0, api.find("/api/v3/")));
    c.set_read_timeout(10);
    return c;
  }
  // GET /sim/stats: requests[endpoint][status] as counted by the simulator.
  std::int64_t requests(const std::string& endpoint, const std::string& status) const {
    auto c = http();
    auto res = c.Get("/sim/stats");
    REQUIRE(res);
    simdjson::dom::parser parser;
    std::int64_t n = 0;
    auto found = parser.parse(res->body)["requests"][endpoint][status].get(n);
    return found == simdjson::SUCCESS ? n : 0;
  }
  // A token from users/login, as an operator would make one for --tigo.token-file.
  std::string issue_token(const std::string& user, const std::string& password) const {
    auto c = http();
    auto res = c.Get("/api/v3/users/login",
                     httplib::Headers{httplib::make_basic_authentication_header(user, password)});
    REQUIRE(res);
    REQUIRE(res->status == 200);
    simdjson::dom::parser parser;
    std::string_view auth;
    REQUIRE(parser.parse(res->body)["user"]["auth"].get(auth) == simdjson::SUCCESS);
    return std::string(auth);
  }
};

std::unique_ptr<Process> start_exporter(const TempDir& dir, const std::string& api,
                                        std::vector<std::string> args, std::string& address,
                                        const std::string& log_name = "exporter.log") {
  args.insert(args.begin(),
              {TIGO_EXPORTER_BIN, "--tigo.api-url", api, "--web.listen-address", "127.0.0.1:0"});
  auto p = std::make_unique<Process>(args, dir.path() + "/" + log_name);
  auto addr = p->wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
  REQUIRE(addr.has_value());
  address = *addr;
  return p;
}

std::string status_page(const std::string& address) {
  httplib::Client c("http://" + address);
  c.set_read_timeout(10);
  auto r = c.Get("/");
  return r && r->status == 200 ? r->body : std::string();
}

std::vector<testing::Sample> scrape(const std::string& address) {
  httplib::Client c("http://" + address);
  c.set_read_timeout(10);
  auto r = c.Get("/metrics");
  return testing::parse_exposition(r && r->status == 200 ? r->body : std::string());
}

double value_of(const std::vector<testing::Sample>& samples, const std::string& name,
                const std::map<std::string, std::string>& match) {
  double total = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) ok = ok && s.labels.count(k) && s.labels.at(k) == v;
    if (ok) total += s.value;
  }
  return total;
}

}  // namespace

TEST_CASE("credentials: a token file with a password file, 20 s tokens, data after 60 s") {
  TempDir dir;
  Sim sim(dir, {"--systems", "2", "--token-ttl", "20s", "--users", "demo:e2e-pass-7431"});
  const std::string token = sim.issue_token("demo", "e2e-pass-7431");
  const auto token_file = dir.file("token", token + "\n");
  const auto password_file = dir.file("password", "e2e-pass-7431\n");
  std::string address;
  auto exporter =
      start_exporter(dir, sim.api,
                     {"--tigo.username", "demo", "--tigo.password-file", password_file,
                      "--tigo.token-file", token_file, "--refresh.summary-interval", "10s"},
                     address);
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_until(start + 45s);  // the file's token and a login token expired
  const double summaries_at_45s = value_of(scrape(address), "tigo_api_requests_total",
                                           {{"endpoint", "data/summary"}, {"code", "200"}});
  std::this_thread::sleep_until(start + 62s);
  const auto samples = scrape(address);
  const auto log = exporter->log();
  INFO(log.substr(0, 4000));
  // Summaries still answered 200 between 45 and 62 s: the session outlived three tokens.
  CHECK(value_of(samples, "tigo_api_requests_total",
                 {{"endpoint", "data/summary"}, {"code", "200"}}) > summaries_at_45s);
  CHECK(summaries_at_45s > 0);
  CHECK(value_of(samples, "tigo_api_logins_total", {{"result", "success"}}) >= 2);
  CHECK(value_of(samples, "tigo_api_logins_total", {{"result", "failure"}}) == 0);
  CHECK(log.find("token refused, logging in again") != std::string::npos);
  const auto page = status_page(address);
  CHECK(page.find(">Login (token, then password): ok at ") != std::string::npos);
  CHECK(page.find(", token expires ") != std::string::npos);
  CHECK(page.find(token) == std::string::npos);
  CHECK(sim.requests("users/login", "200") >= 3);  // the test's and the exporter's
  CHECK(sim.requests("users/login", "401") == 0);
  CHECK(log.find("e2e-pass-7431") == std::string::npos);
  CHECK(log.find(token) == std::string::npos);
  CHECK(exporter->stop() == 0);
}

TEST_CASE("credentials: a fixed password file is used without a restart, SIGHUP logs the reload") {
  TempDir dir;
  Sim sim(dir, {"--systems", "1", "--users", "demo:right-pass-5160"});
  const auto password_file = dir.file("password", "wrong-pass-2274\n");
  std::string address;
  auto exporter = start_exporter(
      dir, sim.api, {"--tigo.username", "demo", "--tigo.password-file", password_file}, address);
  REQUIRE(exporter->wait_for_log(std::regex("Tigo refused the login"), 15s).has_value());
  const auto refused_page = status_page(address);
  INFO(refused_page);
  CHECK(refused_page.find("Login (password): failed at ") != std::string::npos);
  CHECK(refused_page.find("users/login: HTTP 401") != std::string::npos);
  CHECK(refused_page.find("next attempt not before ") != std::string::npos);

  // Fixed in the file: the next attempt reads it and the 30 s back-off ends with the change.
  dir.file("password", "right-pass-5160\n");
  double logins = 0;
  for (auto until = std::chrono::steady_clock::now() + 25s;
       std::chrono::steady_clock::now() < until && logins < 1; std::this_thread::sleep_for(500ms))
    logins = value_of(scrape(address), "tigo_api_logins_total", {{"result", "success"}});
  INFO(exporter->log().substr(0, 4000));
  CHECK(logins >= 1);
  CHECK(exporter->log().find("password file changed: the next login uses it") != std::string::npos);

  // SIGHUP reads the files again, says what changed, and leaves the process running.
  REQUIRE(kill(exporter->pid(), SIGHUP) == 0);
  const auto reloaded = exporter->wait_for_log(
      std::regex("msg=\"credentials reloaded\" password_file=(\\S+) token_file=\"not used\""), 10s);
  REQUIRE(reloaded.has_value());
  CHECK(*reloaded == "unchanged");
  CHECK_FALSE(exporter->wait_exit(500ms).has_value());
  const auto log = exporter->log();
  CHECK(log.find("msg=\"reload requested\"") != std::string::npos);
  CHECK(log.find("right-pass-5160") == std::string::npos);
  CHECK(log.find("wrong-pass-2274") == std::string::npos);
  CHECK(exporter->stop() == 0);
}

TEST_CASE("stop: SIGTERM or SIGINT with the API answering in 28 s exits 0 within 5 s") {
  TempDir dir;
  Sim sim(dir, {"--systems", "1", "--faults", "latency=28s"});
  const auto password_file = dir.file("password", "demo\n");
  for (int sig : {SIGTERM, SIGINT}) {
    INFO("signal " << sig);
    std::string address;
    auto exporter = start_exporter(
        dir, sim.api, {"--tigo.username", "demo", "--tigo.password-file", password_file}, address,
        "exporter-" + std::to_string(sig) + ".log");
    std::this_thread::sleep_for(2s);  // the login is in flight, its answer 14 to 42 s away
    REQUIRE(kill(exporter->pid(), sig) == 0);
    const auto code = exporter->wait_exit(5s);
    INFO(exporter->log());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(exporter->log().find("msg=\"shutting down\"") != std::string::npos);
    // The request in flight was aborted: the last-resort exit was not needed.
    CHECK(exporter->log().find("stop not finished in time") == std::string::npos);
  }
  // The simulator's handlers are still asleep: do not wait for them.
  kill(sim.process->pid(), SIGKILL);
}

TEST_CASE("credentials: an API nobody listens on is named as connection refused on the page") {
  TempDir dir;
  const int port = testing::free_loopback_port();
  const auto password_file = dir.file("password", "demo\n");
  std::string address;
  auto exporter =
      start_exporter(dir, "http://127.0.0.1:" + std::to_string(port) + "/api/v3/",
                     {"--tigo.username", "demo", "--tigo.password-file", password_file}, address);
  const std::string cause =
      "users/login: connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused";
  std::string page;
  for (auto until = std::chrono::steady_clock::now() + 15s;
       std::chrono::steady_clock::now() < until && page.find(cause) == std::string::npos;
       std::this_thread::sleep_for(200ms))
    page = status_page(address);
  INFO(page);
  CHECK(page.find("Login (password): failed at ") != std::string::npos);
  CHECK(page.find(cause) != std::string::npos);
  // The refresher's warning says the same, once the account job's four calls have failed (each
  // after the governor's back-off from the one before).
  CHECK(exporter->wait_for_log(std::regex("level=warn msg=\"refresh failed\".*err=\"" + cause), 20s)
            .has_value());
  CHECK(exporter->stop() == 0);
}
