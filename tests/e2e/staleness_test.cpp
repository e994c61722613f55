// The staleness rule end to end (docs/METRICS.md "Staleness"): tigo_sim and tigo_exporter as
// processes. A stalled gateway's frozen summary is no current value; an outage drops what the
// exporter cannot confirm, keeps the structure, and recovers; a pinned simulator is current to an
// exporter on its clock (--debug.time).
#include <httplib.h>
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "support/exposition.hpp"
#include "support/process.hpp"
#include "support/sim_api.hpp"
#include "util/time.hpp"

using namespace std::chrono_literals;
using testing::Process;
using testing::Sample;
using testing::TempDir;

namespace {

using Samples = std::vector<Sample>;

std::string scrape(const std::string& address) {
  httplib::Client c("http://" + address);
  c.set_read_timeout(10);
  auto r = c.Get("/metrics");
  return r && r->status == 200 ? r->body : std::string{};
}

// Scrapes until `done` holds, or the time runs out; returns the last scrape.
Samples wait_for(const std::string& address, const std::function<bool(const Samples&)>& done,
                 std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  Samples samples;
  while (std::chrono::steady_clock::now() < until) {
    samples = testing::parse_exposition(scrape(address));
    if (done(samples)) break;
    std::this_thread::sleep_for(500ms);
  }
  return samples;
}

std::vector<const Sample*> of(const Samples& samples, const std::string& name,
                              const std::string& system_id = {}) {
  std::vector<const Sample*> out;
  for (const auto& s : samples)
    if (s.name == name && (system_id.empty() || s.labels.at("system_id") == system_id))
      out.push_back(&s);
  return out;
}

std::set<std::string> systems_with(const Samples& samples, const std::string& name) {
  std::set<std::string> out;
  for (const auto* s : of(samples, name)) out.insert(s->labels.at("system_id"));
  return out;
}

double sum_of(const Samples& samples, const std::string& name) {
  double total = 0;
  for (const auto* s : of(samples, name)) total += s->value;
  return total;
}

// The simulator's ground truth: GET /sim/faults, the systems whose gateway stalled.
std::set<std::string> stalled_systems(const std::string& api) {
  httplib::Client c(api.substr(0, api.find("/api/v3/")));
  auto r = c.Get("/sim/faults");
  REQUIRE(r);
  simdjson::dom::parser parser;
  std::set<std::string> out;
  for (auto s : parser.parse(r->body)["systems"].get_array()) {
    if (std::string_view(s["fault"].get_string()) == "gateway_stall" && s["active"].get_bool())
      out.insert(std::to_string(s["system_id"].get_int64().value()));
  }
  return out;
}

struct Started {
  std::string api;      // http://127.0.0.1:P/api/v3/
  std::string address;  // the exporter's host:port
};

std::unique_ptr<Process> start_sim(const TempDir& dir, const std::string& listen,
                                   std::vector<std::string> args, const std::string& log,
                                   std::string& api) {
  args.insert(args.begin(), {TIGO_SIM_BIN, "--listen", listen});
  auto sim = std::make_unique<Process>(args, dir.path() + "/" + log);
  auto url = sim->wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
  REQUIRE(url.has_value());
  api = *url;
  return sim;
}

std::unique_ptr<Process> start_exporter(const TempDir& dir, const std::string& api,
                                        std::vector<std::string> args, std::string& address) {
  const auto pw = dir.file("password", "demo\n");
  args.insert(args.begin(), {TIGO_EXPORTER_BIN, "--tigo.api-url", api, "--tigo.username", "demo",
                             "--tigo.password-file", pw, "--web.listen-address", "127.0.0.1:0",
                             "--tigo.rate-limit", "100000"});
  auto exporter = std::make_unique<Process>(args, dir.path() + "/exporter.log");
  auto addr = exporter->wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
  REQUIRE(addr.has_value());
  address = *addr;
  return exporter;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE(
    "staleness: a stalled gateway's frozen summary is no power and no energy of today or "
    "this year, and the fleet's sums leave it out") {
  TempDir dir;
  std::string api, address;
  auto sim =
      start_sim(dir, "127.0.0.1:0", {"--systems", "3", "--seed", "13", "--rate-limit", "100000"},
                "sim.log", api);
  // Seed 13: system 1002's gateway stopped checking in on 2025-07-09 (the example).
  const auto stalled = stalled_systems(api);
  REQUIRE(stalled == std::set<std::string>{"1002"});
  auto exporter =
      start_exporter(dir, api,
                     {"--refresh.panels-interval", "3s", "--refresh.sources-interval", "3s",
                      "--refresh.summary-interval", "3s", "--refresh.combined-interval", "3s"},
                     address);
  const auto samples = wait_for(
      address,
      [](const Samples& s) {
        return systems_with(s, "tigo_system_summary_updated_timestamp_seconds").size() == 3 &&
               systems_with(s, "tigo_panel_reporting").size() == 3 &&
               systems_with(s, "tigo_gateway_info").size() == 3;
      },
      60s);
  INFO(exporter->log().substr(0, 3000));
  REQUIRE(systems_with(samples, "tigo_system_summary_updated_timestamp_seconds").size() == 3);

  // Tigo still answers for 1002, with the summary of the day its gateway stopped.
  const auto updated = of(samples, "tigo_system_summary_updated_timestamp_seconds", "1002");
  REQUIRE(updated.size() == 1);
  CHECK(updated[0]->value < unix_now() - 86400 * 30);
  testing::SimApi direct(api);
  const auto frozen = direct.get("data/summary?system_id=1002");
  INFO("the simulator's summary of 1002: " << frozen);
  CHECK(frozen.find("\"last_power_dc\":0,") == std::string::npos);  // frozen at some power
  // None of it is served as current: no power, no energy of today or this year.
  const std::set<std::string> healthy{"1001", "1003"};
  CHECK(systems_with(samples, "tigo_system_dc_power_watts") == healthy);
  CHECK(systems_with(samples, "tigo_system_dc_energy_today_joules") == healthy);
  CHECK(systems_with(samples, "tigo_system_dc_energy_year_joules") == healthy);
  // What stays true: the lifetime counter as of updated_on, and the gateway's last check-in.
  CHECK(of(samples, "tigo_system_dc_energy_joules_total", "1002").size() == 1);
  const auto checkin = of(samples, "tigo_gateway_last_checkin_timestamp_seconds", "1002");
  REQUIRE(checkin.size() == 1);
  CHECK(checkin[0]->value < unix_now() - 86400 * 30);
  // Its panels do not report, and have no readings to show.
  const auto reporting = of(samples, "tigo_panel_reporting", "1002");
  CHECK(reporting.size() > 10);
  for (const auto* r : reporting) CHECK(r->value == 0);
  CHECK(of(samples, "tigo_panel_power_watts", "1002").empty());

  // The fleet dashboard's "Power now" and "Energy today" (sum over systems): the healthy ones'.
  double healthy_power = 0, healthy_today = 0;
  for (const auto& id : healthy) {
    healthy_power += of(samples, "tigo_system_dc_power_watts", id).at(0)->value;
    healthy_today += of(samples, "tigo_system_dc_energy_today_joules", id).at(0)->value;
  }
  CHECK(sum_of(samples, "tigo_system_dc_power_watts") == healthy_power);
  CHECK(sum_of(samples, "tigo_system_dc_energy_today_joules") == healthy_today);
  CHECK(exporter->stop() == 0);
}

TEST_CASE(
    "staleness: an outage drops what cannot be confirmed after the limit, keeps the "
    "structure, and everything returns with the API") {
  TempDir dir;
  const std::string listen = "127.0.0.1:" + std::to_string(testing::free_loopback_port());
  // Every system in daylight whatever the hour of the run (at night summaries and gateways are
  // asked for every 30 and 60 minutes, and judged by that): Berlin at noon, clocks running.
  const auto start = *util::parse_iso8601("2026-06-21T10:00:00Z");
  const auto sim_args = [](std::chrono::sys_seconds at) {
    return std::vector<std::string>{"--systems",    "6",
                                    "--seed",       "1",
                                    "--zones",      "Europe/Berlin",
                                    "--rate-limit", "100000",
                                    "--time",       util::format_iso8601_utc(at),
                                    "--speed",      "1"};
  };
  std::string api, address;
  const auto sim_started = std::chrono::steady_clock::now();
  auto sim = start_sim(dir, listen, sim_args(start), "sim.log", api);
  // Measured data: limit 10 s (its intervals are shorter). Structure: 3 x 20 s = 60 s.
  auto exporter = start_exporter(dir, api,
                                 {"--debug.time",
                                  util::format_iso8601_utc(start),
                                  "--debug.speed",
                                  "1",
                                  "--refresh.max-staleness",
                                  "10s",
                                  "--refresh.panels-interval",
                                  "2s",
                                  "--refresh.sources-interval",
                                  "2s",
                                  "--refresh.summary-interval",
                                  "2s",
                                  "--refresh.combined-interval",
                                  "2s",
                                  "--refresh.alerts-interval",
                                  "2s",
                                  "--refresh.layout-interval",
                                  "20s",
                                  "--tigo.timeout",
                                  "3s"},
                                 address);
  INFO(exporter->log().substr(0, 4000));

  // Every scrape: tigo_refresh_last_success_timestamp_seconds never goes back.
  std::map<std::pair<std::string, std::string>, double> last_success;
  int went_back = 0;
  const auto watch = [&](const Samples& s) {
    for (const auto* x : of(s, "tigo_refresh_last_success_timestamp_seconds")) {
      auto& seen = last_success[{x->labels.at("system_id"), x->labels.at("dataset")}];
      if (x->value < seen) ++went_back;
      seen = std::max(seen, x->value);
    }
  };
  const auto measured = [](const Samples& s) {
    return sum_of(s, "tigo_panel_reporting") > 0 && !of(s, "tigo_panel_power_watts").empty() &&
           !of(s, "tigo_system_dc_power_watts").empty() && !of(s, "tigo_gateway_info").empty();
  };
  auto before = wait_for(
      address,
      [&](const Samples& s) {
        watch(s);
        return measured(s) && systems_with(s, "tigo_panel_info").size() == 6 &&
               systems_with(s, "tigo_system_dc_power_watts").size() >= 4;
      },
      60s);
  REQUIRE(measured(before));
  REQUIRE(systems_with(before, "tigo_panel_info").size() == 6);
  const auto structure = [](const Samples& s) {
    return std::vector<std::size_t>{
        of(s, "tigo_system_info").size(), of(s, "tigo_object_info").size(),
        of(s, "tigo_panel_info").size(), of(s, "tigo_panel_reporting").size()};
  };
  const auto shape = structure(before);
  const auto powered = systems_with(before, "tigo_system_dc_power_watts");

  // The API goes away for 25 s.
  REQUIRE(sim->stop() == 0);
  const auto stopped = std::chrono::steady_clock::now();
  double gone_s = -1;  // seconds into the outage when the measured data went, and stayed, gone
  bool structure_kept = true;
  int failed_but_kept = 0;  // scrapes showing failed refreshes, with the values still there
  while (std::chrono::steady_clock::now() - stopped < 25s) {
    const auto s = testing::parse_exposition(scrape(address));
    watch(s);
    structure_kept = structure_kept && structure(s) == shape;
    bool failing = false;
    for (const auto* x : of(s, "tigo_refresh_success")) failing = failing || x->value == 0;
    if (failing && measured(s)) ++failed_but_kept;
    const bool all_gone = sum_of(s, "tigo_panel_reporting") == 0 &&
                          of(s, "tigo_panel_power_watts").empty() &&
                          of(s, "tigo_system_dc_power_watts").empty() &&
                          of(s, "tigo_gateway_info").empty() && of(s, "tigo_system_alerts").empty();
    if (all_gone && gone_s < 0)
      gone_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
    if (!all_gone) gone_s = -1;  // must stay gone
    std::this_thread::sleep_for(500ms);
  }
  REQUIRE(gone_s >= 0);
  WARN("measured data gone " << gone_s << " s into the outage (limit 10 s)");
  // A failed refresh drops nothing by itself: the values outlive the first failures...
  CHECK(failed_but_kept > 0);
  CHECK(gone_s >= 3);
  // ...and go once their last confirmation (a few seconds before the stop) passes the limit.
  CHECK(gone_s <= 22);    // the limit, a refresh interval, the 10 s re-judging
  CHECK(structure_kept);  // hierarchy, layout and system info: limit 60 s

  // Back on the same port, at the simulated instant the first one would be at: everything
  // returns within an interval or so.
  const auto sim_now = start + std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::steady_clock::now() - sim_started);
  const double back_at = static_cast<double>(sim_now.time_since_epoch().count());
  sim = start_sim(dir, listen, sim_args(sim_now), "sim2.log", api);
  const auto restarted = std::chrono::steady_clock::now();
  const auto after = wait_for(
      address,
      [&](const Samples& s) {
        watch(s);
        return measured(s) && systems_with(s, "tigo_system_dc_power_watts") == powered;
      },
      30s);
  const auto back_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count();
  WARN("everything back " << back_s << " s after the API (intervals 2 s)");
  CHECK(measured(after));
  CHECK(systems_with(after, "tigo_system_dc_power_watts") == powered);
  CHECK(structure(after) == shape);
  CHECK(back_s <= 10);
  // The last success is when an answer came: after the API was back, never inside the outage.
  for (const auto* x : of(after, "tigo_refresh_last_success_timestamp_seconds"))
    if (x->labels.at("dataset") == "sources" || x->labels.at("dataset") == "summary") {
      INFO(x->labels.at("system_id") << " " << x->labels.at("dataset"));
      CHECK(x->value >= std::floor(back_at));
    }
  CHECK(went_back == 0);
  CHECK(exporter->stop() == 0);
}

TEST_CASE("staleness: with --debug.time on a pinned simulator's instant, panels are current") {
  TempDir dir;
  std::string api, address;
  // A fixed instant, long past: by the system clock all of it would be stale.
  const std::string at = "2026-06-21T20:00:00Z";
  auto sim = start_sim(dir, "127.0.0.1:0",
                       {"--systems", "6", "--seed", "1", "--rate-limit", "100000", "--time", at},
                       "sim.log", api);
  auto exporter =
      start_exporter(dir, api,
                     {"--debug.time", at, "--refresh.panels-interval", "3s",
                      "--refresh.sources-interval", "3s", "--refresh.combined-interval", "3s"},
                     address);
  const auto samples = wait_for(
      address,
      [](const Samples& s) {
        return systems_with(s, "tigo_panel_power_watts").size() >= 4 &&
               sum_of(s, "tigo_panel_reporting") > 0 &&
               systems_with(s, "tigo_system_dc_power_watts").size() >= 5;
      },
      60s);
  INFO(exporter->log().substr(0, 3000));
  CHECK(systems_with(samples, "tigo_panel_power_watts").size() >= 4);
  CHECK(sum_of(samples, "tigo_panel_reporting") > 0);
  // All but the stalled gateway's system (1002) have current power at that instant.
  CHECK(systems_with(samples, "tigo_system_dc_power_watts") ==
        std::set<std::string>{"1001", "1003", "1004", "1005", "1006"});
  // The exporter's now is the simulator's: its refreshes are stamped with the pinned instant.
  const auto stamps = of(samples, "tigo_refresh_last_success_timestamp_seconds");
  REQUIRE_FALSE(stamps.empty());
  for (const auto* s : stamps) CHECK(s->value == 1782072000);  // 2026-06-21T20:00:00Z
  CHECK(exporter->stop() == 0);
}
