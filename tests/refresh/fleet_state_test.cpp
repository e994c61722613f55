#include "refresh/fleet_state.hpp"

#include <catch2/catch.hpp>

#include "tigo/csv.hpp"
#include "util/time.hpp"

using namespace std::chrono;
using refresh::Dataset;

namespace {

tigo::Object obj(std::int64_t id, std::int64_t parent, std::int64_t type, std::string label) {
  tigo::Object o;
  o.id = id;
  o.parent_id = parent;
  o.object_type_id = type;
  o.label = std::move(label);
  return o;
}

// A system in Los Angeles with one string of three panels (object ids 4, 5, 6).
refresh::FleetState one_system(sys_seconds now) {
  refresh::FleetState f;
  auto& s = f.systems[7];
  s.system.system_id = 7;
  s.system.timezone = "America/Los_Angeles";
  s.zone = *tigo::find_zone("America/Los_Angeles");
  s.objects = std::vector<tigo::Object>{obj(1, -1, 1, "Home"), obj(3, 1, 3, "A"),
                                        obj(4, 3, 2, "A1"), obj(5, 3, 2, "A2"), obj(6, 3, 2, "A3")};
  refresh::update_hierarchy(s, f.object_types);
  for (auto d : {Dataset::system, Dataset::summary, Dataset::objects, Dataset::panels})
    refresh::mark_success(s.state(d), now);
  s.summary = tigo::Summary{};
  f.listed_at = now;
  return f;
}

tigo::CsvTable csv(const std::string& body) {
  auto t = tigo::parse_csv(body);
  REQUIRE(t.ok());
  return *t;
}

}  // namespace

TEST_CASE("aggregate CSV: newest non-empty cell per panel, local time to UTC", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  // Panel 6 (A3) is dead: empty cells. Panel 5's newest value is on an earlier row.
  const auto newest = refresh::apply_aggregate(
      s, tigo::PanelParam::power,
      csv("Datetime,4,5,6\n2026/07/01 12:53:00,300.5,290,\n2026/07/01 12:59:00,301,,\n"));
  REQUIRE(newest.has_value());
  CHECK(*newest == *util::parse_iso8601("2026-07-01T19:59:00Z"));  // PDT = UTC-7
  const auto snap = refresh::build_snapshot(fleet, now, {});
  REQUIRE(snap.systems.size() == 1);
  const auto& panels = snap.systems[0].panels;
  REQUIRE(panels.size() == 3);
  CHECK(panels[0].readings[tigo::PanelParam::power]->value == 301);
  CHECK(panels[0].reporting);
  CHECK(panels[1].readings[tigo::PanelParam::power]->value == 290);
  CHECK(panels[1].readings[tigo::PanelParam::power]->sample ==
        *util::parse_iso8601("2026-07-01T19:53:00Z"));
  CHECK_FALSE(panels[1].reporting);  // six minutes behind its siblings' 12:59
  CHECK_FALSE(panels[2].readings[tigo::PanelParam::power].has_value());
  CHECK_FALSE(panels[2].reporting);
  CHECK(panels[0].string == "A");
}

TEST_CASE("an older answer never replaces a newer reading", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  refresh::apply_aggregate(s, tigo::PanelParam::voltage,
                           csv("Datetime,4\n2026/07/01 12:59:00,35.5\n"));
  refresh::apply_aggregate(s, tigo::PanelParam::voltage,
                           csv("Datetime,4\n2026/07/01 12:30:00,30\n"));
  CHECK(s.panel_values[4][tigo::PanelParam::voltage]->value == 35.5);
}

TEST_CASE("CSV times across the DST change are converted right", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-11-01T20:00:00Z");
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  // 2026-11-01 is the fall-back day in Los Angeles: 10:00 local is PST (UTC-8).
  refresh::apply_aggregate(s, tigo::PanelParam::power,
                           csv("Datetime,4\n2026/11/01 10:00:00,100\n"));
  CHECK(s.panel_values[4][tigo::PanelParam::power]->sample ==
        *util::parse_iso8601("2026-11-01T18:00:00Z"));
  refresh::apply_aggregate(s, tigo::PanelParam::current,
                           csv("Datetime,4\n2026/03/08 10:00:00,5\n"));
  CHECK(s.panel_values[4][tigo::PanelParam::current]->sample ==
        *util::parse_iso8601("2026-03-08T17:00:00Z"));
}

TEST_CASE("stale datasets are dropped from the snapshot, fresh ones kept", "[fleet]") {
  const auto then = *util::parse_iso8601("2026-07-01T10:00:00Z");
  auto fleet = one_system(then);
  auto& s = fleet.systems[7];
  refresh::apply_aggregate(s, tigo::PanelParam::power, csv("Datetime,4\n2026/07/01 02:59:00,10\n"));
  s.summary->last_power_w = 5;
  refresh::mark_failure(s.state(Dataset::panels), "data/aggregate: HTTP 500");
  refresh::mark_failure(s.state(Dataset::summary), "data/summary: HTTP 500");
  refresh::BuildOptions o;
  o.max_staleness = hours{1};
  auto soon = refresh::build_snapshot(fleet, then + minutes{30}, o);
  CHECK(soon.systems[0].panels[0].readings[tigo::PanelParam::power].has_value());  // failing, but
                                                                                   // not stale yet
  CHECK(soon.systems[0].summary.has_value());
  auto late = refresh::build_snapshot(fleet, then + minutes{61}, o);
  CHECK_FALSE(late.systems[0].panels[0].readings[tigo::PanelParam::power].has_value());
  CHECK_FALSE(late.systems[0].summary.has_value());
  CHECK(late.systems[0].panels.size() == 3);  // the hierarchy's last refresh succeeded
  refresh::mark_success(s.state(Dataset::panels), then + minutes{90});
  CHECK(refresh::build_snapshot(fleet, then + hours{5}, o)
            .systems[0]
            .panels[0]
            .readings[tigo::PanelParam::power]);
}

TEST_CASE("panels that leave the layout leave the output", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  refresh::apply_aggregate(s, tigo::PanelParam::power,
                           csv("Datetime,4,5,6\n2026/07/01 12:59:00,1,2,3\n"));
  s.objects->pop_back();  // A3 removed
  refresh::update_hierarchy(s, fleet.object_types);
  const auto snap = refresh::build_snapshot(fleet, now, {});
  CHECK(snap.systems[0].panels.size() == 2);
  CHECK(s.panel_values.count(6) == 0);
}

TEST_CASE("alerts counted per code inside the window, titles from alert types", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  refresh::mark_success(s.state(Dataset::alerts), now);
  fleet.alert_types[12] = tigo::AlertType{1, 12, "Module not reporting", ""};
  auto alert = [](std::int64_t code, const char* at) {
    tigo::Alert a;
    a.unique_id = code;
    a.title = "raw title";
    a.generated = util::parse_iso8601(at);
    return a;
  };
  s.alerts = {alert(12, "2026-07-01T10:00:00Z"), alert(12, "2026-07-01T19:00:00Z"),
              alert(12, "2026-06-29T10:00:00Z"), alert(30, "2026-07-01T11:00:00Z")};
  const auto snap = refresh::build_snapshot(fleet, now, {});
  const auto& alerts = snap.systems[0].alerts;
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].unique_id == "12");
  CHECK(alerts[0].count == 2);
  CHECK(alerts[0].title == "Module not reporting");
  CHECK(alerts[0].last_generated == util::parse_iso8601("2026-07-01T19:00:00Z"));
  CHECK(alerts[1].title == "raw title");
}

TEST_CASE("every known alert code has a count, 0 when none fell in the window", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  fleet.alert_types[12] = tigo::AlertType{1, 12, "Module not reporting", ""};
  fleet.alert_types[420] = tigo::AlertType{2, 420, "PV-Off", ""};
  // Before alerts/system answered there is nothing to count: no series, not zeros.
  CHECK(refresh::build_snapshot(fleet, now, {}).systems[0].alerts.empty());

  refresh::mark_success(s.state(Dataset::alerts), now);
  tigo::Alert old;
  old.unique_id = 12;
  old.generated = util::parse_iso8601("2026-06-20T10:00:00Z");  // outside the 24 h window
  s.alerts = {old};
  const auto snap = refresh::build_snapshot(fleet, now, {});
  const auto& alerts = snap.systems[0].alerts;
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].unique_id == "12");
  CHECK(alerts[0].title == "Module not reporting");
  CHECK(alerts[0].count == 0);
  CHECK_FALSE(alerts[0].last_generated.has_value());  // no timestamp without an alert
  CHECK(alerts[1].unique_id == "420");
  CHECK(alerts[1].title == "PV-Off");
  CHECK(alerts[1].count == 0);
}

TEST_CASE("object energy today only while it is today at the system", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");  // 13:00 PDT
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  refresh::mark_success(s.state(Dataset::combined), now);
  refresh::apply_combined_day(s, csv("DATETIME,1\n2026/07/01 00:00:00.000,12000\n"));
  refresh::apply_combined_minute(s, csv("DATETIME,1,3\n2026/07/01 12:59:00.000,2500,800\n"));
  auto snap = refresh::build_snapshot(fleet, now, {});
  REQUIRE(snap.systems[0].object_readings.size() == 2);
  CHECK(snap.systems[0].object_readings[0].energy_today_wh == 12000);
  CHECK(snap.systems[0].object_readings[0].power_w == 2500);
  CHECK(snap.systems[0].object_readings[1].object_type == "String");
  const auto next_day = refresh::build_snapshot(fleet, now + hours{12}, {});
  CHECK_FALSE(next_day.systems[0].object_readings[0].energy_today_wh.has_value());
}

TEST_CASE("ready once every system's first round was attempted", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  for (auto d : {Dataset::layout, Dataset::sources, Dataset::alerts})
    refresh::mark_success(fleet.systems[7].state(d), now);
  CHECK(refresh::build_snapshot(fleet, now, {}).ready);
  // A system just listed, its first round not yet tried, holds readiness back.
  fleet.systems[8].system.system_id = 8;
  refresh::mark_success(fleet.systems[8].state(Dataset::system), now);
  CHECK_FALSE(refresh::build_snapshot(fleet, now, {}).ready);
  // Tried and failed (say 402, or a summary that always fails): ready, the failure is shown by
  // the dataset's state.
  for (auto d : {Dataset::summary, Dataset::objects, Dataset::layout, Dataset::sources})
    refresh::mark_failure(fleet.systems[8].state(d), "data/summary: HTTP 500");
  CHECK_FALSE(refresh::build_snapshot(fleet, now, {}).ready);
  refresh::mark_failure(fleet.systems[8].state(Dataset::alerts), "alerts/system: HTTP 500");
  const auto snap = refresh::build_snapshot(fleet, now, {});
  CHECK(snap.ready);
  REQUIRE(snap.systems.size() == 2);
  CHECK_FALSE(snap.systems[1].summary.has_value());
  CHECK_FALSE(snap.systems[1].states[static_cast<std::size_t>(Dataset::summary)].success);
}

TEST_CASE("ready once the systems list answered, even with none of the shard's systems",
          "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  refresh::FleetState fleet;
  CHECK_FALSE(refresh::build_snapshot(fleet, now, {}).ready);
  fleet.listed_at = now;
  const auto snap = refresh::build_snapshot(fleet, now, {});
  CHECK(snap.ready);
  CHECK(snap.systems.empty());
}

TEST_CASE("a panel a couple of minutes behind its siblings still reports", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  refresh::apply_aggregate(fleet.systems[7], tigo::PanelParam::power,
                           csv("Datetime,4,5,6\n2026/07/01 12:57:00,1,2,3\n"
                               "2026/07/01 12:59:00,1,,3\n"));
  const auto snap = refresh::build_snapshot(fleet, now, {});
  for (const auto& p : snap.systems[0].panels) CHECK(p.reporting);
}

TEST_CASE("a fresher non-panel column does not make the panels look behind", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  // 99 is the gateway's sensor column, ten minutes fresher than the panels.
  refresh::apply_aggregate(fleet.systems[7], tigo::PanelParam::power,
                           csv("Datetime,4,5,6,99\n2026/07/01 12:49:00,1,2,3,7\n"
                               "2026/07/01 12:59:00,,,,8\n"));
  const auto snap = refresh::build_snapshot(fleet, now, {});
  for (const auto& p : snap.systems[0].panels) CHECK(p.reporting);
}
