#include "refresh/fleet_state.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace refresh {
namespace {

constexpr std::chrono::minutes kReportingSlack{5};

std::optional<std::int64_t> column_id(std::string_view name) {
  std::int64_t id = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc{} || ptr != name.data() + name.size()) return std::nullopt;
  return id;
}

// Rule 1: the dataset's last success is within `limit` of now.
bool confirmed(const std::optional<Timestamp>& at, Timestamp now, std::chrono::seconds limit) {
  return at && now - *at <= limit;
}

// When the minute readings of `d` (panels: power; panel_details: the other params) were last
// confirmed. Nothing is fetched while sources/system shows no newer minute (or at night): the
// sources answer is what confirms them then. A failing dataset counts from its own success only.
std::optional<Timestamp> readings_confirmed_at(const SystemValues& s, Dataset d) {
  const auto& readings = s.state(d);
  const auto& sources = s.state(Dataset::sources);
  if (!readings.last_success || !readings.success || !sources.last_success)
    return readings.last_success;
  return std::max(*readings.last_success, *sources.last_success);
}

// Whether the system's gateways still deliver: the newest check-in within the allowance.
// No gateway known (sources never answered): nothing to judge by.
bool gateway_checking_in(const SystemValues& s, Timestamp now, std::chrono::seconds limit) {
  std::optional<Timestamp> newest;
  for (const auto& src : s.sources)
    if (src.last_checkin && (!newest || *src.last_checkin > *newest)) newest = src.last_checkin;
  return !newest || now - *newest <= std::max<std::chrono::seconds>(limit, kTigoTimeAllowance);
}

date::year local_year(Timestamp t, const date::time_zone* zone) {
  return date::year_month_day{tigo::local_day(t, zone)}.year();
}

// Rule 2 for the summary: each figure only while the time it is true for covers now.
tigo::Summary current_summary(tigo::Summary sum, Timestamp as_of, Timestamp now,
                              const date::time_zone* zone, std::chrono::seconds limit) {
  if (now - as_of > std::max<std::chrono::seconds>(limit, kTigoTimeAllowance))
    sum.last_power_w.reset();
  if (tigo::local_day(as_of, zone) != tigo::local_day(now, zone)) sum.daily_energy_wh.reset();
  if (local_year(as_of, zone) != local_year(now, zone)) sum.ytd_energy_wh.reset();
  return sum;  // the lifetime counter is true for all time up to updated_on
}

// Ready means "can serve": the list answered and each system's objects and summary were tried. A
// dataset that keeps failing shows in tigo_refresh_success, not here: one broken system (or an
// account without the API subscription) must not take the whole exporter out of its Service.
bool can_serve(const SystemValues& s) {
  return std::all_of(kReadinessDatasets.begin(), kReadinessDatasets.end(),
                     [&](Dataset d) { return s.state(d).attempted; });
}

}  // namespace

namespace {

// The longer of the staleness and kIntervalsPerLimit times `every` (seconds), if known.
std::chrono::seconds limit_for(std::optional<double> every, const BuildOptions& o) {
  auto limit = std::chrono::duration_cast<std::chrono::seconds>(o.max_staleness);
  if (every)
    limit = std::max(limit, std::chrono::seconds{
                                static_cast<std::int64_t>(std::ceil(*every * kIntervalsPerLimit))});
  return limit;
}

std::optional<double> interval_of(Dataset d, const BuildOptions& o, std::int64_t system_id) {
  const auto i = static_cast<std::size_t>(d);
  if (const auto it = o.system_intervals.find(system_id);
      it != o.system_intervals.end() && it->second[i])
    return it->second[i];
  return o.intervals[i];
}

}  // namespace

std::chrono::seconds value_limit(Dataset d, const BuildOptions& o, std::int64_t system_id) {
  return limit_for(interval_of(d, o, system_id), o);
}

std::chrono::seconds readings_limit(const BuildOptions& o, std::int64_t system_id) {
  return limit_for(interval_of(Dataset::sources, o, system_id), o);
}

void mark_success(DatasetState& s, Timestamp at) {
  s.attempted = true;
  s.success = true;
  s.last_success = s.last_success ? std::max(*s.last_success, at) : at;
  s.last_error.clear();
}

void mark_failure(DatasetState& s, std::string error) {
  s.attempted = true;
  s.success = false;
  s.last_error = std::move(error);
}

const std::shared_ptr<const Hierarchy>& no_hierarchy() {
  static const auto empty = std::make_shared<const Hierarchy>();
  return empty;
}

void update_hierarchy(SystemState& s, const std::map<std::int64_t, std::string>& types) {
  s.hierarchy = std::make_shared<const Hierarchy>(
      resolve_hierarchy(s.objects ? &*s.objects : nullptr, types, s.layout ? &*s.layout : nullptr));
  // Panels that left the layout leave their readings behind.
  std::map<std::int64_t, PanelReadings> kept;
  for (const auto& p : s.hierarchy->panels) {
    if (auto it = s.panel_values.find(p.object_id); it != s.panel_values.end())
      kept.emplace(p.object_id, it->second);
  }
  s.panel_values = std::move(kept);
}

std::optional<Timestamp> apply_aggregate(SystemState& s, tigo::PanelParam param,
                                         const tigo::CsvTable& table) {
  // Only the panels' columns: the gateway's own sensor column (sensors=true, the API's default)
  // runs to the last whole minute, ahead of the panels' batches; taken for the newest minute it
  // would hide when a batch really arrives.
  std::vector<std::int64_t> panels;
  panels.reserve(s.hierarchy->panels.size());
  for (const auto& p : s.hierarchy->panels) panels.push_back(p.object_id);
  std::sort(panels.begin(), panels.end());
  std::optional<Timestamp> newest;
  for (const auto& col : table.columns) {
    if (!col.newest) continue;
    const auto id = column_id(col.name);
    if (!id || !std::binary_search(panels.begin(), panels.end(), *id)) continue;
    const Timestamp at = tigo::local_to_utc(col.newest->time, s.zone);
    newest = newest ? std::max(*newest, at) : at;
    auto& slot = s.panel_values[*id][param];
    if (!slot || slot->sample <= at) slot = Reading{col.newest->value, at};
  }
  return newest;
}

void integrate_panel_minutes(SystemState& s, const tigo::CsvTable& table) {
  std::vector<std::int64_t> panels;
  panels.reserve(s.hierarchy->panels.size());
  for (const auto& p : s.hierarchy->panels) panels.push_back(p.object_id);
  std::sort(panels.begin(), panels.end());
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    const auto id = column_id(table.columns[c].name);
    if (!id || !std::binary_search(panels.begin(), panels.end(), *id)) continue;
    auto& e = s.panel_energy[*id];
    for (const auto& row : table.rows) {
      if (c >= row.cells.size() || !row.cells[c]) continue;
      const auto day = date::floor<date::days>(row.time);
      if (day < e.day) continue;  // a window reaching back over midnight
      const Timestamp at = tigo::local_to_utc(row.time, s.zone);
      if (day > e.day) e = MinuteEnergy{day, 0, 0, {}};
      if (e.minutes > 0 && at <= e.last) continue;  // counted before
      e.wh += std::max(0.0, *row.cells[c]) / 60;
      ++e.minutes;
      e.last = at;
    }
  }
}

void apply_combined_minute(SystemState& s, const tigo::CsvTable& table) {
  for (const auto& col : table.columns) {
    const auto id = column_id(col.name);
    if (!id || !col.newest) continue;
    const Timestamp at = tigo::local_to_utc(col.newest->time, s.zone);
    auto it = s.object_power.find(*id);
    if (it == s.object_power.end() || it->second.sample <= at)
      s.object_power[*id] = Reading{col.newest->value, at};
  }
}

void apply_combined_day(SystemState& s, const tigo::CsvTable& table) {
  for (const auto& col : table.columns) {
    const auto id = column_id(col.name);
    if (!id || !col.newest) continue;
    s.object_energy_today[*id] = {col.newest->value, date::floor<date::days>(col.newest->time)};
  }
}

namespace {

// Which of a system's values the staleness rule vouches for at `now`.
struct Vouched {
  bool info = false, summary = false, hierarchy = false, combined = false, gateways = false,
       alerts = false;
  bool gateway_checking_in = false;
  bool power = false, details = false;  // minute readings: panel power, the other params
};

Vouched vouched(std::int64_t id, const SystemValues& s, Timestamp now, const BuildOptions& o) {
  const auto ok = [&](Dataset d) {
    return confirmed(s.state(d).last_success, now, value_limit(d, o, id));
  };
  const auto minute_limit = readings_limit(o, id);
  Vouched v;
  v.gateway_checking_in = gateway_checking_in(s, now, minute_limit);
  const auto readings_ok = [&](Dataset d) {
    return v.gateway_checking_in && confirmed(readings_confirmed_at(s, d), now, minute_limit);
  };
  v.info = ok(Dataset::system);
  v.summary = ok(Dataset::summary);
  v.hierarchy = ok(Dataset::objects) || ok(Dataset::layout);
  v.power = readings_ok(Dataset::panels);
  v.details = readings_ok(Dataset::panel_details);
  v.combined = ok(Dataset::combined) && v.gateway_checking_in;
  v.gateways = ok(Dataset::sources);
  v.alerts = ok(Dataset::alerts);
  return v;
}

// The hierarchy's panels with the readings vouched for, and whether each is reporting.
std::vector<Panel> panels_with_readings(const SystemValues& s, const Vouched& v) {
  std::vector<Panel> panels = s.hierarchy->panels;
  if (!v.power && !v.details) return panels;
  // The newest minute over the system's panels only: a gateway (CCA) sensor column is fresher
  // than the panels and would make every panel look behind.
  std::optional<Timestamp> newest_minute;
  for (const auto& p : panels) {
    const auto it = s.panel_values.find(p.object_id);
    if (it == s.panel_values.end()) continue;
    const auto& pin = it->second[tigo::PanelParam::power];
    if (pin && (!newest_minute || pin->sample > *newest_minute)) newest_minute = pin->sample;
  }
  for (auto& p : panels) {
    const auto it = s.panel_values.find(p.object_id);
    if (it == s.panel_values.end()) continue;
    for (const auto& spec : tigo::kPanelParams)
      if (spec.param == tigo::PanelParam::power ? v.power : v.details)
        p.readings[spec.param] = it->second[spec.param];
    // Columns are not filled on the same row: a few minutes behind the newest is still
    // reporting; a dead optimizer is hours behind or has no reading at all.
    const auto& pin = p.readings[tigo::PanelParam::power];
    p.reporting = pin && newest_minute && *newest_minute - pin->sample <= kReportingSlack;
  }
  return panels;
}

// data/combined of the system, inverters and strings; today's energy only on the site's today.
std::vector<ObjectReading> object_readings(const SystemValues& s, Timestamp now) {
  std::vector<ObjectReading> out;
  const auto today = tigo::local_day(now, s.zone);
  for (const auto& obj : s.hierarchy->combined_objects) {
    ObjectReading r{obj.object_id, obj.object_type, obj.label, std::nullopt, std::nullopt};
    if (auto it = s.object_power.find(obj.object_id); it != s.object_power.end())
      r.power_w = it->second.value;
    if (auto it = s.object_energy_today.find(obj.object_id);
        it != s.object_energy_today.end() && it->second.second == today)
      r.energy_today_wh = it->second.first;
    if (r.power_w || r.energy_today_wh) out.push_back(std::move(r));
  }
  return out;
}

std::vector<Gateway> gateways(const std::vector<tigo::Source>& sources) {
  std::vector<Gateway> out;
  out.reserve(sources.size());
  for (const auto& src : sources) {
    Gateway g;
    g.source_id = std::to_string(src.source_id);
    g.name = src.name;
    g.serial = src.serial;
    g.sw_version = src.sw_version;
    g.timezone = src.timezone;
    g.last_checkin = src.last_checkin;
    if (src.gateway_count) g.gateway_count = static_cast<double>(*src.gateway_count);
    g.control_state = src.control_state;
    for (const auto& set : src.sets) g.sets.push_back({set.name, set.last_min, set.last_day});
    out.push_back(std::move(g));
  }
  return out;
}

// Alerts generated inside the window, per code. Every code alerts/types knows is counted, 0
// included: a dashboard shows 0, not "no data".
std::vector<AlertCount> alert_counts(const std::vector<tigo::Alert>& alerts,
                                     const std::map<std::int64_t, tigo::AlertType>& types,
                                     Timestamp now, std::chrono::milliseconds window) {
  std::map<std::int64_t, AlertCount> by_code;
  for (const auto& [code, type] : types)
    by_code[code] = AlertCount{std::to_string(code), type.title, 0, std::nullopt};
  for (const auto& a : alerts) {
    if (!a.generated || *a.generated < now - window) continue;
    auto& c = by_code[a.unique_id];
    c.unique_id = std::to_string(a.unique_id);
    if (c.title.empty()) {
      const auto t = types.find(a.unique_id);
      c.title = t != types.end() && !t->second.title.empty() ? t->second.title : a.title;
    }
    ++c.count;
    if (!c.last_generated || *a.generated > *c.last_generated) c.last_generated = a.generated;
  }
  std::vector<AlertCount> out;
  out.reserve(by_code.size());
  for (auto& [code, c] : by_code) out.push_back(std::move(c));
  return out;
}

SystemEntry system_entry(std::int64_t id, const SystemValues& s,
                         const std::map<std::int64_t, tigo::AlertType>& alert_types, Timestamp now,
                         const BuildOptions& o) {
  const auto v = vouched(id, s, now, o);
  SystemEntry e;
  e.system = s.system;
  e.states = s.states;
  e.info_current = v.info;
  if (v.summary && s.summary) {
    // Without updated_on the figures are as of the answer.
    const auto as_of = s.summary->updated_on.value_or(*s.state(Dataset::summary).last_success);
    e.summary =
        current_summary(*s.summary, as_of, now, s.zone, value_limit(Dataset::summary, o, id));
  }
  if (v.hierarchy) {
    e.objects = s.hierarchy->objects;
    e.panels = panels_with_readings(s, v);
    // Today's energy from the minutes, where they cover part of the site-local today.
    const auto today = tigo::local_day(now, s.zone);
    for (auto& p : e.panels) {
      const auto it = s.panel_energy.find(p.object_id);
      if (!v.power || it == s.panel_energy.end() || it->second.day != today) continue;
      p.energy_today_wh = it->second.wh;
      p.energy_covered_s = 60.0 * it->second.minutes;
    }
  }
  if (v.combined) e.object_readings = object_readings(s, now);
  if (v.gateways) e.gateways = gateways(s.sources);
  if (v.alerts) e.alerts = alert_counts(s.alerts, alert_types, now, o.alerts_window);
  return e;
}

// A system of FleetState::systems or of FleetView::systems.
using FleetEntry = std::pair<const std::int64_t, SystemState>;
std::int64_t id_of(const FleetEntry& s) { return s.first; }
std::int64_t id_of(const SharedSystem& s) { return s.id; }
const SystemValues& values_of(const FleetEntry& s) { return s.second; }
const SystemValues& values_of(const SharedSystem& s) { return *s.values; }

// FleetState and FleetView alike: the fleet's parts, then one entry per system.
template <typename Fleet>
Snapshot build(const Fleet& fleet, Timestamp now, const BuildOptions& o) {
  Snapshot snap;
  snap.built_at = now;
  snap.intervals = o.intervals;
  snap.budget_plan = o.budget_plan;
  snap.beyond_budget = o.beyond_budget;
  if (fleet.user)
    snap.user =
        User{std::to_string(fleet.user->user_id), fleet.user->user_type, fleet.user->company};
  bool ready = fleet.listed_at.has_value();
  snap.systems.reserve(fleet.systems.size());
  for (const auto& system : fleet.systems) {
    const SystemValues& s = values_of(system);
    ready = ready && can_serve(s);
    snap.systems.push_back(system_entry(id_of(system), s, fleet.alert_types, now, o));
  }
  snap.ready = ready;
  snap.unlisted_systems = fleet.unlisted_systems;
  return snap;
}

}  // namespace

Snapshot build_snapshot(const FleetView& fleet, Timestamp now, const BuildOptions& o) {
  return build(fleet, now, o);
}

Snapshot build_snapshot(const FleetState& fleet, Timestamp now, const BuildOptions& o) {
  return build(fleet, now, o);
}

FleetView SystemShares::view(const FleetState& fleet) {
  FleetView v;
  v.user = fleet.user;
  v.alert_types = fleet.alert_types;
  v.listed_at = fleet.listed_at;
  v.unlisted_systems = fleet.unlisted_systems;
  v.systems.reserve(fleet.systems.size());
  copied_ = 0;
  // Both in ascending ids: one walk pairs each system with its last shared copy.
  auto last = shared_.begin();
  for (const auto& [id, s] : fleet.systems) {
    while (last != shared_.end() && last->id < id) ++last;
    if (last != shared_.end() && last->id == id && s.revision != 0 &&
        last->revision == s.revision) {
      v.systems.push_back(*last);
      continue;
    }
    // Only the values: the raw answers and the fetch cursors stay with the fleet.
    v.systems.push_back(
        {id, s.revision,
         std::make_shared<const SystemValues>(static_cast<const SystemValues&>(s))});
    ++copied_;
  }
  shared_ = v.systems;  // systems that left the fleet are let go
  return v;
}

}  // namespace refresh
