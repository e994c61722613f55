// The state file: round trip, what a restore serves and schedules, every reason a file is not
// used, corrupt inputs, the atomic write; and two refreshers in-process against the simulator,
// the second started from the first one's file.
#include "refresh/state_file.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "refresh/refresher.hpp"
#include "sim/demo.hpp"
#include "sim/server.hpp"
#include "util/time.hpp"

using namespace std::chrono;
using refresh::Dataset;
using refresh::Timestamp;

namespace {

// Los Angeles on midsummer day: 12:00 PDT is 19:00 UTC.
constexpr double kLat = 34.05, kLon = -118.24;
const Timestamp kNoon = *util::parse_iso8601("2026-06-21T19:00:00Z");
constexpr std::int64_t kId = 1001;
const std::string kIdentity = refresh::state_identity("http://127.0.0.1:1/api/v3/", "demo", "");

struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::string name = (std::filesystem::temp_directory_path() / "tigo-state-XXXXXX").string();
    REQUIRE(mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

tigo::Object obj(std::int64_t id, std::int64_t parent, std::int64_t type, std::string label) {
  tigo::Object o;
  o.id = id;
  o.parent_id = parent;
  o.object_type_id = type;
  o.label = std::move(label);
  o.datasource = "04C05B800ACE.panels." + o.label;
  return o;
}

refresh::Outcome ok() {
  refresh::Outcome o;
  o.ok = true;
  return o;
}

// Runs every job due at `now`; objects know panels, panel power serves `newest`.
std::vector<refresh::Choice> drain(refresh::Policy& p, Timestamp now,
                                   std::optional<Timestamp> newest) {
  std::vector<refresh::Choice> ran;
  while (auto job = p.next(now)) {
    ran.push_back(*job);
    auto o = ok();
    if (job->dataset == Dataset::objects) o.panels_known = true;
    if (job->dataset == Dataset::panels) o.newest_pin = newest;
    if (job->dataset == Dataset::panel_details) o.detail_calls = 4;
    p.finished(*job, now, o);
  }
  return ran;
}

// One system with a full hierarchy and a value of everything, and a policy that has watched its
// gateway deliver seven batches 10 minutes apart. Returns the time it got to.
struct World {
  refresh::FleetState fleet;
  refresh::Policy policy{refresh::default_policy_options()};
  Timestamp now = kNoon;
  Timestamp newest = kNoon - minutes{11};

  World() {
    fleet.user = tigo::User{7, "Installer", "Sun \"Co\" \\ Ltd"};
    fleet.object_types = {{1, "System"}, {2, "Panel"}, {3, "String"}, {4, "Inverter"}};
    fleet.alert_types[240] = tigo::AlertType{12, 240, "Panel offline", "no data"};
    drain(policy, now, newest);  // the systems list
    auto& s = fleet.systems[kId];
    s.system.system_id = kId;
    s.system.name = "Home\n\x01 \xff odd";  // a control character and a byte that is not UTF-8
    s.system.timezone = "America/Los_Angeles";
    s.system.latitude = kLat;
    s.system.longitude = kLon;
    s.system.power_rating_w = 9600.5;
    s.system.turn_on_date = *util::parse_iso8601("2019-04-01T00:00:00Z");
    if (auto z = tigo::find_zone(s.system.timezone)) s.zone = *z;
    s.objects =
        std::vector<tigo::Object>{obj(1, -1, 1, "Home"), obj(2, 1, 4, "Inv A"), obj(3, 2, 3, "A"),
                                  obj(10, 3, 2, "A1"), obj(11, 3, 2, "A2")};
    (*s.objects)[0].children = {2};
    tigo::ObjectUi ui;
    ui.x = 120.5;
    ui.y = -40;
    ui.rotation = 90;
    (*s.objects)[3].ui = ui;  // panel A1 on the map
    tigo::Layout layout;
    layout.system_id = kId;
    tigo::LayoutInverter inv;
    inv.label = "Inv A";
    inv.object_id = 2;
    tigo::LayoutMppt mppt;
    mppt.label = "MPPT 1";
    tigo::LayoutString str;
    str.label = "A";
    str.object_id = 3;
    for (auto [label, id] : {std::pair{"A1", 10}, std::pair{"A2", 11}}) {
      tigo::LayoutPanel p;
      p.label = label;
      p.object_id = id;
      p.serial = std::string("SN-") + label;
      p.type = "TS4-A-O";
      str.panels.push_back(p);
    }
    mppt.strings.push_back(str);
    inv.mppts.push_back(mppt);
    layout.inverters.push_back(inv);
    s.layout = layout;
    update_hierarchy(s, fleet.object_types);
    tigo::Source src;
    src.source_id = 77;
    src.system_id = kId;
    src.name = "CCA";
    src.gateway_count = 2;
    src.last_checkin = kNoon - minutes{1};
    src.sets.push_back({"panels_avg", kNoon - minutes{11}, kNoon - hours{24}, std::nullopt});
    s.sources = {src};
    s.summary = tigo::Summary{1.5e7, 2.5e6, 12345.25, 4321.0, kNoon - minutes{2}};
    tigo::Alert a;
    a.alert_id = 5;
    a.system_id = kId;
    a.unique_id = 240;
    a.title = "Panel offline";
    a.generated = kNoon - hours{2};
    a.archived = false;
    s.alerts = {a};
    s.object_power[2] = refresh::Reading{4000.125, kNoon - minutes{11}};
    s.object_energy_today[2] = {21000.5,
                                date::floor<date::days>(tigo::utc_to_local(kNoon, s.zone))};
    s.unanswered_at[tigo::index_of(tigo::PanelParam::temperature)] = kNoon - hours{3};

    // An hour of batches, each fetched when it arrived.
    policy.add_system(kId, kLat, kLon);
    for (; now < kNoon + minutes{65}; now += minutes{1}) {
      if (now >= newest + minutes{21}) newest += minutes{10};
      for (const auto& job : drain(policy, now, newest)) {
        if (job.system_id != kId) continue;
        refresh::mark_success(s.state(job.dataset), now);
        // The gateway keeps checking in (a silent one would confirm no readings).
        if (job.dataset == Dataset::sources) s.sources[0].last_checkin = now - minutes{1};
        if (job.dataset == Dataset::summary) s.summary->updated_on = now - minutes{2};
        if (job.dataset == Dataset::panels) {
          s.panels_cursor = newest;
          s.panel_values[10][tigo::PanelParam::power] = refresh::Reading{301.5, newest};
          s.panel_values[11][tigo::PanelParam::power] = refresh::Reading{0.1 + 0.2, newest};
        }
        if (job.dataset == Dataset::panel_details) {
          s.details_cursor = newest;
          s.panel_values[10][tigo::PanelParam::voltage] = refresh::Reading{35.25, newest};
        }
      }
    }
    refresh::mark_success(s.state(Dataset::system), kNoon);
    fleet.listed_at = kNoon;
  }

  std::string text() const {
    return refresh::serialize_state(refresh::capture_state(fleet, policy, kIdentity, now));
  }
};

// Build options as the refresher gives them: the hierarchy and the list held every 6 h (their
// values last three intervals, docs/METRICS.md "Staleness").
refresh::BuildOptions refresher_build() {
  refresh::BuildOptions b;
  for (auto d : {Dataset::system, Dataset::objects, Dataset::layout})
    b.intervals[static_cast<std::size_t>(d)] = 6 * 3600;
  return b;
}

std::size_t idx(Dataset d) { return static_cast<std::size_t>(d); }

// Build options as Refresher::publish_now makes them: the plan's intervals, panel power at the
// learned cadence, a system's own interval where it differs.
refresh::BuildOptions build_from(const refresh::Policy& policy, const refresh::FleetState& fleet) {
  refresh::BuildOptions b;
  const auto& plan = policy.plan();
  for (auto d : refresh::kAllDatasets)
    b.intervals[idx(d)] = static_cast<double>(plan.interval[idx(d)].count());
  b.intervals[idx(Dataset::panels)] = static_cast<double>(plan.power_cadence.count());
  for (const auto& [id, sys] : fleet.systems)
    for (auto d : {Dataset::summary, Dataset::sources})
      if (const auto every = policy.system_interval(id, d))
        b.system_intervals[id][idx(d)] = static_cast<double>(every->count());
  return b;
}

// What a snapshot serves of the one system, in one line (compared whole; read on failure).
std::string served(const refresh::Snapshot& snap) {
  REQUIRE(snap.systems.size() == 1);
  const auto& e = snap.systems[0];
  std::ostringstream o;
  const auto value = [&](const std::optional<refresh::Reading>& r) {
    if (r)
      o << r->value;
    else
      o << '-';
  };
  o << "panels=" << e.panels.size() << " power=";
  for (const auto& p : e.panels) {
    value(p.readings[tigo::PanelParam::power]);
    o << ',';
  }
  o << " voltage=";
  for (const auto& p : e.panels) {
    value(p.readings[tigo::PanelParam::voltage]);
    o << ',';
  }
  o << " summary=" << e.summary.has_value()
    << " last_power=" << (e.summary && e.summary->last_power_w.has_value())
    << " gateways=" << e.gateways.size() << " objects=" << e.object_readings.size()
    << " alerts=" << e.alerts.size() << " success=";
  for (auto d : refresh::kAllDatasets) o << e.states[idx(d)].success;
  return o.str();
}

refresh::RestoreOptions restore_at(Timestamp now) {
  refresh::RestoreOptions o;
  o.identity = kIdentity;
  o.now = now;
  return o;
}

// The text with `from` replaced by `to` (which must occur).
std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("state file: what is written reads back the same", "[state_file]") {
  const World w;
  const auto text = w.text();
  auto parsed = refresh::parse_state(text);
  REQUIRE(parsed.ok());
  // Written again from what was read: byte for byte the same, but for the byte that is not UTF-8:
  // written as the escape \ufffd, it reads back as U+FFFD itself (and stays that from then on).
  CHECK(text.find("\\ufffd") != std::string::npos);
  CHECK(refresh::serialize_state(*parsed) == edit(text, "\\ufffd", "\xEF\xBF\xBD"));
  CHECK(parsed->identity == kIdentity);
  CHECK(parsed->written_at == w.now);
  REQUIRE(parsed->systems.size() == 1);
  const auto& s = parsed->systems[0].state;
  const auto& orig = w.fleet.systems.at(kId);
  CHECK(s.system.name == "Home\n\x01 \xEF\xBF\xBD odd");  // the stray byte became U+FFFD
  CHECK(s.system.power_rating_w == 9600.5);
  CHECK(s.objects->size() == 5);
  CHECK(s.objects->at(0).children == std::vector<std::int64_t>{2});
  REQUIRE(s.objects->at(3).ui.has_value());
  CHECK(s.objects->at(3).ui->x == 120.5);
  CHECK(s.objects->at(3).ui->y == -40);
  CHECK(s.objects->at(3).ui->rotation == 90);
  CHECK_FALSE(s.objects->at(3).ui->zoom.has_value());
  CHECK_FALSE(s.objects->at(0).ui.has_value());
  CHECK(s.layout->inverters.at(0).mppts.at(0).strings.at(0).panels.at(1).serial == "SN-A2");
  CHECK(s.summary->daily_energy_wh == 12345.25);
  CHECK(s.sources.at(0).sets.at(0).last_min == kNoon - minutes{11});
  CHECK(s.alerts.at(0).archived == false);
  // Doubles exactly (0.1 + 0.2 is not 0.3).
  CHECK(s.panel_values.at(11)[tigo::PanelParam::power]->value == 0.1 + 0.2);
  CHECK(s.panel_values.at(10)[tigo::PanelParam::voltage]->value == 35.25);
  CHECK(s.object_energy_today.at(2) == orig.object_energy_today.at(2));
  CHECK(s.panels_cursor == orig.panels_cursor);
  CHECK(s.details_cursor == orig.details_cursor);
  CHECK(s.unanswered_at == orig.unanswered_at);
  for (auto d : refresh::kAllDatasets) {
    CHECK(s.state(d).attempted == orig.state(d).attempted);
    CHECK(s.state(d).last_success == orig.state(d).last_success);
  }
  const auto learned = *w.policy.learned(kId);
  const auto& l = parsed->systems[0].learned;
  REQUIRE_FALSE(learned.spacings.empty());
  CHECK(l.spacings == learned.spacings);
  CHECK(l.lags == learned.lags);
  CHECK(l.run == learned.run);
  CHECK(l.run > 0);
  CHECK(l.late_by == learned.late_by);
  CHECK(l.newest_pin == learned.newest_pin);
  CHECK(l.newest_seen_at == learned.newest_seen_at);
  CHECK(l.panels_known);
  CHECK(parsed->user->company == "Sun \"Co\" \\ Ltd");
  CHECK(parsed->alert_types.at(240).title == "Panel offline");
}

TEST_CASE("a restore serves the hierarchy and the values, and fetches no hierarchy again",
          "[state_file]") {
  World w;
  const auto restart = w.now + minutes{2};
  refresh::FleetState fleet;
  refresh::Policy policy(refresh::default_policy_options());
  auto restored =
      refresh::restore_state(*refresh::parse_state(w.text()), restore_at(restart), fleet, policy);
  REQUIRE(restored.ok());
  CHECK(*restored == 1);

  // Served at once: labelled panels with their readings, the summary, the gateway.
  const auto snap = refresh::build_snapshot(fleet, restart, refresher_build());
  REQUIRE(snap.systems.size() == 1);
  const auto& e = snap.systems[0];
  REQUIRE(e.panels.size() == 2);
  CHECK(e.panels[0].inverter == "Inv A");
  CHECK(e.panels[0].mppt == "MPPT 1");
  CHECK(e.panels[0].readings[tigo::PanelParam::power]->value == 301.5);
  CHECK(e.panels[0].reporting);
  CHECK(e.summary.has_value());
  CHECK(e.gateways.size() == 1);
  CHECK(e.object_readings.size() == 1);
  CHECK_FALSE(snap.ready);  // until the systems list answers again

  // What the policy learned came along.
  CHECK(policy.learned(kId)->spacings == w.policy.learned(kId)->spacings);

  // Two hours on, beside the policy that never stopped, with the same answers: the restored one
  // asks for the systems list first (the list is cheap and tells which systems left), then panel
  // power on each batch and the other datasets as they come due. The objects and the layout
  // come due exactly when they would have without the restart; a cold policy asks at once.
  std::vector<refresh::Choice> ran;
  std::vector<std::pair<Dataset, Timestamp>> hierarchy, hierarchy_unstopped;
  auto newest = w.newest;
  for (auto t = restart; t < restart + hours{2}; t += minutes{1}) {
    if (t >= newest + minutes{21}) newest += minutes{10};
    for (const auto& job : drain(policy, t, newest)) {
      ran.push_back(job);
      if (job.dataset == Dataset::objects || job.dataset == Dataset::layout)
        hierarchy.emplace_back(job.dataset, t);
    }
    for (const auto& job : drain(w.policy, t, newest))
      if (job.dataset == Dataset::objects || job.dataset == Dataset::layout)
        hierarchy_unstopped.emplace_back(job.dataset, t);
  }
  const auto count = [&](Dataset d) {
    return std::count_if(ran.begin(), ran.end(), [&](const refresh::Choice& c) {
      return c.system_id == kId && c.dataset == d;
    });
  };
  CHECK(ran.at(0).system_id == refresh::kAccountJob);
  CHECK(hierarchy == hierarchy_unstopped);
  CHECK(hierarchy.size() == 1);  // the layout's second round, spread over its interval, is here
  for (const auto& [d, t] : hierarchy) CHECK(t - restart > minutes{2});
  CHECK(count(Dataset::panels) >= 10);
  CHECK(count(Dataset::summary) >= 1);

  refresh::Policy cold(refresh::default_policy_options());
  drain(cold, restart, newest);
  cold.add_system(kId, kLat, kLon);
  const auto first = drain(cold, restart, newest);
  CHECK(std::count_if(first.begin(), first.end(),
                      [](const auto& c) { return c.dataset == Dataset::objects; }) == 1);
}

TEST_CASE("a restored gateway's next batch is fetched on arrival, not probed from scratch",
          "[state_file]") {
  World w;
  const auto restart = w.now + minutes{1};
  refresh::FleetState fleet;
  refresh::Policy policy(refresh::default_policy_options());
  REQUIRE(
      refresh::restore_state(*refresh::parse_state(w.text()), restore_at(restart), fleet, policy)
          .ok());
  // The next batch is visible 21 minutes after the newest minute seen: panel power is not asked
  // for before that (a cold start would ask at once), and is asked for within 2 minutes of it.
  const auto visible = w.newest + minutes{10} + minutes{11};
  std::optional<Timestamp> first;
  for (auto t = restart; t < visible + minutes{10} && !first; t += minutes{1}) {
    const auto served = t >= visible ? w.newest + minutes{10} : w.newest;
    for (const auto& job : drain(policy, t, served))
      if (job.dataset == Dataset::panels && !first) first = t;
  }
  REQUIRE(first);
  CHECK(*first >= visible - minutes{1});
  CHECK(*first <= visible + minutes{2});
}

TEST_CASE("a night settled before the restart stays settled that night, not the next",
          "[state_file]") {
  // 02:00 PDT: the sun is far below the horizon in Los Angeles.
  const Timestamp night = *util::parse_iso8601("2026-06-21T09:00:00Z");
  refresh::Policy before(refresh::default_policy_options());
  drain(before, night, std::nullopt);
  before.add_system(kId, kLat, kLon);
  const auto first = drain(before, night, night - hours{5});
  REQUIRE(std::count_if(first.begin(), first.end(),
                        [](const auto& c) { return c.dataset == Dataset::panels; }) == 1);
  const auto learned = *before.learned(kId);
  CHECK(learned.tracks[static_cast<std::size_t>(Dataset::panels)].settled_tonight);

  const auto minute_data_jobs = [&](Timestamp restart) {
    refresh::Policy p(refresh::default_policy_options());
    p.add_system(kId, kLat, kLon);
    p.restore(kId, learned, restart);
    int n = 0;
    for (auto t = restart; t < restart + minutes{30}; t += minutes{1})
      for (const auto& job : drain(p, t, night - hours{5}))
        n += job.dataset == Dataset::panels || job.dataset == Dataset::panel_details ||
             job.dataset == Dataset::combined;
    return n;
  };
  CHECK(minute_data_jobs(night + hours{1}) == 0);   // the same night: settled
  CHECK(minute_data_jobs(night + hours{24}) == 3);  // the next night: settled once again
}

TEST_CASE("values older than max staleness are not served from the file, the hierarchy is",
          "[state_file]") {
  World w;
  const auto o = restore_at(w.now + minutes{50});
  refresh::FleetState fleet;
  refresh::Policy policy(refresh::default_policy_options());
  REQUIRE(refresh::restore_state(*refresh::parse_state(w.text()), o, fleet, policy).ok());
  auto build = refresher_build();
  build.max_staleness = minutes{30};
  const auto snap = refresh::build_snapshot(fleet, o.now, build);
  REQUIRE(snap.systems.size() == 1);
  CHECK(snap.systems[0].panels.size() == 2);         // hierarchy: 6 h interval
  CHECK_FALSE(snap.systems[0].summary.has_value());  // last success more than 30 min ago
  CHECK(snap.systems[0].panels[0].readings[tigo::PanelParam::power] == std::nullopt);
  // Not served, but nothing failed: tigo_refresh_success stays 1 (an alert on it must not fire
  // after every restart).
  CHECK(snap.systems[0].states[idx(Dataset::summary)].success);
  CHECK(snap.systems[0].states[idx(Dataset::panels)].success);
}

TEST_CASE("restored values are judged by the staleness rule as if the exporter had not stopped",
          "[state_file]") {
  World w;
  auto& kept = w.fleet.systems.at(kId);
  const auto restart = w.now + minutes{10};
  std::string expected;

  SECTION("10 minutes down at noon: everything is served") {
    expected =
        "panels=2 power=301.5,0.3, voltage=35.25,-, summary=1 last_power=1 gateways=1 objects=1 "
        "alerts=1 success=111111111";
  }
  SECTION("at night: panel power fetched hours ago, kept while the gateway checks in") {
    // The night's last batch was fetched at dusk; since then the gateways' answers confirm it.
    kept.state(Dataset::panels).last_success = w.now - hours{3};
    kept.state(Dataset::panel_details).last_success = w.now - hours{3};
    kept.state(Dataset::combined).last_success = w.now - hours{3};
    expected =
        "panels=2 power=301.5,0.3, voltage=35.25,-, summary=1 last_power=1 gateways=1 objects=0 "
        "alerts=1 success=111111111";
  }
  SECTION("a gateway silent for two hours before the stop: no panel power, file or not") {
    kept.sources[0].last_checkin = w.now - hours{2};
    expected =
        "panels=2 power=-,-, voltage=-,-, summary=1 last_power=1 gateways=1 objects=0 alerts=1 "
        "success=111111111";
  }

  const auto text = w.text();
  refresh::FleetState fleet;
  refresh::Policy policy(refresh::default_policy_options());
  REQUIRE(
      refresh::restore_state(*refresh::parse_state(text), restore_at(restart), fleet, policy).ok());
  // Planned at the restore: the first snapshot, before any call, judges by the fleet's intervals.
  CHECK(policy.plan().systems == 1);
  CHECK(policy.plan().interval[idx(Dataset::objects)] == hours{6});
  const auto build = build_from(policy, fleet);
  const auto restored = served(refresh::build_snapshot(fleet, restart, build));
  CHECK(restored == expected);
  // The same as the fleet that was saved, judged at the same time: the file adds nothing the
  // rule would drop and drops nothing it would serve.
  CHECK(restored == served(refresh::build_snapshot(w.fleet, restart, build)));
}

TEST_CASE("a restart after a day serves no stale power", "[state_file]") {
  World w;
  const auto restart = w.now + hours{24};
  const auto text = w.text();
  refresh::FleetState fleet;

  SECTION("with the default layout interval (6 h) the file is stale: a cold start") {
    refresh::Policy policy(refresh::default_policy_options());
    const auto r =
        refresh::restore_state(*refresh::parse_state(text), restore_at(restart), fleet, policy);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("stale") != std::string::npos);
    CHECK(fleet.systems.empty());
  }
  SECTION("with --refresh.layout-interval 48h: the hierarchy, and no value of yesterday") {
    auto po = refresh::default_policy_options();
    po.wanted[idx(Dataset::objects)] = po.wanted[idx(Dataset::layout)] = hours{48};
    refresh::Policy policy(po);
    auto o = restore_at(restart);
    o.max_age = hours{48};
    REQUIRE(refresh::restore_state(*refresh::parse_state(text), o, fleet, policy).ok());
    const auto snap = refresh::build_snapshot(fleet, restart, build_from(policy, fleet));
    CHECK(served(snap) ==
          "panels=2 power=-,-, voltage=-,-, summary=0 last_power=0 gateways=0 objects=0 alerts=0 "
          "success=111111111");
    CHECK(snap.systems[0].panels[0].label == "A1");
  }
}

TEST_CASE("a foreign, stale, future or other shard's file is not used", "[state_file]") {
  World w;
  const auto text = w.text();
  refresh::FleetState fleet;
  refresh::Policy policy(refresh::default_policy_options());
  const auto restore = [&](const refresh::RestoreOptions& o) {
    return refresh::restore_state(*refresh::parse_state(text), o, fleet, policy);
  };
  SECTION("another account") {
    auto o = restore_at(w.now + minutes{1});
    o.identity = refresh::state_identity("http://127.0.0.1:1/api/v3/", "other", "");
    auto r = restore(o);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("foreign"));
  }
  SECTION("another API URL") {
    auto o = restore_at(w.now + minutes{1});
    o.identity = refresh::state_identity("https://api2.tigoenergy.com/api/v3/", "demo", "");
    CHECK_THAT(restore(o).error().message, Catch::Contains("foreign"));
  }
  SECTION("older than the layout interval") {
    auto o = restore_at(w.now + hours{7});
    CHECK_THAT(restore(o).error().message, Catch::Contains("stale"));
  }
  SECTION("written in the future") {
    auto o = restore_at(w.now - hours{1});
    CHECK_THAT(restore(o).error().message, Catch::Contains("future"));
  }
  SECTION("systems of another shard are left out") {
    auto o = restore_at(w.now + minutes{1});
    o.systems.shard_count = 2;
    o.systems.shard_index = 0;  // 1001 is shard 1's
    auto r = restore(o);
    REQUIRE(r.ok());
    CHECK(*r == 0);
  }
  CHECK(fleet.systems.empty());
  // The identity is a hash: neither the name nor a token can be read from it.
  CHECK(kIdentity.size() == 64);
  CHECK(text.find("demo") == std::string::npos);
  const auto by_token = refresh::state_identity("u", "", "secret-token");
  CHECK(by_token != refresh::state_identity("u", "", "other-token"));
  CHECK(refresh::state_file_name({{}, 0, 1}) == "state.json");
  CHECK(refresh::state_file_name({{}, 2, 3}) == "state-shard-2-of-3.json");
}

TEST_CASE("corrupt state files are rejected with a reason", "[state_file]") {
  const World w;
  const auto text = w.text();
  const auto rejects = [](const std::string& bad, const std::string& reason) {
    auto r = refresh::parse_state(bad);
    INFO(bad.substr(0, 200));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(reason));
  };
  const auto id = std::to_string(kId);
  const auto written = std::to_string(w.now.time_since_epoch().count());
  const auto later = std::to_string(w.now.time_since_epoch().count() + 3600);
  rejects("", "invalid JSON");
  rejects("{", "invalid JSON");
  rejects("null", "not an object");
  rejects("[]", "not an object");
  rejects("{}", "format: missing");
  rejects(edit(text, "tigo_exporter state", "prometheus state"), "not a tigo_exporter state");
  rejects(edit(text, "\"version\":1", "\"version\":2"), "format version 2");
  rejects(edit(text, "\"identity\":\"", "\"identity\":\"x"), "identity");
  rejects(edit(text, "\"written_at\":" + written, "\"written_at\":\"yesterday\""), "written_at");
  rejects(edit(text, "\"system_id\":" + id, "\"system_id\":0"), "system_id: out of range");
  rejects(edit(text, "\"system_id\":" + id, "\"system_id\":1.5"), "not an integer");
  rejects(edit(text, "\"latitude\":34.05", "\"latitude\":134.05"), "out of range");
  rejects(edit(text, "\"name\":\"Home", "\"name\":7,\"x\":\"Home"), "name: not a string");
  rejects(edit(text, "\"Pin\"", "\"Xin\""), "param: unknown");
  rejects(edit(text, "\"objects\":{", "\"bogus\":{"), "unknown dataset bogus");
  rejects(edit(text, "\"last_success\":", "\"last_success\":" + later + ",\"x\":"),
          "last_success: out of range");
  rejects(edit(text, "\"successes\":", "\"successes\":-1,\"x\":"), "successes: out of range");
  rejects(edit(text, "\"detail_calls\":", "\"detail_calls\":0,\"x\":"), "detail_calls");
  rejects(edit(text, "\"readings\":[[", "\"readings\":[[1,\"Pin\",2],["), "readings[]");
  rejects(edit(text, "\"run\":", "\"run\":8,\"x\":"), "run: out of range");  // > spacings
  rejects(edit(text, "\"late_by\":[", "\"late_by\":[60,60,60,60],\"x\":["), "too many values");
  {
    // A success without its time.
    const std::string key = "\"success\":true,\"last_success\":";
    const auto at = text.find(key) + key.size() - std::string(",\"last_success\":").size();
    const auto end = text.find(',', at + 1);
    std::string bad = text;
    bad.erase(at, end - at);
    rejects(bad, "without last_success");
  }
  rejects(edit(text, "\"datasets\":", "\"datasets\":7,\"x\":"), "datasets: not an object");
  {
    // The same system twice.
    const auto start = text.find("\"systems\":[") + 11;
    const auto end = text.rfind("]}");
    const auto one = text.substr(start, end - start);
    std::string twice = text;
    twice.replace(start, end - start, one + "," + one);
    rejects(twice, "not ascending");
  }
  {
    // 65 spacings.
    std::string many;
    for (int i = 0; i < 65; ++i) many += (i ? ",600" : "600");
    const auto at = text.find("\"spacings\":[") + 12;
    std::string bad = text;
    bad.insert(at, many + ",");
    rejects(bad, "too many values");
  }
  rejects(std::string(100000, '[') + std::string(100000, ']'), "");

  // Every cut short of the whole document is invalid JSON.
  for (std::size_t cut = 0; cut + 1 < text.size(); cut += 37) {
    INFO(cut);
    CHECK_FALSE(refresh::parse_state(text.substr(0, cut)).ok());
  }
  // Flipped bytes: rejected or read, never a crash; what is read writes again as it reads.
  std::mt19937 rng(42);
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bad = text;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng() % 256);
    if (auto r = refresh::parse_state(bad); r.ok()) {
      ++accepted;
      auto again = refresh::parse_state(refresh::serialize_state(*r));
      REQUIRE(again.ok());
      CHECK(refresh::serialize_state(*again) == refresh::serialize_state(*r));
    }
  }
  CHECK(accepted < 2000);
}

TEST_CASE("state files are written atomically and read with a size bound", "[state_file]") {
  const ScratchDir dir;
  const auto path = dir.file("state.json");
  const World w;
  const auto text = w.text();

  SECTION("missing") {
    auto r = refresh::read_state_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "missing");
  }
  SECTION("written, read back, no temp file left") {
    REQUIRE(refresh::write_state_file(path, text).ok());
    CHECK(slurp(path) == text);
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    auto r = refresh::read_state_file(path);
    REQUIRE(r.ok());
    CHECK(refresh::serialize_state(*r) == edit(text, "\\ufffd", "\xEF\xBF\xBD"));
  }
  SECTION("a failed write leaves the old file whole") {
    REQUIRE(refresh::write_state_file(path, text).ok());
    // The temp file cannot be created: something else is in its place.
    std::filesystem::create_directory(path + ".tmp");
    auto r = refresh::write_state_file(path, "{\"new\":1}");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("cannot create"));
    CHECK(slurp(path) == text);
    CHECK(std::filesystem::is_directory(path + ".tmp"));  // not ours: left alone
  }
  SECTION("a failed rename removes the temp file") {
    // The target is a directory with something in it: rename(2) refuses.
    const auto target = dir.file("occupied");
    std::filesystem::create_directories(target + "/x");
    auto r = refresh::write_state_file(target, text);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("cannot rename"));
    CHECK_FALSE(std::filesystem::exists(target + ".tmp"));
    CHECK(std::filesystem::is_directory(target + "/x"));
  }
  SECTION("a file over the size bound is not read") {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(refresh::kMaxStateFileBytes) + 1) == 0);  // sparse
    ::close(fd);
    auto r = refresh::read_state_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("size limit"));
  }
  SECTION("a directory in its place is not read") {
    std::filesystem::create_directory(path);
    CHECK_FALSE(refresh::read_state_file(path).ok());
  }
  SECTION("the storage directory is created; a file in its place is an error") {
    CHECK(refresh::prepare_state_dir(dir.file("a/b")).ok());
    CHECK(std::filesystem::is_directory(dir.file("a/b")));
    std::ofstream(dir.file("plain")) << "x";
    CHECK_FALSE(refresh::prepare_state_dir(dir.file("plain")).ok());
  }
}

namespace {

// The demo fleet on a loopback port (as refresher_test.cpp), and its request counts.
struct DemoApi {
  const sim::Fleet fleet{sim::demo_fleet_options()};
  const sim::Clock clock;
  std::unique_ptr<sim::Server> server;

  DemoApi() {
    sim::ServerOptions so;
    so.accounts = {{"demo", "demo", true, {}}};
    so.port = 0;
    so.rate_limit = 100000;
    server = std::make_unique<sim::Server>(fleet, clock, so);
    REQUIRE(server->bind().ok());
    server->start();
  }
  ~DemoApi() { server->stop(); }

  std::shared_ptr<tigo::Client> client(const std::string& password = "demo") const {
    tigo::ClientOptions co;
    co.base_url = server->base_url();
    co.credentials = {"demo", password, ""};
    co.rate_limit = 100000;
    co.timeout = 10s;
    auto client = tigo::Client::create(co);
    REQUIRE(client.ok());
    return std::shared_ptr<tigo::Client>(std::move(*client));
  }

  // Requests the simulator answered for `endpoint`, all statuses.
  std::int64_t requests(std::string_view endpoint) const {
    simdjson::dom::parser parser;
    const auto json = server->stats().json("");
    simdjson::dom::object by_status;
    if (parser.parse(json)["requests"][endpoint].get(by_status) != simdjson::SUCCESS) return 0;
    std::int64_t n = 0;
    for (auto [status, count] : by_status) n += count.get_int64().value_unsafe();
    return n;
  }
};

std::size_t systems_with_power(const refresh::Snapshot& snap) {
  std::size_t n = 0;
  for (const auto& e : snap.systems)
    for (const auto& p : e.panels)
      if (p.readings[tigo::PanelParam::power]) {
        ++n;
        break;
      }
  return n;
}

}  // namespace

TEST_CASE("refresher: a restart from the state file serves at once and fetches no hierarchy",
          "[state_file][refresher]") {
  DemoApi api;
  const ScratchDir dir;
  refresh::RefresherOptions ro;
  ro.panels_interval = 2s;
  ro.state_path = dir.file("state.json");
  ro.state_identity = refresh::state_identity(api.server->base_url(), "demo", "");
  ro.state_save_interval = 1s;
  // Values live by their datasets' intervals alone (three of them), not by this flag: the
  // restored hierarchy is seconds old at the restart, the snapshot before any call serves it.
  ro.max_staleness = 1ms;

  std::size_t before = 0;
  {
    refresh::Refresher first(api.client(), ro, {});
    first.start();
    for (int i = 0; i < 300; ++i) {
      const auto snap = first.snapshot();
      before = systems_with_power(*snap);
      if (snap->ready && before >= 4) break;
      std::this_thread::sleep_for(100ms);
    }
    // Written while running, not only at stop.
    for (int i = 0; i < 50 && !std::filesystem::exists(ro.state_path); ++i)
      std::this_thread::sleep_for(100ms);
    auto saved = refresh::read_state_file(ro.state_path);
    REQUIRE(saved.ok());
    CHECK(saved->systems.size() == 6);
    first.stop();  // writes it once more
  }
  REQUIRE(before >= 4);
  REQUIRE(std::filesystem::exists(ro.state_path));
  const auto objects = api.requests("objects/system");
  const auto layout = api.requests("systems/layout");
  CHECK(objects >= 6);

  {
    refresh::Refresher second(api.client(), ro, {});
    second.start();
    // Published by start(), before any call: labelled panels with their power.
    CHECK(systems_with_power(*second.snapshot()) >= before);
    std::shared_ptr<const refresh::Snapshot> snap;
    for (int i = 0; i < 100; ++i) {
      snap = second.snapshot();
      if (snap->ready && systems_with_power(*snap) >= before) break;
      std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(1s);  // room for any job that would fetch the hierarchy
    second.stop();
    REQUIRE(snap->ready);
    CHECK(snap->systems.size() == 6);
    CHECK(systems_with_power(*snap) >= before);
  }
  CHECK(api.requests("objects/system") == objects);
  CHECK(api.requests("systems/layout") == layout);

  // Another account's file is not used: the next start is cold and fetches the hierarchy.
  ro.state_identity = refresh::state_identity(api.server->base_url(), "someone else", "");
  {
    refresh::Refresher third(api.client(), ro, {});
    third.start();
    for (int i = 0; i < 100 && api.requests("objects/system") == objects; ++i)
      std::this_thread::sleep_for(100ms);
    third.stop();
  }
  CHECK(api.requests("objects/system") > objects);
}

TEST_CASE("refresher: nothing learned, nothing written (a refused login leaves the file alone)",
          "[state_file][refresher]") {
  DemoApi api;
  const ScratchDir dir;
  refresh::RefresherOptions ro;
  ro.state_path = dir.file("state.json");
  ro.state_identity = refresh::state_identity(api.server->base_url(), "demo", "");
  ro.state_save_interval = 1s;
  refresh::Refresher refresher(api.client("wrong"), ro, {});
  refresher.start();
  std::this_thread::sleep_for(1500ms);
  refresher.stop();
  CHECK(api.requests("users/login") >= 1);
  CHECK_FALSE(std::filesystem::exists(ro.state_path));
}

TEST_CASE("learned arrivals the policy could not have learned: the file is not used",
          "[state_file]") {
  const World w;
  const auto text = w.text();
  const auto rejects = [](const std::string& bad, const std::string& reason) {
    auto r = refresh::parse_state(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(reason));
  };
  const auto list_of = [&](const std::string& key) {
    const auto at = text.find("\"" + key + "\":[");
    REQUIRE(at != std::string::npos);
    const auto end = text.find(']', at);
    return std::pair{at, end + 1};
  };
  const auto replace_list = [&](const std::string& key, const std::string& values) {
    const auto [at, end] = list_of(key);
    std::string bad = text;
    return bad.replace(at, end - at, "\"" + key + "\":[" + values + "]");
  };
  // The crash of issue 20: spacings of 0 passed and the policy's median read an empty vector.
  // Seven values, as many as the run the file names.
  rejects(replace_list("spacings", "0,0,0,0,0,0,0"), "spacings: out of range");
  rejects(replace_list("spacings", "-600,600,600,600,600,600,600"), "spacings: out of range");
  rejects(replace_list("spacings", "600,600,600,600,600,600,2701"), "spacings: out of range");
  rejects(replace_list("lags", "-86401"), "lags: out of range");
  rejects(replace_list("late_by", "0"), "late_by: out of range");
  rejects(replace_list("late_by", "7201"), "late_by: out of range");
  {
    // A newest minute without the time it was seen (the policy dereferenced the empty one).
    const auto at = text.find("\"newest_seen_at\":");
    REQUIRE(at != std::string::npos);
    const auto end = text.find(',', at);
    std::string bad = text;
    bad.erase(at, end - at + 1);
    rejects(bad, "one without the other");
  }
  // The untouched file reads.
  CHECK(refresh::parse_state(text).ok());
}

TEST_CASE("the largest system id the API may send round-trips and schedules", "[state_file]") {
  World w;
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  auto node = w.fleet.systems.extract(kId);
  node.key() = kMax;
  node.mapped().system.system_id = kMax;
  w.fleet.systems.insert(std::move(node));
  w.policy.add_system(kMax, kLat, kLon);
  w.policy.restore(kMax, *w.policy.learned(kId), w.now);  // what the policy knew of it, too
  w.policy.remove_system(kId);
  const auto text = w.text();
  auto parsed = refresh::parse_state(text);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->systems.size() == 1);
  CHECK(parsed->systems[0].state.system.system_id == kMax);
  refresh::FleetState fleet;
  refresh::Policy policy{refresh::default_policy_options()};
  REQUIRE(refresh::restore_state(std::move(*parsed), restore_at(w.now), fleet, policy).ok());
  // An hour of work for it, spread by the id's arithmetic (UBSan in CI: no signed overflow).
  std::set<Dataset> ran;
  for (auto t = w.now; t < w.now + hours{1}; t += minutes{1})
    for (const auto& job : drain(policy, t, t - minutes{11}))
      if (job.system_id == kMax) ran.insert(job.dataset);
  CHECK(ran.count(Dataset::panels) == 1);
  CHECK(ran.count(Dataset::summary) == 1);
}
