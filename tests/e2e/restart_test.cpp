// Restarts with the state file (--storage.path): tigo_sim and the exporter as processes; the
// exporter stopped and started again serves panel power at once and asks the API for no
// hierarchy (its own tigo_api_requests_total and the simulator's /sim/stats say so); another
// account's file is not used.
#include <httplib.h>
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "support/exposition.hpp"
#include "support/process.hpp"

using namespace std::chrono_literals;
using testing::Process;
using testing::Sample;
using testing::TempDir;

namespace {

std::string http_get(const std::string& address, const std::string& path) {
  httplib::Client c("http://" + address);
  c.set_read_timeout(10);
  auto r = c.Get(path);
  return r && r->status == 200 ? r->body : std::string{};
}

std::set<std::string> systems_with_power(const std::vector<Sample>& samples) {
  std::set<std::string> out;
  for (const auto& s : samples)
    if (s.name == "tigo_panel_power_watts") out.insert(s.labels.at("system_id"));
  return out;
}

double calls(const std::vector<Sample>& samples, const std::string& endpoint) {
  double n = 0;
  for (const auto& s : samples)
    if (s.name == "tigo_api_requests_total" && s.labels.at("endpoint") == endpoint) n += s.value;
  return n;
}

// Requests the simulator answered for `endpoint`, every status.
std::int64_t sim_requests(const std::string& sim_address, std::string_view endpoint) {
  const auto body = http_get(sim_address, "/sim/stats");
  simdjson::dom::parser parser;
  simdjson::dom::object by_status;
  if (parser.parse(body)["requests"][endpoint].get(by_status) != simdjson::SUCCESS) return 0;
  std::int64_t n = 0;
  for (auto [status, count] : by_status) n += count.get_int64().value_unsafe();
  return n;
}

struct Exporter {
  std::unique_ptr<Process> process;
  std::string address;

  Exporter(const TempDir& dir, const std::string& api, const std::string& user,
           const std::string& name) {
    const auto pw = dir.file(user + ".password", user + "\n");
    process = std::make_unique<Process>(
        std::vector<std::string>{TIGO_EXPORTER_BIN, "--tigo.api-url", api, "--tigo.username", user,
                                 "--tigo.password-file", pw, "--web.listen-address", "127.0.0.1:0",
                                 "--tigo.rate-limit", "100000", "--refresh.panels-interval", "5s",
                                 "--storage.path", dir.path() + "/state"},
        dir.path() + "/" + name + ".log");
    auto addr = process->wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
    REQUIRE(addr.has_value());
    address = *addr;
  }

  std::vector<Sample> scrape() const {
    return testing::parse_exposition(http_get(address, "/metrics"));
  }
  bool ready() const {
    httplib::Client c("http://" + address);
    auto r = c.Get("/-/ready");
    return r && r->status == 200;
  }
};

}  // namespace

TEST_CASE("restart with the state file: panel power at once, no hierarchy fetched again") {
  TempDir dir;
  Process sim({TIGO_SIM_BIN, "--listen", "127.0.0.1:0", "--systems", "6", "--seed", "1",
               "--rate-limit", "100000", "--users", "demo:demo,other:other"},
              dir.path() + "/sim.log");
  const auto api = sim.wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
  REQUIRE(api.has_value());
  const auto sim_address = api->substr(7, api->find("/api/v3/") - 7);
  const auto state_file = dir.path() + "/state/state.json";

  // First run: cold, until panel power of every system that has it now and the first round.
  std::set<std::string> before;
  {
    Exporter first(dir, *api, "demo", "first");
    for (int i = 0; i < 120; ++i) {
      before = systems_with_power(first.scrape());
      if (first.ready() && before.size() >= 4) break;
      std::this_thread::sleep_for(500ms);
    }
    INFO(first.process->log().substr(0, 3000));
    REQUIRE(before.size() >= 4);
    CHECK(calls(first.scrape(), "objects/system") >= 6);
    CHECK(first.process->stop() == 0);  // SIGTERM: the file is written on the way out
    CHECK_THAT(first.process->log(), Catch::Contains("state file not used: starting cold") &&
                                         Catch::Contains("reason=missing"));
  }
  REQUIRE(std::filesystem::exists(state_file));
  CHECK_FALSE(std::filesystem::exists(state_file + ".tmp"));
  const auto objects_before = sim_requests(sim_address, "objects/system");
  const auto layout_before = sim_requests(sim_address, "systems/layout");
  CHECK(objects_before >= 6);

  // Second run: the same systems' panel power within seconds (from the file, then fresh).
  {
    Exporter second(dir, *api, "demo", "second");
    const auto t0 = std::chrono::steady_clock::now();
    std::set<std::string> after;
    while (std::chrono::steady_clock::now() - t0 < 15s) {
      after = systems_with_power(second.scrape());
      if (after.size() >= before.size() && second.ready()) break;
      std::this_thread::sleep_for(200ms);
    }
    INFO(second.process->log().substr(0, 3000));
    CHECK(after == before);
    CHECK(second.ready());
    CHECK_THAT(second.process->log(),
               Catch::Contains("msg=\"state restored\"") && Catch::Contains("systems=6"));
    // A few more seconds of work: new data only, never the hierarchy.
    std::this_thread::sleep_for(3s);
    const auto samples = second.scrape();
    CHECK(calls(samples, "objects/system") == 0);
    CHECK(calls(samples, "systems/layout") == 0);
    CHECK(calls(samples, "systems") >= 1);  // the list is asked again: it says who left
    CHECK(second.process->stop() == 0);
  }
  CHECK(sim_requests(sim_address, "objects/system") == objects_before);
  CHECK(sim_requests(sim_address, "systems/layout") == layout_before);

  // Another account: the file is foreign, one line says so, and the start is cold.
  {
    Exporter other(dir, *api, "other", "other");
    for (int i = 0; i < 60 && calls(other.scrape(), "objects/system") < 1; ++i)
      std::this_thread::sleep_for(250ms);
    CHECK(calls(other.scrape(), "objects/system") >= 1);
    const auto log = other.process->log();
    CHECK_THAT(log,
               Catch::Contains("state file not used: starting cold") && Catch::Contains("foreign"));
    CHECK(other.process->stop() == 0);
  }
}

TEST_CASE("a state file the policy could not have written: one line, a cold start, no crash") {
  TempDir dir;
  Process sim({TIGO_SIM_BIN, "--listen", "127.0.0.1:0", "--systems", "3", "--seed", "1",
               "--rate-limit", "100000"},
              dir.path() + "/sim.log");
  const auto api = sim.wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
  REQUIRE(api.has_value());
  const auto state_file = dir.path() + "/state/state.json";
  {
    Exporter first(dir, *api, "demo", "first");
    for (int i = 0; i < 120 && !first.ready(); ++i) std::this_thread::sleep_for(250ms);
    REQUIRE(first.ready());
    CHECK(first.process->stop() == 0);
  }
  // Issue 20's reproduction: every learned spacing 0 once crashed every start (SIGSEGV).
  std::string text;
  {
    std::ifstream in(state_file);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto patched =
      std::regex_replace(text, std::regex(R"("spacings":\[[^\]]*\])"), R"("spacings":[0,0,0])");
  REQUIRE(patched != text);
  std::ofstream(state_file, std::ios::trunc) << patched;

  Exporter second(dir, *api, "demo", "second");
  for (int i = 0; i < 120 && !second.ready(); ++i) std::this_thread::sleep_for(250ms);
  INFO(second.process->log().substr(0, 3000));
  CHECK(second.ready());
  CHECK_FALSE(second.scrape().empty());
  const auto log = second.process->log();
  CHECK_THAT(log, Catch::Contains("state file not used: starting cold") &&
                      Catch::Contains("spacings: out of range"));
  std::size_t lines = 0;
  for (auto at = log.find("state file not used"); at != std::string::npos;
       at = log.find("state file not used", at + 1))
    ++lines;
  CHECK(lines == 1);
  CHECK(second.process->stop() == 0);  // still running until asked to stop
}

TEST_CASE("a --storage.path that cannot be a directory exits 2 with one line") {
  TempDir dir;
  const auto file = dir.file("not-a-dir", "x");
  const auto [code, out] =
      testing::run_to_completion({TIGO_EXPORTER_BIN, "--demo", "--web.listen-address",
                                  "127.0.0.1:0", "--storage.path", file + "/state"},
                                 10s);
  CHECK(code == 2);
  CHECK_THAT(out, Catch::Contains("--storage.path: cannot create"));
}
