#include "refresh/fleet_state.hpp"

#include <algorithm>
#include <charconv>

namespace refresh {
namespace {

constexpr std::chrono::minutes kReportingSlack{5};

std::optional<std::int64_t> column_id(std::string_view name) {
  std::int64_t id = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc{} || ptr != name.data() + name.size()) return std::nullopt;
  return id;
}

// A dataset's data is served while its last refresh succeeded, and while it has been failing for
// no longer than max_staleness (the hierarchy refreshes every 6 h: age alone says nothing).
bool fresh(const DatasetState& st, Timestamp now, std::chrono::milliseconds max_staleness) {
  return st.last_success && (st.success || now - *st.last_success <= max_staleness);
}

// The datasets a system's first round asks for at once. Panels and combined wait for the
// objects, so they are left out: a system whose objects keep failing must not block readiness.
constexpr Dataset kFirstRound[] = {Dataset::summary, Dataset::objects, Dataset::layout,
                                   Dataset::sources, Dataset::alerts};

// Ready means "can serve": the list answered and each system's first round was tried. A dataset
// that keeps failing shows in tigo_refresh_success, not here: one broken system (or an account
// without the API subscription) must not take the whole exporter out of its Service.
bool first_round_attempted(const SystemState& s) {
  return std::all_of(std::begin(kFirstRound), std::end(kFirstRound),
                     [&](Dataset d) { return s.state(d).attempted; });
}

}  // namespace

void mark_success(DatasetState& s, Timestamp now) {
  s.attempted = true;
  s.success = true;
  s.last_success = now;
  s.last_error.clear();
}

void mark_failure(DatasetState& s, std::string error) {
  s.attempted = true;
  s.success = false;
  s.last_error = std::move(error);
}

void update_hierarchy(SystemState& s, const std::map<std::int64_t, std::string>& types) {
  s.hierarchy =
      resolve_hierarchy(s.objects ? &*s.objects : nullptr, types, s.layout ? &*s.layout : nullptr);
  // Panels that left the layout leave their readings behind.
  std::map<std::int64_t, PanelReadings> kept;
  for (const auto& p : s.hierarchy.panels) {
    if (auto it = s.panel_values.find(p.object_id); it != s.panel_values.end())
      kept.emplace(p.object_id, it->second);
  }
  s.panel_values = std::move(kept);
}

std::optional<Timestamp> apply_aggregate(SystemState& s, tigo::PanelParam param,
                                         const tigo::CsvTable& table) {
  std::optional<Timestamp> newest;
  for (const auto& col : table.columns) {
    if (!col.newest) continue;
    const auto id = column_id(col.name);
    if (!id) continue;
    const Timestamp at = tigo::local_to_utc(col.newest->time, s.zone);
    newest = newest ? std::max(*newest, at) : at;
    auto& slot = s.panel_values[*id][param];
    if (!slot || slot->sample <= at) slot = Reading{col.newest->value, at};
  }
  return newest;
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

Snapshot build_snapshot(const FleetState& fleet, Timestamp now, const BuildOptions& o) {
  Snapshot snap;
  snap.built_at = now;
  snap.intervals = o.intervals;
  snap.budget_plan = o.budget_plan;
  snap.beyond_budget = o.beyond_budget;
  if (fleet.user)
    snap.user =
        User{std::to_string(fleet.user->user_id), fleet.user->user_type, fleet.user->company};
  bool ready = fleet.listed_at.has_value();
  for (const auto& [id, s] : fleet.systems) {
    SystemEntry e;
    e.system = s.system;
    e.states = s.states;
    ready = ready && first_round_attempted(s);
    // Init-capture: clang 14 (clang-tidy) cannot capture a structured binding.
    auto ok = [&, &sys = s](Dataset d) { return fresh(sys.state(d), now, o.max_staleness); };

    if (ok(Dataset::summary)) e.summary = s.summary;
    if (ok(Dataset::objects) || ok(Dataset::layout)) {
      e.objects = s.hierarchy.objects;
      e.panels = s.hierarchy.panels;
    }
    if (ok(Dataset::panels)) {
      // The newest minute over the system's panels only: a gateway (CCA) sensor column is
      // fresher than the panels and would make every panel look behind.
      std::optional<Timestamp> newest_minute;
      for (const auto& p : e.panels) {
        const auto it = s.panel_values.find(p.object_id);
        if (it == s.panel_values.end()) continue;
        const auto& pin = it->second[tigo::PanelParam::power];
        if (pin && (!newest_minute || pin->sample > *newest_minute)) newest_minute = pin->sample;
      }
      for (auto& p : e.panels) {
        const auto it = s.panel_values.find(p.object_id);
        if (it == s.panel_values.end()) continue;
        p.readings = it->second;
        // Columns are not filled on the same row: a few minutes behind the newest is still
        // reporting; a dead optimizer is hours behind or has no reading at all.
        const auto& pin = p.readings[tigo::PanelParam::power];
        p.reporting = pin && newest_minute && *newest_minute - pin->sample <= kReportingSlack;
      }
    } else {
      for (auto& p : e.panels) p.reporting = false;
    }
    if (ok(Dataset::combined)) {
      const auto today = tigo::local_day(now, s.zone);
      for (const auto& obj : s.hierarchy.combined_objects) {
        ObjectReading r{obj.object_id, obj.object_type, obj.label, std::nullopt, std::nullopt};
        if (auto it = s.object_power.find(obj.object_id); it != s.object_power.end())
          r.power_w = it->second.value;
        if (auto it = s.object_energy_today.find(obj.object_id);
            it != s.object_energy_today.end() && it->second.second == today)
          r.energy_today_wh = it->second.first;
        if (r.power_w || r.energy_today_wh) e.object_readings.push_back(std::move(r));
      }
    }
    if (ok(Dataset::sources)) {
      for (const auto& src : s.sources) {
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
        e.gateways.push_back(std::move(g));
      }
    }
    if (ok(Dataset::alerts)) {
      // Every code alerts/types knows is counted, 0 included: a dashboard shows 0, not "no data".
      std::map<std::int64_t, AlertCount> by_code;
      for (const auto& [code, type] : fleet.alert_types)
        by_code[code] = AlertCount{std::to_string(code), type.title, 0, std::nullopt};
      for (const auto& a : s.alerts) {
        if (!a.generated || *a.generated < now - o.alerts_window) continue;
        auto& c = by_code[a.unique_id];
        c.unique_id = std::to_string(a.unique_id);
        if (c.title.empty()) {
          const auto t = fleet.alert_types.find(a.unique_id);
          c.title =
              t != fleet.alert_types.end() && !t->second.title.empty() ? t->second.title : a.title;
        }
        ++c.count;
        if (!c.last_generated || *a.generated > *c.last_generated) c.last_generated = a.generated;
      }
      for (auto& [code, c] : by_code) e.alerts.push_back(std::move(c));
    }
    snap.systems.push_back(std::move(e));
  }
  snap.ready = ready;
  snap.unlisted_systems = fleet.unlisted_systems;
  return snap;
}

}  // namespace refresh
