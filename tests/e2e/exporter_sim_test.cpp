// The exporter against a running tigo_sim, both as processes: every family of the reference with
// the simulator's values, faults survived, the rate limit respected.
#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "metrics/family_table.hpp"
#include "support/exposition.hpp"
#include "support/process.hpp"
#include "support/sim_api.hpp"
#include "tigo/csv.hpp"
#include "tigo/json_parse.hpp"
#include "tigo/local_time.hpp"

using namespace std::chrono_literals;
using testing::Process;
using testing::Sample;
using testing::TempDir;

namespace {

struct Running {
  TempDir dir;
  std::unique_ptr<Process> sim;
  std::unique_ptr<Process> exporter;
  std::string api;      // http://127.0.0.1:P/api/v3/
  std::string address;  // exporter's host:port

  Running(std::vector<std::string> sim_args, std::vector<std::string> exporter_args,
          const std::string& password = "demo") {
    sim_args.insert(sim_args.begin(), {TIGO_SIM_BIN, "--listen", "127.0.0.1:0"});
    sim = std::make_unique<Process>(sim_args, dir.path() + "/sim.log");
    auto url = sim->wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
    REQUIRE(url.has_value());
    api = *url;
    const auto pw = dir.file("password", password + "\n");
    exporter_args.insert(exporter_args.begin(),
                         {TIGO_EXPORTER_BIN, "--tigo.api-url", api, "--tigo.username", "demo",
                          "--tigo.password-file", pw, "--web.listen-address", "127.0.0.1:0"});
    exporter = std::make_unique<Process>(exporter_args, dir.path() + "/exporter.log");
    auto addr = exporter->wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
    REQUIRE(addr.has_value());
    address = *addr;
  }

  int ready_status() {
    httplib::Client c("http://" + address);
    c.set_read_timeout(10);
    auto r = c.Get("/-/ready");
    return r ? r->status : 0;
  }

  std::string metrics() {
    httplib::Client c("http://" + address);
    c.set_read_timeout(10);
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return {};
    return r->body;
  }

  // Scrapes until `done` holds for the samples, or the time runs out.
  std::vector<Sample> wait_for(const std::function<bool(const std::vector<Sample>&)>& done,
                               std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::vector<Sample> samples;
    while (std::chrono::steady_clock::now() < until) {
      samples = testing::parse_exposition(metrics());
      if (done(samples)) break;
      std::this_thread::sleep_for(500ms);
    }
    return samples;
  }
};

std::set<std::string> systems_with(const std::vector<Sample>& samples, const std::string& name) {
  std::set<std::string> out;
  for (const auto& s : samples)
    if (s.name == name) out.insert(s.labels.at("system_id"));
  return out;
}

double sum_of(const std::vector<Sample>& samples, const std::string& name,
              const std::map<std::string, std::string>& match = {}) {
  double total = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) ok = ok && s.labels.count(k) && s.labels.at(k) == v;
    if (ok) total += s.value;
  }
  return total;
}

using testing::SimApi;

}  // namespace

TEST_CASE("every family of the contract, panels equal to the simulator's CSV cells") {
  Running r({"--systems", "6", "--seed", "1", "--rate-limit", "100000"},
            {"--tigo.rate-limit", "100000", "--refresh.panels-interval", "5s",
             "--refresh.sources-interval", "5s", "--refresh.combined-interval", "5s"});
  const auto samples = r.wait_for(
      [](const std::vector<Sample>& s) {
        return systems_with(s, "tigo_panel_power_watts").size() >= 4 &&
               !systems_with(s, "tigo_object_power_watts").empty() &&
               !systems_with(s, "tigo_gateway_info").empty();
      },
      90s);
  INFO(r.exporter->log().substr(0, 4000));
  REQUIRE(systems_with(samples, "tigo_panel_power_watts").size() >= 4);

  const std::string text = r.metrics();
  const auto families = testing::family_names(text);
  for (const auto& f : metrics::kFamilies) {
    INFO(f.name);
    // Without a local source its families are not announced (the local e2e test has them).
    CHECK(std::count(families.begin(), families.end(), f.name) ==
          (metrics::needs_local_source(f) ? 0 : 1));
  }
  for (const char* with_samples :
       {"tigo_user_info", "tigo_system_info", "tigo_system_dc_power_watts", "tigo_object_info",
        "tigo_panel_info", "tigo_panel_power_watts", "tigo_panel_input_voltage_volts",
        "tigo_panel_input_current_amperes", "tigo_panel_rssi", "tigo_panel_reporting",
        "tigo_panel_sample_timestamp_seconds", "tigo_object_power_watts", "tigo_gateway_info",
        "tigo_gateway_control_state", "tigo_gateway_data_last_minute_timestamp_seconds",
        "tigo_refresh_interval_seconds", "tigo_api_requests_total"}) {
    INFO(with_samples);
    CHECK(sum_of(samples, with_samples) != 0);
  }
  CHECK(sum_of(samples, "tigo_systems") == 6);
  CHECK(sum_of(samples, "tigo_panels") == 144);

  // Each panel reading equals the simulator's cell at the reading's minute.
  SimApi sim(r.api);
  std::map<std::string, std::string> zones;
  for (const auto& s : samples)
    if (s.name == "tigo_system_info") zones[s.labels.at("system_id")] = s.labels.at("timezone");
  int compared = 0;
  for (const auto& ts : samples) {
    if (ts.name != "tigo_panel_sample_timestamp_seconds" || compared >= 12) continue;
    const auto& sys = ts.labels.at("system_id");
    const auto& obj = ts.labels.at("object_id");
    const auto zone = tigo::find_zone(zones[sys]);
    REQUIRE(zone.ok());
    const tigo::Timestamp at{std::chrono::seconds{static_cast<long long>(ts.value)}};
    const auto local = tigo::format_local(tigo::utc_to_local(at, *zone));
    for (const auto& [family, param] : std::vector<std::pair<std::string, std::string>>{
             {"tigo_panel_power_watts", "Pin"},
             {"tigo_panel_input_voltage_volts", "Vin"},
             {"tigo_panel_input_current_amperes", "Iin"}}) {
      const auto exported = std::find_if(samples.begin(), samples.end(), [&](const Sample& s) {
        return s.name == family && s.labels == ts.labels;
      });
      if (exported == samples.end()) continue;
      const auto body =
          sim.get("data/aggregate?system_id=" + sys + "&start=" + local + "&end=" + local +
                  "&level=min&header=id&param=" + param + "&object_ids=" + obj);
      auto table = tigo::parse_csv(body);
      REQUIRE(table.ok());
      const auto* col = table->column(obj);
      INFO(family << " " << sys << "/" << obj << " at " << local << ": " << body);
      REQUIRE(col != nullptr);
      REQUIRE(col->newest.has_value());
      // Columns fill unevenly: a param's newest cell may sit a minute or two before Pin's.
      if (tigo::local_to_utc(col->newest->time, *zone) != at) continue;
      CHECK(exported->value == col->newest->value);
      ++compared;
    }
  }
  CHECK(compared >= 6);

  // The whole output is valid exposition text (lint advice on names aside).
  const auto file = r.dir.file("metrics.txt", text);
  auto [code, out] =
      testing::run_to_completion({"/bin/sh", "-c", "promtool check metrics < " + file}, 30s);
  INFO(out);
  CHECK((code == 0 || code == 3));
  CHECK(out.find("error") == std::string::npos);
}

TEST_CASE("faults from the API never crash or hang the exporter and show in self-metrics") {
  Running r(
      {"--systems", "4", "--seed", "2", "--rate-limit", "100000", "--token-ttl", "20s", "--faults",
       "error_rate=0.1,malformed=0.05,truncated=0.03,drop_connection=0.03,"
       "expired_token=0.03,burst_429=0.01,latency=20ms"},
      {"--tigo.rate-limit", "100000", "--tigo.timeout", "5s", "--refresh.panels-interval", "3s",
       "--refresh.sources-interval", "3s", "--refresh.summary-interval", "3s",
       "--refresh.layout-interval", "20s", "--refresh.alerts-interval", "5s"});
  // Seed 2: system 1003's gateway stalled months ago (no recent readings); of the others, one may
  // be in the hour after sunrise with no readings yet, whatever the time of day.
  const auto samples = r.wait_for(
      [](const std::vector<Sample>& s) {
        return systems_with(s, "tigo_panel_power_watts").size() >= 2 &&
               sum_of(s, "tigo_refresh_success") > 0;
      },
      120s);
  const auto with_panels = systems_with(samples, "tigo_panel_power_watts");
  REQUIRE(with_panels.size() >= 2);
  // Keep it under fire for a while, scraping all along: every scrape must answer.
  int scrapes = 0, answered = 0;
  for (auto until = std::chrono::steady_clock::now() + 25s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(500ms)) {
    ++scrapes;
    if (!r.metrics().empty()) ++answered;
  }
  CHECK(answered == scrapes);
  const auto after = testing::parse_exposition(r.metrics());
  INFO(r.exporter->log().substr(0, 3000));
  CHECK(r.exporter->wait_exit(0ms) == std::nullopt);  // still running
  // Failures are counted, not hidden.
  double failed_calls = 0;
  for (const auto& s : after)
    if (s.name == "tigo_api_requests_total" && s.labels.at("code") != "200")
      failed_calls += s.value;
  CHECK(failed_calls > 0);
  CHECK(sum_of(after, "tigo_api_logins_total", {{"result", "success"}}) >= 2);  // re-logins
  // The last good values are still served: no system lost its panels under fire.
  const auto still = systems_with(after, "tigo_panel_power_watts");
  CHECK(std::includes(still.begin(), still.end(), with_panels.begin(), with_panels.end()));
  // 1003's gateway stalled months ago: no current power from its frozen summary. The others' is
  // served while their summaries are confirmed: under one failure in four a system's summary may
  // miss its limit for a moment (a loaded machine makes that likelier), so a few seconds are given.
  const std::set<std::string> with_summary_power{"1001", "1002", "1004"};
  auto powered = systems_with(after, "tigo_system_dc_power_watts");
  for (int i = 0; i < 40 && powered != with_summary_power; ++i) {
    CHECK(powered.count("1003") == 0);
    std::this_thread::sleep_for(500ms);
    powered = systems_with(testing::parse_exposition(r.metrics()), "tigo_system_dc_power_watts");
  }
  CHECK(powered == with_summary_power);
  // And the simulator did inject them.
  httplib::Client sim(r.api.substr(0, r.api.find("/api/v3/")));
  auto stats = sim.Get("/sim/stats");
  REQUIRE(stats);
  CHECK(stats->body.find("\"faults_total\":0") == std::string::npos);
  // A clean stop after all that.
  CHECK(r.exporter->stop() == 0);
}

TEST_CASE("a flaky API: 20 systems ready within a minute at 100 requests a minute") {
  // One answer in five fails (5xx, broken body, dropped connection), each takes about 300 ms; the
  // rate limits are the defaults. Readiness waits for each system's objects and summary tried,
  // not for them to succeed.
  Running r({"--systems", "20", "--faults",
             "error_rate=0.1,latency=300ms,malformed=0.05,drop_connection=0.05"},
            {});
  const auto started = std::chrono::steady_clock::now();
  int status = 0;
  while (std::chrono::steady_clock::now() - started < 60s && status != 200) {
    status = r.ready_status();
    if (status != 200) std::this_thread::sleep_for(500ms);
  }
  INFO(r.exporter->log().substr(0, 3000));
  CHECK(status == 200);
  // Ready with most of the fleet served (one call in five fails: the rest follow on retries).
  const auto samples = testing::parse_exposition(r.metrics());
  CHECK(systems_with(samples, "tigo_object_info").size() >= 10);
  CHECK(systems_with(samples, "tigo_system_dc_power_watts").size() >= 8);
  double failed_calls = 0;
  for (const auto& s : samples)
    if (s.name == "tigo_api_requests_total" && s.labels.at("code") != "200")
      failed_calls += s.value;
  CHECK(failed_calls > 0);
}

TEST_CASE("a refused password: one login attempt, one error line naming the user") {
  // The simulator knows demo with another password than the exporter's.
  Running r({"--systems", "2", "--users", "demo:the-sim-pw"}, {}, "exporter-wrong-pw");
  std::this_thread::sleep_for(15s);
  const auto samples = testing::parse_exposition(r.metrics());
  const auto log = r.exporter->log();
  INFO(log.substr(0, 3000));
  const double refused = sum_of(samples, "tigo_api_logins_total", {{"result", "failure"}});
  CHECK(refused >= 1);
  CHECK(refused <= 2);
  httplib::Client sim(r.api.substr(0, r.api.find("/api/v3/")));
  auto stats = sim.Get("/sim/stats");
  REQUIRE(stats);
  INFO(stats->body);
  CHECK(stats->body.find("\"users/login\":{\"401\":1}") != std::string::npos);
  std::size_t errors = 0;
  for (std::size_t at = log.find("Tigo refused the login"); at != std::string::npos;
       at = log.find("Tigo refused the login", at + 1)) {
    const auto begin = log.rfind('\n', at) + 1;
    const auto line = log.substr(begin, log.find('\n', at) - begin);
    CHECK(line.find("level=error") != std::string::npos);
    CHECK(line.find("user=demo") != std::string::npos);
    ++errors;
  }
  CHECK(errors == 1);
  CHECK(log.find("exporter-wrong-pw") == std::string::npos);
  CHECK(r.ready_status() == 503);  // nothing listed: not ready, yet alive
  CHECK(r.exporter->stop() == 0);
}

TEST_CASE("an account without the API subscription becomes ready") {
  Running r({"--systems", "3", "--users", "demo:demo:basic"}, {});
  int status = 0;
  for (auto until = std::chrono::steady_clock::now() + 60s;
       std::chrono::steady_clock::now() < until && status != 200;
       std::this_thread::sleep_for(500ms))
    status = r.ready_status();
  INFO(r.exporter->log().substr(0, 3000));
  CHECK(status == 200);
  const auto samples = testing::parse_exposition(r.metrics());
  CHECK(systems_with(samples, "tigo_system_info").size() == 3);
  CHECK(r.exporter->stop() == 0);
}

TEST_CASE("a 30-a-minute account: the budget holds, no 429 at all") {
  Running r({"--systems", "50", "--seed", "4", "--rate-limit", "30", "--speed", "10"}, {});
  std::this_thread::sleep_for(150s);
  const auto samples = testing::parse_exposition(r.metrics());
  INFO(r.exporter->log().substr(0, 3000));
  const double calls = sum_of(samples, "tigo_api_requests_total");
  CHECK(calls >= 40);  // it did work: about 30 a minute
  CHECK(calls <= 30 * 3 + 4);
  CHECK(sum_of(samples, "tigo_api_requests_total", {{"code", "429"}}) == 0);
  // Planning shows the stretch it holds.
  double panels_interval = 0;
  for (const auto& s : samples)
    if (s.name == "tigo_refresh_interval_seconds" && s.labels.at("dataset") == "panels")
      panels_interval = s.value;
  CHECK(panels_interval > 60);
  httplib::Client sim(r.api.substr(0, r.api.find("/api/v3/")));
  auto stats = sim.Get("/sim/stats");
  REQUIRE(stats);
  INFO(stats->body);
  CHECK(stats->body.find("\"429\"") == std::string::npos);
}

TEST_CASE("three shards export disjoint systems whose union is the fleet, within their shares") {
  TempDir dir;
  Process sim({TIGO_SIM_BIN, "--listen", "127.0.0.1:0", "--systems", "9", "--seed", "5",
               "--rate-limit", "60"},
              dir.path() + "/sim.log");
  const auto api = sim.wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
  REQUIRE(api.has_value());
  const auto pw = dir.file("password", "demo\n");
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Process>> shards;
  std::vector<std::string> addresses;
  for (int i = 0; i < 3; ++i) {
    shards.push_back(std::make_unique<Process>(
        std::vector<std::string>{TIGO_EXPORTER_BIN, "--tigo.api-url", *api, "--tigo.username",
                                 "demo", "--tigo.password-file", pw, "--web.listen-address",
                                 "127.0.0.1:0", "--shard.count", "3", "--shard.index",
                                 std::to_string(i), "--tigo.rate-limit", "20"},
        dir.path() + "/exporter" + std::to_string(i) + ".log"));
    const auto a = shards.back()->wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
    REQUIRE(a.has_value());
    addresses.push_back(*a);
  }
  std::set<std::string> all;
  std::vector<std::vector<Sample>> scraped(3);
  // 20 requests a minute each: the first round (list, types, 3 systems) takes a minute or two.
  for (int attempt = 0; attempt < 360; ++attempt) {
    all.clear();
    bool ready = true;
    for (int i = 0; i < 3; ++i) {
      httplib::Client c("http://" + addresses[static_cast<std::size_t>(i)]);
      auto r = c.Get("/metrics");
      scraped[static_cast<std::size_t>(i)] = testing::parse_exposition(r ? r->body : "");
      // Every system's summary (1005's gateway stalled: a summary, but no current power).
      const auto ids = systems_with(scraped[static_cast<std::size_t>(i)],
                                    "tigo_system_summary_updated_timestamp_seconds");
      ready = ready && ids.size() == 3;
      for (const auto& id : ids) {
        CHECK(std::stoi(id) % 3 == i);  // only its own systems
        all.insert(id);
      }
    }
    if (ready && all.size() == 9) break;
    std::this_thread::sleep_for(500ms);
  }
  CHECK(all.size() == 9);  // disjoint (checked per id above) and together the whole fleet
  // Its share: 20 a minute over the time it ran (the first minute's budget may be spent at once).
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 60.0;
  INFO("ran " << minutes << " minutes");
  for (const auto& samples : scraped) {
    CHECK(sum_of(samples, "tigo_api_requests_total", {{"code", "429"}}) == 0);
    CHECK(sum_of(samples, "tigo_api_requests_total") <= 20 * (minutes + 1) + 2);
  }
}
