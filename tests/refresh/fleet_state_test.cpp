#include "refresh/fleet_state.hpp"

#include <catch2/catch.hpp>

#include "metrics/collector.hpp"
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
  // The hierarchy is refreshed every 6 h: its limit is 18 h.
  o.intervals[static_cast<std::size_t>(Dataset::objects)] = 6 * 3600;
  auto soon = refresh::build_snapshot(fleet, then + minutes{30}, o);
  CHECK(soon.systems[0].panels[0].readings[tigo::PanelParam::power].has_value());  // failing, but
                                                                                   // not stale yet
  CHECK(soon.systems[0].summary.has_value());
  auto late = refresh::build_snapshot(fleet, then + minutes{61}, o);
  CHECK_FALSE(late.systems[0].panels[0].readings[tigo::PanelParam::power].has_value());
  CHECK_FALSE(late.systems[0].summary.has_value());
  CHECK(late.systems[0].panels.size() == 3);  // the hierarchy is within its limit
  refresh::mark_success(s.state(Dataset::panels), then + minutes{90});
  CHECK(refresh::build_snapshot(fleet, then + minutes{120}, o)
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
  refresh::mark_success(s.state(Dataset::combined), now + hours{12});  // confirmed, but yesterday's
  const auto next_day = refresh::build_snapshot(fleet, now + hours{12}, {});
  REQUIRE(next_day.systems[0].object_readings.size() == 2);
  CHECK_FALSE(next_day.systems[0].object_readings[0].energy_today_wh.has_value());
}

TEST_CASE("ready once every system's objects and summary were tried, failed or not", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  CHECK(refresh::build_snapshot(fleet, now, {}).ready);
  // A system just listed, nothing of it tried yet, holds readiness back.
  fleet.systems[8].system.system_id = 8;
  refresh::mark_success(fleet.systems[8].state(Dataset::system), now);
  CHECK_FALSE(refresh::build_snapshot(fleet, now, {}).ready);
  // Layout, gateways and alerts follow later: readiness does not wait for them.
  refresh::mark_failure(fleet.systems[8].state(Dataset::objects), "objects/system: HTTP 500");
  CHECK_FALSE(refresh::build_snapshot(fleet, now, {}).ready);
  // Tried and failed (say 402, or a summary that always fails): ready, the failure is shown by
  // the dataset's state.
  refresh::mark_failure(fleet.systems[8].state(Dataset::summary), "data/summary: HTTP 500");
  const auto snap = refresh::build_snapshot(fleet, now, {});
  CHECK(snap.ready);
  REQUIRE(snap.systems.size() == 2);
  CHECK_FALSE(snap.systems[1].summary.has_value());
  CHECK_FALSE(snap.systems[1].states[static_cast<std::size_t>(Dataset::summary)].success);
  CHECK_FALSE(snap.systems[1].states[static_cast<std::size_t>(Dataset::layout)].attempted);
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

TEST_CASE("the newest panel minute is the panels', not the gateway sensor column's", "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  // 99, the gateway's own column, runs to the last whole minute; the panels' batch ends at 12:49
  // (local, UTC-7): the policy must see 19:49 UTC, or every fetch would look like a new batch.
  const auto newest =
      refresh::apply_aggregate(s, tigo::PanelParam::power,
                               csv("Datetime,4,5,6,99\n2026/07/01 12:49:00,1,2,3,7\n"
                                   "2026/07/01 12:59:00,,,,8\n"));
  REQUIRE(newest);
  CHECK(*newest == *util::parse_iso8601("2026-07-01T19:49:00Z"));
  CHECK(s.panel_values.count(99) == 0);
  CHECK(s.panel_values.at(6)[tigo::PanelParam::power]->value == 3);
}

// The staleness rule (fleet_state.hpp), family by family: each value is aged across its limit.
namespace {

constexpr auto idx = [](Dataset d) { return static_cast<std::size_t>(d); };

// Staleness 1 h, the default intervals (the limit is 3 intervals where that is longer: 18 h for
// the 6-hourly structural datasets).
refresh::BuildOptions default_options() {
  refresh::BuildOptions o;
  o.max_staleness = hours{1};
  o.intervals[idx(Dataset::system)] = 6 * 3600;
  o.intervals[idx(Dataset::objects)] = 6 * 3600;
  o.intervals[idx(Dataset::layout)] = 6 * 3600;
  o.intervals[idx(Dataset::sources)] = 120;
  o.intervals[idx(Dataset::summary)] = 300;
  o.intervals[idx(Dataset::panels)] = 60;
  o.intervals[idx(Dataset::combined)] = 900;
  o.intervals[idx(Dataset::alerts)] = 600;
  return o;
}

// one_system with every dataset refreshed at `at`, a gateway that checked in then, panel
// readings of the minute before and a summary updated then.
refresh::FleetState refreshed_system(sys_seconds at) {
  auto fleet = one_system(at);
  auto& s = fleet.systems[7];
  for (auto d : refresh::kAllDatasets) refresh::mark_success(s.state(d), at);
  tigo::Source gw;
  gw.source_id = 70;
  gw.last_checkin = at;
  gw.sets.push_back({"panels_avg", at - minutes{1}, std::nullopt, std::nullopt});
  s.sources = {gw};
  for (auto id : {4, 5, 6})
    s.panel_values[id][tigo::PanelParam::power] = refresh::Reading{300, at - minutes{1}};
  s.summary = tigo::Summary{1.0e6, 2.0e5, 1.5e4, 2500, at};
  s.object_power[1] = refresh::Reading{2500, at - minutes{1}};
  s.object_energy_today[1] = {15000, tigo::local_day(at, s.zone)};
  return fleet;
}

bool all_reporting(const refresh::SystemEntry& e) {
  return std::all_of(e.panels.begin(), e.panels.end(),
                     [](const refresh::Panel& p) { return p.reporting; });
}

bool any_reading(const refresh::SystemEntry& e) {
  return std::any_of(e.panels.begin(), e.panels.end(), [](const refresh::Panel& p) {
    return p.readings[tigo::PanelParam::power].has_value();
  });
}

}  // namespace

TEST_CASE("each dataset's limit: the staleness, or three of its intervals if longer",
          "[fleet][staleness]") {
  const auto o = default_options();
  CHECK(refresh::value_limit(Dataset::summary, o) == hours{1});
  CHECK(refresh::value_limit(Dataset::panels, o) == hours{1});
  CHECK(refresh::value_limit(Dataset::layout, o) == hours{18});
  CHECK(refresh::value_limit(Dataset::system, o) == hours{18});
  refresh::BuildOptions bare;  // no intervals known: the staleness alone
  bare.max_staleness = seconds{40};
  CHECK(refresh::value_limit(Dataset::layout, bare) == seconds{40});
  bare.intervals[idx(Dataset::layout)] = 90;
  CHECK(refresh::value_limit(Dataset::layout, bare) == seconds{270});
  // Minute readings: between fetches (power follows the gateways' 10-minute batches) the
  // gateways' answers confirm them, so the sources' interval counts (asked every 2 s here).
  bare.max_staleness = seconds{10};
  bare.intervals[idx(Dataset::panels)] = 600;
  CHECK(refresh::value_limit(Dataset::panels, bare) == seconds{1800});
  CHECK(refresh::readings_limit(bare) == seconds{10});  // sources unknown: the staleness
  bare.intervals[idx(Dataset::sources)] = 2;
  CHECK(refresh::readings_limit(bare) == seconds{10});
  bare.intervals[idx(Dataset::sources)] = 120;
  CHECK(refresh::readings_limit(bare) == seconds{360});
}

TEST_CASE("current power only while the summary's updated_on is within the limit",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");  // 13:00 in Los Angeles
  auto fleet = refreshed_system(t);
  auto& s = fleet.systems[7];
  const auto o = default_options();
  // Tigo keeps answering (the dataset is confirmed) but its summary froze at t: a stalled gateway.
  refresh::mark_success(s.state(Dataset::summary), t + minutes{59});
  const auto before = refresh::build_snapshot(fleet, t + minutes{59}, o).systems[0].summary;
  REQUIRE(before.has_value());
  CHECK(before->last_power_w == 2500);
  refresh::mark_success(s.state(Dataset::summary), t + minutes{61});
  const auto after = refresh::build_snapshot(fleet, t + minutes{61}, o).systems[0].summary;
  REQUIRE(after.has_value());
  CHECK_FALSE(after->last_power_w.has_value());
  // Its other figures are still true: today's energy so far, this year's, the lifetime counter,
  // and the time they are true for.
  CHECK(after->daily_energy_wh == 1.5e4);
  CHECK(after->ytd_energy_wh == 2.0e5);
  CHECK(after->lifetime_energy_wh == 1.0e6);
  CHECK(after->updated_on == t);
  // Tigo's updated_on moves as uploads arrive: with a short staleness limit it still has an hour.
  auto short_limit = o;
  short_limit.max_staleness = seconds{20};
  short_limit.intervals = {};
  auto other = refreshed_system(t);
  auto& summary_state = other.systems[7].state(Dataset::summary);
  refresh::mark_success(summary_state, t + minutes{59});
  CHECK(refresh::build_snapshot(other, t + minutes{59}, short_limit)
            .systems[0]
            .summary->last_power_w == 2500);
  refresh::mark_success(summary_state, t + minutes{61});
  CHECK_FALSE(refresh::build_snapshot(other, t + minutes{61}, short_limit)
                  .systems[0]
                  .summary->last_power_w.has_value());
}

TEST_CASE("today's energy only on its site-local day, this year's only in its year",
          "[fleet][staleness]") {
  // 2026-12-31 23:30 in Los Angeles (PST, UTC-8) is 2027-01-01 07:30 UTC.
  const auto t = *util::parse_iso8601("2027-01-01T07:30:00Z");
  const auto fleet = refreshed_system(t);
  auto o = default_options();
  o.max_staleness = hours{48};  // so that only the day and the year decide
  // 23:59 local: still the day and the year of updated_on (though already 2027 in UTC).
  auto sum = refresh::build_snapshot(fleet, t + minutes{29}, o).systems[0].summary;
  REQUIRE(sum.has_value());
  CHECK(sum->daily_energy_wh == 1.5e4);
  CHECK(sum->ytd_energy_wh == 2.0e5);
  // 00:01 local on New Year's day: neither is today's or this year's any more.
  sum = refresh::build_snapshot(fleet, t + minutes{31}, o).systems[0].summary;
  REQUIRE(sum.has_value());
  CHECK_FALSE(sum->daily_energy_wh.has_value());
  CHECK_FALSE(sum->ytd_energy_wh.has_value());
  CHECK(sum->last_power_w == 2500);  // within the (long) limit
  CHECK(sum->lifetime_energy_wh == 1.0e6);
  // A new day but not a new year: only today's goes.
  const auto june = *util::parse_iso8601("2026-06-15T18:00:00Z");  // 11:00 PDT
  const auto fleet2 = refreshed_system(june);
  sum = refresh::build_snapshot(fleet2, june + hours{14}, o).systems[0].summary;  // 01:00 PDT
  REQUIRE(sum.has_value());
  CHECK_FALSE(sum->daily_energy_wh.has_value());
  CHECK(sum->ytd_energy_wh == 2.0e5);
}

TEST_CASE("a summary from last July is no current power nor today's or this year's energy",
          "[fleet][staleness]") {
  // Seed 13's system 1002: the gateway stalled on 2025-07-09; the API still answers every time.
  const auto now = *util::parse_iso8601("2026-03-02T12:30:00Z");
  auto fleet = refreshed_system(now);
  fleet.systems[7].summary =
      tigo::Summary{3.1e7, 6.4e6, 1.77e4, 5936.313, *util::parse_iso8601("2025-07-09T15:07:00Z")};
  const auto sum = refresh::build_snapshot(fleet, now, default_options()).systems[0].summary;
  REQUIRE(sum.has_value());
  CHECK_FALSE(sum->last_power_w.has_value());
  CHECK_FALSE(sum->daily_energy_wh.has_value());
  CHECK_FALSE(sum->ytd_energy_wh.has_value());
  CHECK(sum->lifetime_energy_wh == 3.1e7);
  CHECK(sum->updated_on == util::parse_iso8601("2025-07-09T15:07:00Z"));
}

TEST_CASE("a summary the exporter cannot confirm goes whole after the limit",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  refresh::mark_failure(fleet.systems[7].state(Dataset::summary), "data/summary: HTTP 503");
  const auto o = default_options();
  CHECK(refresh::build_snapshot(fleet, t + minutes{60}, o).systems[0].summary.has_value());
  CHECK_FALSE(refresh::build_snapshot(fleet, t + minutes{61}, o).systems[0].summary.has_value());
}

TEST_CASE("structural data outlives failed refreshes up to three of its intervals",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  auto& s = fleet.systems[7];
  // The systems list, objects and layout fail from now on; the rest keeps working.
  for (auto d : {Dataset::system, Dataset::objects, Dataset::layout})
    refresh::mark_failure(s.state(d), "HTTP 503");
  auto o = default_options();
  o.max_staleness = seconds{40};  // the issue's --refresh.max-staleness 40s
  o.intervals[idx(Dataset::system)] = o.intervals[idx(Dataset::objects)] =
      o.intervals[idx(Dataset::layout)] = 90;  // --refresh.layout-interval 90s
  const auto keep_measured = [&](sys_seconds now) {
    for (auto d :
         {Dataset::sources, Dataset::summary, Dataset::panels, Dataset::combined, Dataset::alerts})
      refresh::mark_success(s.state(d), now);
    s.sources[0].last_checkin = now;
    s.summary->updated_on = now;
  };
  keep_measured(t + seconds{269});
  auto snap = refresh::build_snapshot(fleet, t + seconds{269}, o);
  CHECK(snap.systems[0].info_current);
  CHECK(snap.systems[0].panels.size() == 3);
  CHECK(snap.systems[0].objects.size() == 5);
  CHECK(any_reading(snap.systems[0]));
  keep_measured(t + seconds{271});
  snap = refresh::build_snapshot(fleet, t + seconds{271}, o);
  CHECK_FALSE(snap.systems[0].info_current);
  CHECK(snap.systems[0].panels.empty());
  CHECK(snap.systems[0].objects.empty());
  // Either of objects and layout keeps the hierarchy.
  refresh::mark_success(s.state(Dataset::layout), t + seconds{200});
  snap = refresh::build_snapshot(fleet, t + seconds{271}, o);
  CHECK(snap.systems[0].panels.size() == 3);
}

TEST_CASE("system info leaves the output only when the list is older than its limit",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  refresh::mark_failure(fleet.systems[7].state(Dataset::system), "systems/list: HTTP 500");
  const auto o = default_options();
  CHECK(refresh::build_snapshot(fleet, t + hours{18}, o).systems[0].info_current);
  CHECK_FALSE(
      refresh::build_snapshot(fleet, t + hours{18} + seconds{1}, o).systems[0].info_current);
}

TEST_CASE("panel readings through the night: kept while the sources confirm them",
          "[fleet][staleness]") {
  // The day's last readings at 20:00 local; the panels job skips all night (nothing new), the
  // sources answer every two minutes and the gateway checks in.
  const auto dusk = *util::parse_iso8601("2026-07-02T03:00:00Z");  // 20:00 PDT
  auto fleet = refreshed_system(dusk);
  auto& s = fleet.systems[7];
  const auto o = default_options();
  const auto night = dusk + hours{6};
  refresh::mark_success(s.state(Dataset::sources), night);
  s.sources[0].last_checkin = night - minutes{10};
  const auto snap = refresh::build_snapshot(fleet, night, o);
  CHECK(any_reading(snap.systems[0]));
  CHECK(snap.systems[0].panels[0].readings[tigo::PanelParam::power]->sample == dusk - minutes{1});
  CHECK(all_reporting(snap.systems[0]));
}

TEST_CASE("panel readings of an outage: reporting 0 and no values after the limit",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  auto& s = fleet.systems[7];
  // The API is gone: sources fail, the panels job finds nothing new to fetch (its last success
  // stands, its state says success), so only the age of the confirmations can tell.
  refresh::mark_failure(s.state(Dataset::sources), "sources/system: connection refused");
  const auto o = default_options();
  auto snap = refresh::build_snapshot(fleet, t + minutes{60}, o);
  CHECK(all_reporting(snap.systems[0]));
  CHECK(any_reading(snap.systems[0]));
  snap = refresh::build_snapshot(fleet, t + minutes{61}, o);
  CHECK(snap.systems[0].panels.size() == 3);  // structural: kept
  for (const auto& p : snap.systems[0].panels) {
    CHECK_FALSE(p.reporting);
    CHECK_FALSE(p.readings[tigo::PanelParam::power].has_value());
  }
  // The API is back: one sources answer (the gateway checked in meanwhile) confirms them again.
  refresh::mark_success(s.state(Dataset::sources), t + minutes{62});
  s.sources[0].last_checkin = t + minutes{55};
  CHECK(all_reporting(refresh::build_snapshot(fleet, t + minutes{62}, o).systems[0]));
}

TEST_CASE("panel readings: a failing panels dataset counts from its own last success",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  auto& s = fleet.systems[7];
  refresh::mark_failure(s.state(Dataset::panels), "data/aggregate: HTTP 500");
  const auto o = default_options();
  // The sources keep answering, but they cannot vouch for minutes the exporter failed to fetch.
  refresh::mark_success(s.state(Dataset::sources), t + minutes{61});
  s.sources[0].last_checkin = t + minutes{60};
  CHECK(all_reporting(refresh::build_snapshot(fleet, t + minutes{60}, o).systems[0]));
  const auto snap = refresh::build_snapshot(fleet, t + minutes{61}, o);
  CHECK_FALSE(any_reading(snap.systems[0]));
  CHECK_FALSE(snap.systems[0].panels[0].reporting);
}

TEST_CASE("panel and object readings of a gateway that stopped checking in", "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  auto& s = fleet.systems[7];
  refresh::mark_success(s.state(Dataset::combined), t);
  // The API answers on time, but the gateway's last check-in stays at t.
  const auto o = default_options();
  const auto asked = [&](sys_seconds now) {
    for (auto d : {Dataset::sources, Dataset::combined}) refresh::mark_success(s.state(d), now);
    return refresh::build_snapshot(fleet, now, o);
  };
  auto snap = asked(t + minutes{60});
  CHECK(all_reporting(snap.systems[0]));
  CHECK(snap.systems[0].object_readings.size() == 1);
  snap = asked(t + minutes{61});
  CHECK_FALSE(any_reading(snap.systems[0]));
  CHECK_FALSE(snap.systems[0].panels[0].reporting);
  CHECK(snap.systems[0].object_readings.empty());
  CHECK(snap.systems[0].gateways.size() == 1);  // the gateway itself, with its last check-in
  // With a short staleness limit the gateway still has an hour: its uploads are minutes apart.
  auto short_limit = o;
  short_limit.max_staleness = seconds{20};
  short_limit.intervals = {};
  auto other = refreshed_system(t);
  refresh::mark_success(other.systems[7].state(Dataset::sources), t + minutes{59});
  CHECK(all_reporting(refresh::build_snapshot(other, t + minutes{59}, short_limit).systems[0]));
}

TEST_CASE("object readings, gateways and alerts go after their limits", "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  auto& s = fleet.systems[7];
  fleet.alert_types[12] = tigo::AlertType{1, 12, "Module not reporting", ""};
  for (auto d : {Dataset::combined, Dataset::sources, Dataset::alerts})
    refresh::mark_failure(s.state(d), "HTTP 502");
  refresh::mark_success(s.state(Dataset::panels), t + minutes{61});  // readings still confirmed
  s.sources[0].last_checkin = t + minutes{50};
  const auto o = default_options();
  auto e = refresh::build_snapshot(fleet, t + minutes{60}, o).systems[0];
  CHECK(e.object_readings.size() == 1);
  CHECK(e.gateways.size() == 1);
  CHECK(e.alerts.size() == 1);
  e = refresh::build_snapshot(fleet, t + minutes{61}, o).systems[0];
  CHECK(e.object_readings.empty());
  CHECK(e.gateways.empty());
  CHECK(e.alerts.empty());
  CHECK(any_reading(e));
}

TEST_CASE("the last success is when the answer came, and never goes back", "[fleet]") {
  refresh::DatasetState st;
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  refresh::mark_success(st, t);
  refresh::mark_success(st, t - seconds{30});  // a slow job started before the last one ended
  CHECK(st.last_success == t);
  refresh::mark_success(st, t + seconds{5});
  CHECK(st.last_success == t + seconds{5});
}

TEST_CASE("panel details (voltage, current, RSSI, temperature) go after their own limit",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = refreshed_system(t);
  auto& s = fleet.systems[7];
  for (auto id : {4, 5, 6})
    s.panel_values[id][tigo::PanelParam::voltage] = refresh::Reading{35, t - minutes{1}};
  refresh::mark_failure(s.state(Dataset::panel_details), "data/aggregate: HTTP 500");
  const auto o = default_options();
  // Power keeps being confirmed (fetches and gateway answers); the details fail from t on.
  for (auto d : {Dataset::panels, Dataset::sources})
    refresh::mark_success(s.state(d), t + minutes{61});
  s.sources[0].last_checkin = t + minutes{60};
  auto e = refresh::build_snapshot(fleet, t + minutes{60}, o).systems[0];
  CHECK(e.panels[0].readings[tigo::PanelParam::voltage]->value == 35);
  e = refresh::build_snapshot(fleet, t + minutes{61}, o).systems[0];
  CHECK_FALSE(e.panels[0].readings[tigo::PanelParam::voltage].has_value());
  CHECK(e.panels[0].readings[tigo::PanelParam::power]->value == 300);
  CHECK(all_reporting(e));
}

TEST_CASE("a system asked for less often (night) is judged by its own interval",
          "[fleet][staleness]") {
  const auto t = *util::parse_iso8601("2026-07-02T10:00:00Z");  // 03:00 in Los Angeles
  auto fleet = refreshed_system(t);
  auto o = default_options();
  o.max_staleness = seconds{10};
  o.intervals[idx(Dataset::sources)] = o.intervals[idx(Dataset::summary)] = 2;
  o.intervals[idx(Dataset::panels)] = 600;
  // By the fleet's 2 s the summary and the readings would be long unconfirmed after a minute...
  auto e = refresh::build_snapshot(fleet, t + minutes{1}, o).systems[0];
  CHECK_FALSE(e.summary.has_value());
  CHECK_FALSE(any_reading(e));
  // ...but at night the scheduler asks for them every 30 and 60 minutes.
  o.system_intervals[7][idx(Dataset::summary)] = 1800;
  o.system_intervals[7][idx(Dataset::sources)] = 3600;
  e = refresh::build_snapshot(fleet, t + minutes{1}, o).systems[0];
  CHECK(e.summary.has_value());
  CHECK(any_reading(e));
  CHECK(refresh::value_limit(Dataset::sources, o, 7) == hours{3});
  CHECK(refresh::value_limit(Dataset::sources, o) == seconds{10});
}

namespace {

// refreshed_system with two more systems (ids 8 and 9, copies of 7), alerts and alert types.
refresh::FleetState three_systems(sys_seconds at) {
  auto fleet = refreshed_system(at);
  auto& s = fleet.systems[7];
  s.alerts.push_back(tigo::Alert{1, 7, 420, "PV-Off", "", "", at - hours{2}, at, false});
  fleet.alert_types[420] = tigo::AlertType{2, 420, "PV-Off", ""};
  for (std::int64_t id : {8, 9}) {
    fleet.systems[id] = s;
    fleet.systems[id].system.system_id = id;
  }
  fleet.systems[9].summary->last_power_w = 900;
  return fleet;
}

std::string rendered(const refresh::Snapshot& snap) {
  std::string out;
  metrics::render_fleet(snap, out);
  return out;
}

}  // namespace

TEST_CASE("publishing copies the systems changed since the last publish and shares the rest",
          "[fleet][publish]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = three_systems(t);
  refresh::SystemShares shares;
  for (auto& [id, s] : fleet.systems) shares.changed(s);
  const auto first = shares.view(fleet);
  CHECK(shares.copied() == 3);
  REQUIRE(first.systems.size() == 3);
  CHECK(first.systems[1].id == 8);

  const auto again = shares.view(fleet);  // nothing changed
  CHECK(shares.copied() == 0);
  for (std::size_t i = 0; i < 3; ++i) CHECK(again.systems[i].values == first.systems[i].values);

  auto& s8 = fleet.systems[8];
  s8.summary->last_power_w = 1234;
  shares.changed(s8);
  const auto after = shares.view(fleet);
  CHECK(shares.copied() == 1);
  CHECK(after.systems[0].values == first.systems[0].values);
  CHECK(after.systems[2].values == first.systems[2].values);
  CHECK(after.systems[1].values != first.systems[1].values);
  CHECK(after.systems[1].values->summary->last_power_w == 1234);
  // A copy already handed out is never written to: a build still reading it sees the old value.
  CHECK(first.systems[1].values->summary->last_power_w == 2500);
  // The hierarchy is immutable: every copy shares the fleet's.
  CHECK(after.systems[1].values->hierarchy == s8.hierarchy);
}

TEST_CASE("publishing: a system never stamped is copied every time, one that left is let go",
          "[fleet][publish]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = three_systems(t);
  refresh::SystemShares shares;
  shares.changed(fleet.systems[7]);
  shares.changed(fleet.systems[9]);
  shares.view(fleet);
  CHECK(shares.copied() == 3);
  const auto second = shares.view(fleet);
  CHECK(shares.copied() == 1);  // system 8, revision 0
  // System 8 leaves the account and comes back as new, stamped again: copied, not the old copy.
  fleet.systems.erase(8);
  const auto without = shares.view(fleet);
  CHECK(shares.copied() == 0);
  REQUIRE(without.systems.size() == 2);
  CHECK(without.systems[1].id == 9);
  fleet.systems[8].system.system_id = 8;
  shares.changed(fleet.systems[8]);
  const auto back = shares.view(fleet);
  CHECK(shares.copied() == 1);
  REQUIRE(back.systems.size() == 3);
  CHECK(back.systems[1].values != second.systems[1].values);
  CHECK_FALSE(back.systems[1].values->summary.has_value());
}

TEST_CASE("a snapshot built from the shared view is the snapshot of the fleet, metrics identical",
          "[fleet][publish]") {
  const auto t = *util::parse_iso8601("2026-07-01T20:00:00Z");
  auto fleet = three_systems(t);
  fleet.user = tigo::User{4711, "Installer", "Sonnen GmbH"};
  fleet.unlisted_systems = {12};
  refresh::SystemShares shares;
  for (auto& [id, s] : fleet.systems) shares.changed(s);
  const auto view = shares.view(fleet);
  auto o = default_options();
  o.system_intervals[9][idx(Dataset::summary)] = 7200;
  // Fresh, after the readings' limit, after the summary's, on the next local day: the same
  // judgement of the same values either way.
  for (const auto now : {t, t + minutes{61}, t + minutes{90}, t + hours{12}}) {
    const auto from_fleet = refresh::build_snapshot(fleet, now, o);
    const auto from_view = refresh::build_snapshot(view, now, o);
    CHECK(from_view.ready == from_fleet.ready);
    CHECK(from_view.unlisted_systems == from_fleet.unlisted_systems);
    const auto text = rendered(from_fleet);
    CHECK(rendered(from_view) == text);
    if (now == t) CHECK(text.find("tigo_panel_power_watts{") != std::string::npos);
  }
  // And what changes in the fleet reaches the next view's snapshot.
  fleet.systems[9].summary->last_power_w = 777;
  shares.changed(fleet.systems[9]);
  CHECK(rendered(refresh::build_snapshot(shares.view(fleet), t, o)) ==
        rendered(refresh::build_snapshot(fleet, t, o)));
  CHECK(refresh::build_snapshot(shares.view(fleet), t, o).systems[2].summary->last_power_w == 777);
}

TEST_CASE("panel energy of the day from the power minutes: each minute once, the site's day",
          "[fleet]") {
  const auto now = *util::parse_iso8601("2026-07-01T20:00:00Z");  // 13:00 in Los Angeles
  auto fleet = one_system(now);
  auto& s = fleet.systems[7];
  const auto rows = [](const std::string& body) {
    tigo::CsvOptions o;
    o.keep_rows = true;
    auto t = tigo::parse_csv(body, o);
    REQUIRE(t.ok());
    return *t;
  };
  // Yesterday's last minute (a window reaching back over midnight) is not today's energy.
  refresh::integrate_panel_minutes(
      s, rows("Datetime,4,5\n2026/06/30 23:59:00,600,600\n2026/07/01 12:00:00,300,120\n"
              "2026/07/01 12:01:00,360,\n"));
  // The next window repeats 12:01 (counted once) and adds 12:02.
  refresh::integrate_panel_minutes(
      s, rows("Datetime,4,5\n2026/07/01 12:01:00,360,60\n2026/07/01 12:02:00,-5,60\n"));
  auto snap = refresh::build_snapshot(fleet, now, {});
  const auto& panels = snap.systems.at(0).panels;
  REQUIRE(panels[0].energy_today_wh);
  CHECK(*panels[0].energy_today_wh == Approx((300 + 360 + 0) / 60.0));  // -5 W counts as 0
  CHECK(*panels[0].energy_covered_s == 180);
  // Panel 5's 12:01 came only in the second window: still counted, once.
  CHECK(*panels[1].energy_today_wh == Approx((120 + 60 + 60) / 60.0));
  CHECK_FALSE(panels[2].energy_today_wh);  // no minute at all
  // The next site-local day: none until its first minute.
  const auto tomorrow = *util::parse_iso8601("2026-07-02T18:00:00Z");
  for (auto d : {Dataset::system, Dataset::summary, Dataset::objects, Dataset::panels})
    refresh::mark_success(s.state(d), tomorrow);
  fleet.listed_at = tomorrow;
  const auto next = refresh::build_snapshot(fleet, tomorrow, {});
  REQUIRE(next.systems.at(0).panels.size() == 3);
  CHECK_FALSE(next.systems.at(0).panels[0].energy_today_wh);
}
