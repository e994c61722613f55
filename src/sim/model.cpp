#include "sim/model.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>

namespace sim {
namespace {

using std::chrono::sys_seconds;

sys_seconds local_midnight_to_sys(const date::time_zone* zone, date::local_days day) {
  // Midnight may not exist on a DST change day; take the earliest instant of that local day.
  const auto info = zone->get_info(date::local_seconds{day.time_since_epoch()});
  if (info.result == date::local_info::nonexistent)
    return std::chrono::floor<std::chrono::seconds>(info.second.begin);
  return zone->to_sys(date::local_seconds{day.time_since_epoch()}, date::choose::earliest);
}

constexpr double kOpenCircuitRatio = 1.18;  // Voc / Vmp: what an optimizer in PV-Off sees

}  // namespace

const date::time_zone* zone_or_utc(const std::string& tz) {
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");
  }
}

sys_seconds local_day_start(const std::string& tz, sys_seconds t) {
  const auto* zone = zone_or_utc(tz);
  const auto local = zone->to_local(t);
  return local_midnight_to_sys(zone, date::floor<date::days>(local));
}

sys_seconds local_year_start(const std::string& tz, sys_seconds t) {
  const auto* zone = zone_or_utc(tz);
  const auto local = zone->to_local(t);
  const date::year_month_day ymd{date::floor<date::days>(local)};
  return local_midnight_to_sys(zone, date::local_days{ymd.year() / 1 / 1});
}

SystemContext make_context(const Fleet& fleet, const SystemSpec& s) {
  SystemContext c;
  c.spec = s;
  c.topo = build_topology(fleet, s);
  c.fault = planted_fault(fleet, s, c.topo);
  c.panels.reserve(static_cast<std::size_t>(s.panels));
  for (int i = 0; i < s.panels; ++i) c.panels.push_back(fleet.panel(s, i));
  c.zone = zone_or_utc(s.timezone);
  c.has_temp = mix(s.seed ^ 0x7E3ULL) % 2 == 0;
  return c;
}

double PowerModel::irradiance_w_m2(const SystemSpec& s, sys_seconds t) const {
  const auto sky = solar::clear_sky(s.latitude, s.longitude, s.plane, t);
  if (sky.poa_w_m2 <= 0) return 0;
  return sky.poa_w_m2 * solar::cloud_transmittance(s.seed, t);
}

double PowerModel::cell_temperature_c(const SystemSpec& s, sys_seconds t) const {
  return solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, t),
                                   irradiance_w_m2(s, t));
}

double PowerModel::panel_factor(const SystemContext& c, int panel, sys_seconds t) const {
  if (!c.fault.active(t)) return 1.0;
  switch (c.fault.kind) {
    case FaultKind::ShadedPanel:
      return panel == c.fault.panel && in_afternoon_shadow(c.spec.longitude, t) ? kShadeFactor
                                                                                : 1.0;
    case FaultKind::WeakString:
      return c.topo.panels[static_cast<std::size_t>(panel)].string_index == c.fault.string
                 ? kWeakStringFactor
                 : 1.0;
    case FaultKind::DeadOptimizer:
      return panel == c.fault.panel ? 0.0 : 1.0;
    case FaultKind::PvOff:
      return 0.0;
    case FaultKind::GatewayStall:
    case FaultKind::None:
      break;
  }
  return 1.0;
}

void PowerModel::minute(const SystemContext& c, sys_seconds t, std::vector<Sample>& out) const {
  const auto& s = c.spec;
  out.assign(c.panels.size(), Sample{});
  const double poa = irradiance_w_m2(s, t);
  if (poa <= 0) return;  // night: optimizers asleep, no readings at all
  const double cell =
      solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, t), poa);
  const bool pv_off = c.fault.kind == FaultKind::PvOff && c.fault.active(t);
  const auto minute_index = static_cast<std::uint64_t>(t.time_since_epoch().count() / 60);
  for (std::size_t i = 0; i < c.panels.size(); ++i) {
    const int pi = static_cast<int>(i);
    if (c.fault.kind == FaultKind::DeadOptimizer && pi == c.fault.panel && c.fault.active(t))
      continue;
    Sample& x = out[i];
    x.present = true;
    pv::PanelSpec spec = c.panels[i];
    spec.efficiency_factor *= panel_factor(c, pi, t);
    if (pv_off) {
      // Output shut down: the module sits at open circuit, no current flows.
      const double v =
          poa >= pv::kWakeIrradianceWM2
              ? spec.vmp_v * kOpenCircuitRatio * (1.0 + pv::kVoltageTempCoeff * (cell - 25))
              : 0.0;
      x.dv = static_cast<std::int32_t>(std::lround(v * 10));
    } else {
      const auto r = pv::operate(spec, poa, cell);
      x.dv = static_cast<std::int32_t>(std::lround(r.vin_v * 10));
      x.ca = static_cast<std::int32_t>(std::lround(r.iin_a * 100));
    }
    x.mw = static_cast<std::int64_t>(x.dv) * x.ca;
    const std::uint64_t ph = mix(s.seed ^ (0x55AA0000ULL + i));
    const int base = 140 + static_cast<int>(ph % 80);
    const int noise = static_cast<int>(mix(ph ^ minute_index) % 21) - 10;
    x.rssi = std::clamp(base + noise, 0, 255);
    x.temp_c = cell + (unit(mix(ph + 1)) - 0.5) * 3.0;
  }
}

pv::PanelReading PowerModel::panel(const SystemSpec& s, int panel_index, sys_seconds t) const {
  const auto c = make_context(fleet_, s);
  std::vector<Sample> out;
  minute(c, t, out);
  const auto& x = out.at(static_cast<std::size_t>(panel_index));
  return pv::PanelReading{x.dv / 10.0, x.ca / 100.0, static_cast<double>(x.mw) / 1000.0};
}

std::int64_t PowerModel::system_power_mw(const SystemContext& c, sys_seconds t) const {
  std::vector<Sample> out;
  minute(c, t, out);
  std::int64_t sum = 0;
  for (const auto& x : out) sum += x.mw;
  return sum;
}

double PowerModel::system_power_w(const SystemSpec& s, sys_seconds t) const {
  return static_cast<double>(system_power_mw(make_context(fleet_, s), t)) / 1000.0;
}

PowerModel::Profile PowerModel::profile(const SystemContext& c,
                                        const std::vector<int>* panels) const {
  Profile p;
  auto add = [&](int i) {
    const auto& spec = c.panels[static_cast<std::size_t>(i)];
    const double w = spec.rated_w * spec.efficiency_factor;
    const auto& f = c.fault;
    if (f.kind == FaultKind::ShadedPanel && i == f.panel) {
      p.shaded_w += w;
    } else if (f.kind == FaultKind::DeadOptimizer && i == f.panel) {
      p.dead_w += w;
    } else if (f.kind == FaultKind::WeakString &&
               c.topo.panels[static_cast<std::size_t>(i)].string_index == f.string) {
      p.weak_w += w;
    } else {
      p.base_w += w;
    }
  };
  if (panels) {
    for (int i : *panels) add(i);
  } else {
    for (int i = 0; i < static_cast<int>(c.panels.size()); ++i) add(i);
  }
  return p;
}

double PowerModel::rating_at(const SystemContext& c, const Profile& p, sys_seconds t) const {
  const double all = p.base_w + p.shaded_w + p.weak_w + p.dead_w;
  if (!c.fault.active(t)) return all;
  switch (c.fault.kind) {
    case FaultKind::PvOff:
      return 0.0;
    case FaultKind::DeadOptimizer:
      return all - p.dead_w;
    case FaultKind::WeakString:
      return all - p.weak_w * (1.0 - kWeakStringFactor);
    case FaultKind::ShadedPanel:
      return in_afternoon_shadow(c.spec.longitude, t) ? all - p.shaded_w * (1.0 - kShadeFactor)
                                                      : all;
    case FaultKind::GatewayStall:
    case FaultKind::None:
      break;
  }
  return all;
}

double PowerModel::grid_energy(const SystemContext& c, const Profile& p, sys_seconds from,
                               sys_seconds to) const {
  if (to <= from) return 0;
  const auto& s = c.spec;
  // A 1 W reference panel scaled by the rating gives the panel sum (the panel model is linear
  // in rating and efficiency) at a fraction of the cost.
  const pv::PanelSpec reference{1.0, s.panel_vmp_v, 1.0};
  const auto step = kEnergyStep;
  auto k =
      from - std::chrono::seconds{
                 ((from.time_since_epoch().count() % step.count()) + step.count()) % step.count()};
  double wh = 0;
  for (; k < to; k += step) {
    const auto lo = std::max(k, from);
    const auto hi = std::min(k + step, to);
    const double poa = irradiance_w_m2(s, k);
    if (poa <= 0) continue;
    const double rating = rating_at(c, p, k);
    if (rating <= 0) continue;
    const double cell =
        solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, k), poa);
    const double w = pv::operate(reference, poa, cell).pin_w * rating;
    wh += w * static_cast<double>((hi - lo).count()) / 3600.0;
  }
  return wh;
}

double PowerModel::energy_between(const SystemContext& c, const std::vector<int>& panels,
                                  sys_seconds from, sys_seconds to) const {
  return grid_energy(c, profile(c, &panels), from, to);
}

bool PowerModel::panel_energies(const SystemContext& c, sys_seconds from, sys_seconds to,
                                std::vector<double>& wh) const {
  wh.assign(c.panels.size(), 0.0);
  bool daylight = false;
  if (to <= from) return daylight;
  const auto& s = c.spec;
  const pv::PanelSpec reference{1.0, s.panel_vmp_v, 1.0};
  const auto step = kEnergyStep;
  auto k =
      from - std::chrono::seconds{
                 ((from.time_since_epoch().count() % step.count()) + step.count()) % step.count()};
  for (; k < to; k += step) {
    const auto lo = std::max(k, from);
    const auto hi = std::min(k + step, to);
    const double poa = irradiance_w_m2(s, k);
    if (poa <= 0) continue;
    daylight = true;
    const double cell =
        solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, k), poa);
    const double ref =
        pv::operate(reference, poa, cell).pin_w * static_cast<double>((hi - lo).count()) / 3600.0;
    for (std::size_t i = 0; i < c.panels.size(); ++i) {
      const auto& spec = c.panels[i];
      wh[i] +=
          ref * spec.rated_w * spec.efficiency_factor * panel_factor(c, static_cast<int>(i), k);
    }
  }
  return daylight;
}

double PowerModel::history_wh(const SystemContext& c, const Profile& p, sys_seconds t) const {
  // Full-sun hours a day from latitude, times a typical cloud loss: a closed-form yield.
  const double sun_hours = std::clamp(4.6 - 0.035 * std::fabs(c.spec.latitude), 1.8, 5.0) * 0.8;
  const sys_seconds start{c.spec.turn_on.time_since_epoch()};
  const double days = static_cast<double>((t - start).count()) / 86400.0;
  return std::max(days, 0.0) * sun_hours * (p.base_w + p.shaded_w + p.weak_w + p.dead_w);
}

double PowerModel::energy_until(const SystemContext& c, const Profile& p, sys_seconds t) const {
  const auto& s = c.spec;
  const sys_seconds turn_on{s.turn_on.time_since_epoch()};
  if (t <= turn_on) return 0;
  // Before the model epoch the energy is a closed-form ramp; from it on, the exact sum. So a
  // first answer costs at most the time since the epoch, not the system's whole life.
  if (turn_on < kModelEpoch && t <= kModelEpoch) return history_wh(c, p, t);
  const sys_seconds start = std::max(turn_on, kModelEpoch);
  const double start_wh = turn_on < kModelEpoch ? history_wh(c, p, kModelEpoch) : 0.0;
  // Checkpoints sit on the grid only, so every path adds the same terms in the same order and the
  // answer is bit-identical whatever was asked before (determinism of the simulator's bodies).
  const auto grid = t - std::chrono::seconds{t.time_since_epoch().count() % kEnergyStep.count()};
  Checkpoint from{start, start_wh};
  {
    std::lock_guard lock(memo_mutex_);
    if (auto it = memo_.find(s.system_id); it != memo_.end()) {
      for (const auto& cp : it->second) {
        if (cp.at <= grid && cp.at > from.at) from = cp;
      }
    }
  }
  const double at_grid = from.energy_wh + grid_energy(c, p, from.at, grid);
  if (grid > start) {
    std::lock_guard lock(memo_mutex_);
    auto& cps = memo_[s.system_id];
    auto pos = std::lower_bound(cps.begin(), cps.end(), grid,
                                [](const Checkpoint& cp, sys_seconds at) { return cp.at < at; });
    if (pos == cps.end() || pos->at != grid) cps.insert(pos, Checkpoint{grid, at_grid});
    // Keep the earliest (year and day starts) and the newest; drop the second newest.
    if (cps.size() > kCheckpoints) cps.erase(cps.end() - 2);
  }
  return at_grid + grid_energy(c, p, std::max(grid, start), t);
}

EnergyTotals PowerModel::energy(const SystemContext& c, sys_seconds t) const {
  const auto p = profile(c, nullptr);
  // Ascending order, so each call extends the checkpoint of the previous one.
  const double at_year = energy_until(c, p, local_year_start(c.spec.timezone, t));
  const double at_day = energy_until(c, p, local_day_start(c.spec.timezone, t));
  const double now = energy_until(c, p, t);
  return EnergyTotals{now - at_day, now - at_year, now};
}

EnergyTotals PowerModel::energy(const SystemSpec& s, sys_seconds t) const {
  return energy(make_context(fleet_, s), t);
}

}  // namespace sim
