// The backfill against the simulator in-process over HTTP: values equal to the simulator's CSV
// cells at the right UTC instant (DST included), the same series as /metrics, the rate limit held.
#include "backfill/backfill.hpp"

#include <simdjson.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "../sim/sim_fixture.hpp"
#include "../support/openmetrics.hpp"
#include "backfill_fixture.hpp"
#include "metrics/collector.hpp"
#include "metrics/family_table.hpp"
#include "tigo/json_parse.hpp"
#include "util/time.hpp"

using namespace std::chrono;
using backfilltest::TempDir;
using simtest::RunningSim;

namespace {

sys_seconds utc(const char* iso) { return *util::parse_iso8601(iso); }

sim::ServerOptions generous() {
  sim::ServerOptions o;
  o.rate_limit = 100000;
  return o;
}

struct Result {
  backfill::Outcome outcome;
  std::string text;
  testing::om::File file;
  // name|system_id|object_id|timestamp -> value
  std::map<std::string, double> index;

  std::optional<double> value(const std::string& name, std::int64_t system, std::int64_t object,
                              sys_seconds at) const {
    const auto it =
        index.find(key(name, std::to_string(system), object ? std::to_string(object) : "",
                       at.time_since_epoch().count()));
    if (it == index.end()) return std::nullopt;
    return it->second;
  }
  static std::string key(const std::string& name, const std::string& system,
                         const std::string& object, std::int64_t ts) {
    return name + "|" + system + "|" + object + "|" + std::to_string(ts);
  }
};

std::unique_ptr<tigo::Client> client_for(RunningSim& sim,
                                         tigo::Credentials c = {"demo", "demo", ""}) {
  tigo::ClientOptions o;
  o.base_url = sim.server.base_url();
  o.credentials = std::move(c);
  o.timeout = seconds{10};
  o.rate_limit = 100000;
  auto made = tigo::Client::create(o);
  REQUIRE(made.ok());
  return std::move(*made);
}

Result run(tigo::Client& client, sys_seconds from, sys_seconds to,
           std::vector<std::int64_t> only = {}) {
  TempDir dir;
  backfill::Options o;
  o.from = from;
  o.to = to;
  o.output = dir.path + "/out.om";
  o.systems.only = std::move(only);
  Result r;
  r.outcome = backfill::run(client, o);
  if (!r.outcome.written) return r;
  r.text = backfilltest::slurp(o.output);
  r.file = testing::om::parse(r.text);
  for (const auto& s : r.file.samples) {
    const auto obj = s.labels.count("object_id") ? s.labels.at("object_id") : "";
    r.index[Result::key(s.name, s.labels.at("system_id"), obj, s.timestamp)] = s.value;
  }
  return r;
}

// "2026/06/20 12:00:00" of the site's wall clock.
std::string stamp(tigo::LocalTime t) { return date::format("%Y/%m/%d %H:%M:%S", t); }

std::string local_day_query(tigo::LocalTime day) {
  return "&start=" + date::format("%FT00:00:00", day) + "&end=" + date::format("%FT23:59:59", day);
}

std::vector<tigo::Object> objects_of(RunningSim& sim, std::int64_t system_id) {
  auto parsed =
      tigo::parse_objects(sim.ok("objects/system?system_id=" + std::to_string(system_id)));
  REQUIRE(parsed.ok());
  return *parsed;
}

// Every panel cell of the simulator's data/aggregate row at site-local `local` (and the system's
// combined minute) is in the backfill at the matching UTC instant. Returns the cells compared.
int compare_minute(RunningSim& sim, const Result& r, std::int64_t system_id,
                   const date::time_zone& zone, tigo::LocalTime local) {
  const sys_seconds at = tigo::local_to_utc(local, &zone);
  std::map<std::string, tigo::Object> panels;
  for (const auto& o : objects_of(sim, system_id))
    if (o.object_type_id == tigo::object_type::kPanel) panels[std::to_string(o.id)] = o;
  int compared = 0;
  const std::pair<const char*, const char*> params[] = {{"Pin", "tigo_panel_power_watts"},
                                                        {"Vin", "tigo_panel_input_voltage_volts"},
                                                        {"Iin", "tigo_panel_input_current_amperes"},
                                                        {"RSSI", "tigo_panel_rssi"}};
  for (const auto& [param, family] : params) {
    const auto csv = simtest::parse_csv(sim.ok(
        "data/aggregate?system_id=" + std::to_string(system_id) + "&level=min&param=" + param +
        "&header=id" + local_day_query(date::floor<date::days>(local))));
    for (const auto& row : csv.rows) {
      if (row.empty() || row[0].rfind(stamp(local), 0) != 0) continue;
      for (std::size_t c = 1; c < row.size() && c < csv.header.size(); ++c) {
        if (row[c].empty() || !panels.count(csv.header[c])) continue;
        INFO(family << " system " << system_id << " panel " << csv.header[c] << " at "
                    << stamp(local));
        const auto got = r.value(family, system_id, std::stoll(csv.header[c]), at);
        REQUIRE(got.has_value());
        CHECK(*got == std::stod(row[c]));
        ++compared;
      }
    }
  }
  // The panel label is the object's, as in /metrics.
  for (const auto& s : r.file.samples) {
    if (s.name == "tigo_panel_power_watts" && s.labels.at("system_id") == std::to_string(system_id))
      CHECK(s.labels.at("panel") == panels.at(s.labels.at("object_id")).label);
  }
  // An hour around the minute: data/combined refuses more than a day, and some days last 25 h.
  const auto combined = simtest::parse_csv(
      sim.ok("data/combined?system_id=" + std::to_string(system_id) +
             "&level=minute&start=" + date::format("%FT%T", local - minutes{30}) +
             "&end=" + date::format("%FT%T", local + minutes{30})));
  for (const auto& row : combined.rows) {
    if (row.size() < 2 || row[0].rfind(stamp(local), 0) != 0) continue;
    INFO("system power " << system_id << " at " << stamp(local));
    const auto got = r.value("tigo_system_dc_power_watts", system_id, 0, at);
    REQUIRE(got.has_value());
    CHECK(*got == std::stod(row[1]));
    ++compared;
  }
  return compared;
}

}  // namespace

TEST_CASE("backfill: each panel's minute is the simulator's CSV cell at its UTC instant",
          "[backfill]") {
  RunningSim sim(generous(), 3, simtest::at_utc(2026, 6, 21, 18), 6);
  auto client = client_for(sim);
  const auto r = run(*client, utc("2026-06-20T00:00:00Z"), utc("2026-06-21T00:00:00Z"));
  REQUIRE(r.outcome.written);
  CHECK(r.outcome.all_ok());
  INFO(r.file.problems.size() << " problems, first: "
                              << (r.file.problems.empty() ? "" : r.file.problems.front()));
  CHECK(r.file.problems.empty());
  CHECK(r.outcome.samples == r.file.samples.size());
  REQUIRE(r.outcome.systems.size() == 3);

  int compared = 0;
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto spec = sim.fleet.system(i);
    const auto* zone = tigo::find_zone(spec.timezone).value();
    // Local noon of 2026-06-20 at the site, and a minute of its afternoon.
    const tigo::LocalTime noon{date::local_days{date::year{2026} / 6 / 20} + hours{12}};
    compared += compare_minute(sim, r, spec.system_id, *zone, noon);
    compared += compare_minute(sim, r, spec.system_id, *zone, noon + hours{3} + minutes{7});
  }
  CHECK(compared > 50);  // systems with daylight data (one of the three has a stalled gateway)
  // Nothing outside [from, to).
  for (const auto& s : r.file.samples) {
    CHECK(s.timestamp >= utc("2026-06-20T00:00:00Z").time_since_epoch().count());
    CHECK(s.timestamp < utc("2026-06-21T00:00:00Z").time_since_epoch().count());
  }
}

TEST_CASE("backfill: the families and label names are those /metrics serves", "[backfill]") {
  RunningSim sim(generous(), 1, simtest::at_utc(2026, 6, 21, 18), 4);
  auto client = client_for(sim);
  const auto r = run(*client, utc("2026-06-20T06:00:00Z"), utc("2026-06-20T12:00:00Z"));
  REQUIRE(r.outcome.written);
  REQUIRE(r.file.problems.empty());

  // A snapshot with one of everything, rendered by the collector.
  refresh::Snapshot snap;
  refresh::SystemEntry e;
  e.system.system_id = 1001;
  e.summary = tigo::Summary{1.0, 1.0, 1.0, 1.0, std::nullopt};
  refresh::Panel p;
  p.object_id = 7;
  for (auto param : {tigo::PanelParam::power, tigo::PanelParam::voltage, tigo::PanelParam::current,
                     tigo::PanelParam::rssi})
    p.readings[param] = refresh::Reading{1, {}};
  e.panels.push_back(p);
  e.object_readings.push_back({8, "System", "S", 1.0, 1.0});
  snap.systems.push_back(e);
  std::string live;
  metrics::render_fleet(snap, live);
  std::map<std::string, std::set<std::string>> live_labels;
  for (const auto& s : testing::om::parse(live + "# EOF\n").samples) {
    auto& keys = live_labels[s.name];
    for (const auto& [k, v] : s.labels) keys.insert(k);
  }
  std::set<std::string> families;
  for (const auto& s : r.file.samples) {
    families.insert(s.name);
    std::set<std::string> keys;
    for (const auto& [k, v] : s.labels) keys.insert(k);
    INFO(s.name);
    REQUIRE(live_labels.count(s.name));
    CHECK(keys == live_labels.at(s.name));
  }
  CHECK(families ==
        std::set<std::string>{"tigo_system_dc_power_watts", "tigo_system_dc_energy_today_joules",
                              "tigo_panel_power_watts", "tigo_panel_input_voltage_volts",
                              "tigo_panel_input_current_amperes", "tigo_panel_rssi",
                              "tigo_object_power_watts", "tigo_object_energy_today_joules"});
  CHECK(r.file.families ==
        std::vector<std::string>{"tigo_system_dc_power_watts", "tigo_system_dc_energy_today_joules",
                                 "tigo_panel_power_watts", "tigo_panel_input_voltage_volts",
                                 "tigo_panel_input_current_amperes", "tigo_panel_rssi",
                                 "tigo_object_power_watts", "tigo_object_energy_today_joules"});

  // Described as /metrics describes them (one family table), and every row marked backfilled is
  // written (but Temp, which these systems do not answer: a family without samples is left out).
  const auto help_lines = [](const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
      if (l.rfind("# HELP ", 0) == 0) out[l.substr(7, l.find(' ', 7) - 7)] = l;
    return out;
  };
  const auto live_help = help_lines(live), backfill_help = help_lines(r.text);
  std::set<std::string> marked;
  for (const auto& f : metrics::kFamilies)
    if (f.backfilled && f.api_param != tigo::spec(tigo::PanelParam::temperature).api_name)
      marked.insert(std::string(f.name));
  std::set<std::string> written;
  for (const auto& [name, line] : backfill_help) {
    INFO(name);
    written.insert(name);
    REQUIRE(live_help.count(name));
    CHECK(line == live_help.at(name));
  }
  CHECK(written == marked);
}

TEST_CASE("backfill: a DST change in Athens, every minute of the 25-hour day", "[backfill]") {
  // System 1001 is in Europe/Athens: on 2026-10-25 04:00 EEST the clocks go back to 03:00 EET.
  RunningSim sim(generous(), 1, simtest::at_utc(2026, 10, 27, 12), 4);
  REQUIRE(sim.fleet.system(0).timezone == "Europe/Athens");
  auto client = client_for(sim);
  const auto r = run(*client, utc("2026-10-24T00:00:00Z"), utc("2026-10-27T00:00:00Z"), {1001});
  REQUIRE(r.outcome.written);
  CHECK(r.outcome.all_ok());  // a 25-hour day asked in two halves: no "range too large"
  REQUIRE(r.file.problems.empty());
  const auto* athens = tigo::find_zone("Europe/Athens").value();

  // Noon is 09:00Z on summer time and 10:00Z after: the values land where the offsets say.
  int compared = 0;
  for (unsigned day : {24u, 25u, 26u}) {
    const tigo::LocalTime noon{date::local_days{date::year{2026} / 10 / day} + hours{12}};
    compared += compare_minute(sim, r, 1001, *athens, noon);
  }
  CHECK(compared > 10);

  // The system's power has a row every minute, night included: the local day of the 25th is
  // 1500 minutes, from 21:00Z on the 24th to 22:00Z on the 25th, each its own instant.
  std::vector<std::int64_t> minutes;
  for (const auto& s : r.file.samples)
    if (s.name == "tigo_system_dc_power_watts" &&
        s.timestamp >= utc("2026-10-24T21:00:00Z").time_since_epoch().count() &&
        s.timestamp < utc("2026-10-25T22:00:00Z").time_since_epoch().count())
      minutes.push_back(s.timestamp);
  CHECK(minutes.size() == 1500);
  for (std::size_t i = 1; i < minutes.size(); ++i) REQUIRE(minutes[i] - minutes[i - 1] == 60);

  // Energy today at the end of the 25th is the sum of the simulator's hours of that day.
  const auto hours_csv = simtest::parse_csv(sim.ok(
      "data/combined?system_id=1001&level=hour&start=2026-10-25T00:00:00&end=2026-10-25T23:59:59"));
  double wh = 0;
  for (const auto& row : hours_csv.rows) wh += std::stod(row.at(1));
  CHECK(hours_csv.rows.size() == 24);  // wall-clock hours; the 03:00 one lasts two
  const auto total =
      r.value("tigo_system_dc_energy_today_joules", 1001, 0, utc("2026-10-25T21:59:59Z"));
  REQUIRE(total.has_value());
  CHECK(*total == wh * 3600.0);
  CHECK(wh > 0);
}

TEST_CASE("backfill: the governor holds a small limit (no 429), and a stop leaves no file",
          "[backfill]") {
  sim::ServerOptions tight;
  tight.rate_limit = 8;  // a minute; one system-day needs 11 calls with the login
  RunningSim sim(tight, 1, simtest::at_utc(2026, 6, 21, 18), 4);
  auto client = client_for(sim);
  TempDir dir;
  backfill::Options o;
  o.from = utc("2026-06-20T00:00:00Z");
  o.to = utc("2026-06-21T00:00:00Z");
  o.output = dir.path + "/out.om";
  std::stop_source stop;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(seconds{2});
    stop.request_stop();
  });
  const auto t0 = steady_clock::now();
  const auto out = backfill::run(*client, o, stop.get_token());
  CHECK(steady_clock::now() - t0 < seconds{10});  // the stop ended the wait for budget
  CHECK(out.cancelled);
  CHECK_FALSE(out.written);
  CHECK(dir.entries().empty());  // no output, no temp file, no scratch file

  // The budget was used up, never exceeded: the simulator answered no 429.
  simdjson::dom::parser p;
  const std::string stats = sim.server.stats().json("");
  simdjson::dom::element doc;
  REQUIRE(p.parse(stats).get(doc) == simdjson::SUCCESS);
  std::int64_t total = 0;
  REQUIRE(doc["requests_total"].get(total) == simdjson::SUCCESS);
  CHECK(total == 8);
  CHECK(stats.find("\"429\"") == std::string::npos);
  CHECK(client->governor().state().rate_limited == 0);
}

TEST_CASE("backfill: without the data subscription every system fails, nothing loops",
          "[backfill]") {
  sim::ServerOptions basic = generous();
  basic.accounts = {{"cheap", "pw", false, {}}};
  RunningSim sim(basic, 2, simtest::at_utc(2026, 6, 21, 18), 4);
  auto client = client_for(sim, {"cheap", "pw", ""});
  const auto r = run(*client, utc("2026-06-18T00:00:00Z"), utc("2026-06-21T00:00:00Z"));
  REQUIRE(r.outcome.written);  // the file is written with what succeeded: nothing here
  CHECK_FALSE(r.outcome.all_ok());
  REQUIRE(r.outcome.systems.size() == 2);
  for (const auto& s : r.outcome.systems) {
    CHECK_FALSE(s.ok);
    CHECK(s.error.find("402") != std::string::npos);
  }
  CHECK(r.text == "# EOF\n");
  // The first 402 ends the system after its first chunk (whose calls were already in flight),
  // and the client asks the data endpoints nothing more after it.
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  REQUIRE(p.parse(sim.server.stats().json("")).get(doc) == simdjson::SUCCESS);
  std::int64_t data_calls = 0;
  for (const char* endpoint : {"data/aggregate", "data/combined"}) {
    std::int64_t n = 0;
    if (doc["requests"][endpoint]["402"].get(n) == simdjson::SUCCESS) data_calls += n;
  }
  CHECK(data_calls >= 1);
  CHECK(data_calls <= 7);  // one chunk: 5 panel params, combined by minute and by hour
}
