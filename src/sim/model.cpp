#include "sim/model.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>

namespace sim {
namespace {

using std::chrono::sys_seconds;

const date::time_zone* zone_or_utc(const std::string& tz) {
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");
  }
}

sys_seconds local_midnight_to_sys(const date::time_zone* zone, date::local_days day) {
  // Midnight may not exist on a DST change day; take the earliest instant of that local day.
  const auto info = zone->get_info(date::local_seconds{day.time_since_epoch()});
  if (info.result == date::local_info::nonexistent)
    return std::chrono::floor<std::chrono::seconds>(info.second.begin);
  return zone->to_sys(date::local_seconds{day.time_since_epoch()}, date::choose::earliest);
}

}  // namespace

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

double PowerModel::irradiance_w_m2(const SystemSpec& s, sys_seconds t) const {
  const auto sky = solar::clear_sky(s.latitude, s.longitude, s.plane, t);
  if (sky.poa_w_m2 <= 0) return 0;
  return sky.poa_w_m2 * solar::cloud_transmittance(s.seed, t);
}

double PowerModel::cell_temperature_c(const SystemSpec& s, sys_seconds t) const {
  return solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, t),
                                   irradiance_w_m2(s, t));
}

pv::PanelReading PowerModel::panel(const SystemSpec& s, int panel_index, sys_seconds t) const {
  const double poa = irradiance_w_m2(s, t);
  const double cell =
      solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, t), poa);
  return pv::operate(fleet_.panel(s, panel_index), poa, cell);
}

double PowerModel::system_power_w(const SystemSpec& s, sys_seconds t) const {
  const double poa = irradiance_w_m2(s, t);
  if (poa <= 0) return 0;
  const double cell =
      solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, t), poa);
  double sum = 0;
  for (int i = 0; i < s.panels; ++i) sum += pv::operate(fleet_.panel(s, i), poa, cell).pin_w;
  return sum;
}

double PowerModel::energy_between(const SystemSpec& s, double rating_w, sys_seconds from,
                                  sys_seconds to) const {
  if (to <= from) return 0;
  // A 1 W reference panel scaled by the system's effective rating gives the panel sum exactly
  // (the panel model is linear in rating and efficiency) at a fraction of the cost.
  const pv::PanelSpec reference{1.0, s.panel_vmp_v, 1.0};
  const auto step = kEnergyStep;
  auto k = from - std::chrono::seconds{from.time_since_epoch().count() % step.count()};
  double wh = 0;
  for (; k < to; k += step) {
    const auto lo = std::max(k, from);
    const auto hi = std::min(k + step, to);
    const double poa = irradiance_w_m2(s, k);
    if (poa <= 0) continue;
    const double cell =
        solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, k), poa);
    const double w = pv::operate(reference, poa, cell).pin_w * rating_w;
    wh += w * static_cast<double>((hi - lo).count()) / 3600.0;
  }
  return wh;
}

double PowerModel::energy_until(const SystemSpec& s, double rating_w, sys_seconds t) const {
  const sys_seconds start{s.turn_on.time_since_epoch()};
  if (t <= start) return 0;
  // Checkpoints sit on the grid only, so every path adds the same terms in the same order and the
  // answer is bit-identical whatever was asked before (determinism of the simulator's bodies).
  const auto grid = t - std::chrono::seconds{t.time_since_epoch().count() % kEnergyStep.count()};
  Checkpoint from{start, 0};
  {
    std::lock_guard lock(memo_mutex_);
    if (auto it = memo_.find(s.system_id); it != memo_.end()) {
      for (const auto& cp : it->second) {
        if (cp.at <= grid && cp.at > from.at) from = cp;
      }
    }
  }
  const double at_grid = from.energy_wh + energy_between(s, rating_w, from.at, grid);
  if (grid > start) {
    std::lock_guard lock(memo_mutex_);
    auto& cps = memo_[s.system_id];
    auto pos = std::lower_bound(cps.begin(), cps.end(), grid,
                                [](const Checkpoint& cp, sys_seconds at) { return cp.at < at; });
    if (pos == cps.end() || pos->at != grid) cps.insert(pos, Checkpoint{grid, at_grid});
    // Keep the earliest (year and day starts) and the newest; drop the second newest.
    if (cps.size() > kCheckpoints) cps.erase(cps.end() - 2);
  }
  return at_grid + energy_between(s, rating_w, std::max(grid, start), t);
}

EnergyTotals PowerModel::energy(const SystemSpec& s, sys_seconds t) const {
  const double rating = fleet_.effective_rating_w(s);
  // Ascending order, so each call extends the checkpoint of the previous one.
  const double at_year = energy_until(s, rating, local_year_start(s.timezone, t));
  const double at_day = energy_until(s, rating, local_day_start(s.timezone, t));
  const double now = energy_until(s, rating, t);
  return EnergyTotals{now - at_day, now - at_year, now};
}

}  // namespace sim
