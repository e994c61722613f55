#include "sim/model.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <climits>
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

// The history estimate evaluates the clear sky times this mean cloud transmittance, then this
// residual factor (calibrated on fleets of two seeds: the real yearly grid energy over the
// estimate has a median of ~1 and stays within 0.93-1.06).
constexpr double kMeanTransmittance = 0.70;
constexpr double kEstimateCalibration = 0.99;
// The margins of a system's first years (see history_wh): real years stay within +-7 % of the
// estimate; a first year of a few days may be all clear sky, 1 / kMeanTransmittance above it.
constexpr double kEarlyMargin = 1.15;
constexpr double kShortMargin = 0.45;
constexpr int kSampleYear = 2025;

sys_seconds floor_grid(sys_seconds t) {
  const auto step = PowerModel::kEnergyStep.count();
  const auto n = t.time_since_epoch().count();
  return sys_seconds{std::chrono::seconds{n - ((n % step) + step) % step}};
}

sys_seconds ceil_grid(sys_seconds t) {
  const auto f = floor_grid(t);
  return f < t ? f + PowerModel::kEnergyStep : f;
}

date::local_days local_date(const date::time_zone* zone, sys_seconds t) {
  return date::floor<date::days>(zone->to_local(t));
}

sys_seconds year_start(const date::time_zone* zone, int y) {
  return local_midnight_to_sys(zone, date::local_days{date::year{y} / 1 / 1});
}

// Leap years in [1, y].
int leaps_upto(int y) { return y / 4 - y / 100 + y / 400; }

// A periodic linear interpolation of the sample days at day `doy` of a year of `len` days.
double interp(const std::array<double, PowerModel::kSampleDays>& v, int doy, int len) {
  constexpr int n = PowerModel::kSampleDays;
  const double x = (doy + 0.5) * n / len - 0.5;
  const double j0 = std::floor(x);
  const double f = x - j0;
  const int a = (static_cast<int>(j0) % n + n) % n;
  const int b = (a + 1) % n;
  return v[static_cast<std::size_t>(a)] +
         (v[static_cast<std::size_t>(b)] - v[static_cast<std::size_t>(a)]) * f;
}

}  // namespace

sys_seconds turn_on_instant(const SystemSpec& s) {
  return local_midnight_to_sys(zone_or_utc(s.timezone),
                               date::local_days{s.turn_on.time_since_epoch()});
}

const date::time_zone* zone_or_utc(const std::string& tz) {
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");
  }
}

sys_seconds midnight_in(const std::string& tz, date::local_days day) {
  return local_midnight_to_sys(zone_or_utc(tz), day);
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
  c.turn_on = local_midnight_to_sys(c.zone, date::local_days{s.turn_on.time_since_epoch()});
  return c;
}

double plane_irradiance_w_m2(const SystemSpec& s, sys_seconds t) {
  const auto sky = solar::clear_sky(s.latitude, s.longitude, s.plane, t);
  if (sky.poa_w_m2 <= 0) return 0;
  return sky.poa_w_m2 * solar::cloud_transmittance(s.seed, t);
}

double PowerModel::irradiance_w_m2(const SystemSpec& s, sys_seconds t) const {
  return plane_irradiance_w_m2(s, t);
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

double PowerModel::points(const SystemContext& c, sys_seconds t,
                          std::vector<PanelPoint>& out) const {
  const auto& s = c.spec;
  out.assign(c.panels.size(), PanelPoint{});
  if (t < c.turn_on) return 0;  // not installed yet: no optimizers to report
  const double poa = irradiance_w_m2(s, t);
  if (poa <= 0) return poa;  // night: optimizers asleep, no readings at all
  const double cell =
      solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, t), poa);
  const bool pv_off = c.fault.kind == FaultKind::PvOff && c.fault.active(t);
  const auto minute_index = static_cast<std::uint64_t>(t.time_since_epoch().count() / 60);
  for (std::size_t i = 0; i < c.panels.size(); ++i) {
    const int pi = static_cast<int>(i);
    if (c.fault.kind == FaultKind::DeadOptimizer && pi == c.fault.panel && c.fault.active(t))
      continue;
    PanelPoint& x = out[i];
    x.present = true;
    pv::PanelSpec spec = c.panels[i];
    spec.efficiency_factor *= panel_factor(c, pi, t);
    if (pv_off) {
      // Output shut down: the module sits at open circuit, no current flows.
      x.vin_v = poa >= pv::kWakeIrradianceWM2
                    ? spec.vmp_v * kOpenCircuitRatio * (1.0 + pv::kVoltageTempCoeff * (cell - 25))
                    : 0.0;
    } else {
      const auto r = pv::operate(spec, poa, cell);
      x.vin_v = r.vin_v;
      x.iin_a = r.iin_a;
    }
    const std::uint64_t ph = mix(s.seed ^ (0x55AA0000ULL + i));
    const int base = 140 + static_cast<int>(ph % 80);
    const int noise = static_cast<int>(mix(ph ^ minute_index) % 21) - 10;
    x.rssi = std::clamp(base + noise, 0, 255);
    x.temp_c = cell + (unit(mix(ph + 1)) - 0.5) * 3.0;
  }
  return poa;
}

void PowerModel::minute(const SystemContext& c, sys_seconds t, std::vector<Sample>& out) const {
  thread_local std::vector<PanelPoint> scratch;
  points(c, t, scratch);
  out.assign(scratch.size(), Sample{});
  for (std::size_t i = 0; i < scratch.size(); ++i) {
    const auto& p = scratch[i];
    if (!p.present) continue;
    Sample& x = out[i];
    x.present = true;
    x.dv = static_cast<std::int32_t>(std::lround(p.vin_v * 10));
    x.ca = static_cast<std::int32_t>(std::lround(p.iin_a * 100));
    x.mw = static_cast<std::int64_t>(x.dv) * x.ca;
    x.rssi = p.rssi;
    x.temp_c = p.temp_c;
  }
}

double PowerModel::relative_light(const SystemContext& c, int panel, sys_seconds t) const {
  if (c.fault.kind == FaultKind::PvOff && c.fault.active(t)) return 0.0;
  // A weak string is weak as a whole: its panels do not hold back against each other.
  if (c.fault.kind == FaultKind::WeakString) return 1.0;
  return panel_factor(c, panel, t);
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
  if (t < c.turn_on) return 0.0;
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

double PowerModel::step_wh(const SystemContext& c, const Profile& p, sys_seconds k, sys_seconds lo,
                           sys_seconds hi) const {
  grid_steps_.fetch_add(1, std::memory_order_relaxed);
  const double rating = rating_at(c, p, k);
  if (rating <= 0) return 0.0;
  const auto& s = c.spec;
  const double poa = irradiance_w_m2(s, k);
  if (poa <= 0) return 0.0;
  // A 1 W reference panel scaled by the rating gives the panel sum (the panel model is linear
  // in rating and efficiency) at a fraction of the cost.
  const pv::PanelSpec reference{1.0, s.panel_vmp_v, 1.0};
  const double cell =
      solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, k), poa);
  const double w = pv::operate(reference, poa, cell).pin_w * rating;
  return w * static_cast<double>((hi - lo).count()) / 3600.0;
}

void PowerModel::advance(const SystemContext& c, const Profile& p, sys_seconds from,
                         sys_seconds until, GridSum& s) const {
  if (s.next >= until) return;
  auto k = s.next;
  // Steps before turn-on and after PV-Off engaged add only zeros: skip them.
  if (k < c.turn_on) k = std::min(until, ceil_grid(c.turn_on));
  auto end = until;
  if (c.fault.kind == FaultKind::PvOff) end = std::min(end, ceil_grid(c.fault.onset));
  while (k < end) {
    const double wh = step_wh(c, p, k, std::max(k, from), k + kEnergyStep);
    s.wh += wh;
    k += kEnergyStep;
    if (wh > 0 || k >= end) continue;
    // Night: the sun climbs at most 15 degrees an hour, so every step until it could reach the
    // horizon adds exactly zero and is skipped (the sum is unchanged, bit for bit).
    const double elevation =
        solar::sun_position(c.spec.latitude, c.spec.longitude, k).elevation_deg;
    if (elevation < -1.0) {
      const auto dark = static_cast<long>((-elevation - 1.0) / 15.0 * 6.0) + 1;
      k += dark * kEnergyStep;
    }
  }
  s.next = until;
}

double PowerModel::finish(const SystemContext& c, const Profile& p, sys_seconds from,
                          const GridSum& s, sys_seconds to) const {
  if (s.next >= to) return s.wh;
  return s.wh + step_wh(c, p, s.next, std::max(s.next, from), to);
}

double PowerModel::grid_energy(const SystemContext& c, const Profile& p, sys_seconds from,
                               sys_seconds to) const {
  if (to <= from) return 0;
  GridSum s{floor_grid(from), 0.0};
  advance(c, p, from, floor_grid(to), s);
  return finish(c, p, from, s, to);
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
  for (auto k = floor_grid(from); k < to; k += kEnergyStep) {
    if (k < c.turn_on) continue;
    const auto lo = std::max(k, from);
    const auto hi = std::min(k + kEnergyStep, to);
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

PowerModel::Estimate PowerModel::compute_estimate(const SystemContext& c) const {
  Estimate e;
  const auto& s = c.spec;
  const pv::PanelSpec reference{1.0, s.panel_vmp_v, 1.0};
  const double step_h = static_cast<double>(kEnergyStep.count()) / 3600.0;
  for (int j = 0; j < kSampleDays; ++j) {
    const auto doy = static_cast<int>((j + 0.5) * 365.0 / kSampleDays);
    const auto day = date::local_days{date::year{kSampleYear} / 1 / 1} + date::days{doy};
    const auto from = local_midnight_to_sys(c.zone, day);
    const auto to = local_midnight_to_sys(c.zone, day + date::days{1});
    auto& total = e.day_wh[static_cast<std::size_t>(j)];
    auto& shadow = e.shadow_wh[static_cast<std::size_t>(j)];
    for (auto k = ceil_grid(from); k < to; k += kEnergyStep) {
      const double poa =
          solar::clear_sky(s.latitude, s.longitude, s.plane, k).poa_w_m2 * kMeanTransmittance;
      if (poa <= 0) continue;
      const double cell =
          solar::cell_temperature_c(solar::ambient_temperature_c(s.latitude, s.longitude, k), poa);
      const double wh = pv::operate(reference, poa, cell).pin_w * step_h * kEstimateCalibration;
      total += wh;
      if (in_afternoon_shadow(s.longitude, k)) shadow += wh;
    }
  }
  for (int i = 0; i < 2; ++i) {
    const int len = 365 + i;
    for (int d = 0; d < len; ++d) {
      e.year_wh[i] += interp(e.day_wh, d, len);
      e.year_shadow_wh[i] += interp(e.shadow_wh, d, len);
    }
  }
  return e;
}

std::shared_ptr<const PowerModel::Estimate> PowerModel::estimate(const SystemContext& c) const {
  {
    std::lock_guard lock(memo_mutex_);
    if (auto it = memo_.find(c.spec.system_id); it != memo_.end() && it->second.estimate)
      return it->second.estimate;
  }
  auto e = std::make_shared<const Estimate>(compute_estimate(c));
  std::lock_guard lock(memo_mutex_);
  auto& m = memo_[c.spec.system_id];
  if (!m.estimate) m.estimate = e;
  return m.estimate;
}

double PowerModel::history_wh(const SystemContext& c, int year) const {
  return history_wh(c, profile(c, nullptr), *estimate(c), year);
}

double PowerModel::history_wh(const SystemContext& c, const Profile& p, const Estimate& e,
                              int year) const {
  const date::local_days on_day{c.spec.turn_on.time_since_epoch()};
  const int y0 = static_cast<int>(date::year_month_day{on_day}.year());
  if (year <= y0) return 0;
  const double all = p.base_w + p.shaded_w + p.weak_w + p.dead_w;
  // The fault counts from the onset's local date (from the next one when it began after noon),
  // at the rating it leaves; a shaded panel loses its share of the afternoon-shadow energy.
  const auto& f = c.fault;
  const bool faulty = f.kind != FaultKind::None;
  date::local_days fault_day{};
  double fault_rate = all, fault_loss = 0;
  if (faulty) {
    const auto local = c.zone->to_local(f.onset);
    fault_day = date::floor<date::days>(local);
    if (local - fault_day >= std::chrono::hours{12}) fault_day += date::days{1};
    switch (f.kind) {
      case FaultKind::PvOff:
        fault_rate = 0;
        break;
      case FaultKind::DeadOptimizer:
        fault_rate = all - p.dead_w;
        break;
      case FaultKind::WeakString:
        fault_rate = all - p.weak_w * (1.0 - kWeakStringFactor);
        break;
      case FaultKind::ShadedPanel:
        fault_loss = p.shaded_w * (1.0 - kShadeFactor);
        break;
      case FaultKind::GatewayStall:
      case FaultKind::None:
        break;
    }
  }
  const int yf = faulty ? static_cast<int>(date::year_month_day{fault_day}.year()) : INT_MAX;
  // A year with a turn-on or an onset in it, day by day.
  auto partial = [&](int y, double m) {
    const date::local_days first{date::year{y} / 1 / 1};
    const int len = date::year{y}.is_leap() ? 366 : 365;
    double wh = 0;
    for (int d = 0; d < len; ++d) {
      const auto day = first + date::days{d};
      if (day < on_day) continue;
      const bool hit = faulty && day >= fault_day;
      wh += m * ((hit ? fault_rate : all) * interp(e.day_wh, d, len) -
                 (hit ? fault_loss : 0.0) * interp(e.shadow_wh, d, len));
    }
    return wh;
  };
  // Whole years [a, b) in one state, counted by length.
  auto whole = [&](int a, int b, bool hit) {
    if (b <= a) return 0.0;
    const int n366 = leaps_upto(b - 1) - leaps_upto(a - 1);
    const int n365 = b - a - n366;
    const double rate = hit ? fault_rate : all;
    const double loss = hit ? fault_loss : 0.0;
    return n365 * (rate * e.year_wh[0] - loss * e.year_shadow_wh[0]) +
           n366 * (rate * e.year_wh[1] - loss * e.year_shadow_wh[1]);
  };
  // A young system's lifetime must not fall below its year-to-date energy, so its turn-on year
  // counts with a margin above any real weather: larger when that year is short (a few days'
  // weather averages out less), up to the clear sky. The next year too when the first counted
  // under a quarter of a year, too little to cover the next year's own few percent of error.
  const date::local_days next_year{date::year{y0 + 1} / 1 / 1};
  const double days_on = static_cast<double>((next_year - on_day).count());
  const double first_margin = kEarlyMargin + kShortMargin * std::max(0.0, 1.0 - days_on / 90.0);
  const bool short_first = partial(y0, 1.0) < 0.25 * all * e.year_wh[0];
  const int plain = short_first ? y0 + 2 : y0 + 1;
  double wh = 0;
  for (int y = y0; y < std::min(year, plain); ++y)
    wh += partial(y, y == y0 ? first_margin : kEarlyMargin);
  if (year > plain) {
    if (yf < plain) {
      wh += whole(plain, year, true);
    } else if (yf < year) {
      wh += whole(plain, yf, false);
      wh += partial(yf, 1.0);
      wh += whole(yf + 1, year, true);
    } else {
      wh += whole(plain, year, false);
    }
  }
  return wh;
}

EnergyTotals PowerModel::energy(const SystemContext& c, sys_seconds t) const {
  const auto p = profile(c, nullptr);
  const auto* zone = c.zone;
  const auto today_local = local_date(zone, t);
  const int y = static_cast<int>(date::year_month_day{today_local}.year());
  const auto ys = year_start(zone, y);
  const auto ye = year_start(zone, y + 1);
  const auto ds = local_midnight_to_sys(zone, today_local);
  const auto g = floor_grid(t);
  const auto id = c.spec.system_id;

  // Resume this year's sum and today's from the latest checkpoint at or before t's grid point:
  // a checkpoint is a sum in progress, so resuming adds the same terms in the same order.
  GridSum year_sum{floor_grid(ys), 0.0};
  GridSum day_sum{floor_grid(ds), 0.0};
  double year_wh = -1;  // unknown
  {
    std::lock_guard lock(memo_mutex_);
    if (auto it = memo_.find(id); it != memo_.end()) {
      auto& m = it->second;
      for (auto& ysum : m.years) {
        if (ysum.used == 0 || ysum.start != ys) continue;
        year_wh = ysum.year_wh;
        for (const auto& cp : ysum.marks)
          if (cp.next <= g && cp.next > year_sum.next) year_sum = cp;
        if (ysum.latest.next <= g && ysum.latest.next > year_sum.next) year_sum = ysum.latest;
      }
      if (m.day_start == ds && m.day.next <= g && m.day.next > day_sum.next) day_sum = m.day;
    }
  }
  const bool first = year_wh < 0;
  // A first pass over the year marks its sum every kMarkEvery, so later answers at any time of
  // the year resume close by.
  std::vector<GridSum> marks;
  const auto base = floor_grid(ys);
  auto run = [&](sys_seconds until) {
    if (!first) return advance(c, p, ys, until, year_sum);
    while (year_sum.next < until) {
      const auto mark = base + ((year_sum.next - base) / kMarkEvery + 1) * kMarkEvery;
      advance(c, p, ys, std::min(until, mark), year_sum);
      if (year_sum.next == mark) marks.push_back(year_sum);
    }
  };
  run(g);
  const GridSum at_g = year_sum;
  const double ytd = finish(c, p, ys, year_sum, t);
  if (first) {
    run(floor_grid(ye));
    year_wh = finish(c, p, ys, year_sum, ye);
  }
  advance(c, p, ds, g, day_sum);
  const double today = finish(c, p, ds, day_sum, t);

  const auto est = estimate(c);
  const auto h0 = std::llround(history_wh(c, p, *est, y) * 100);
  const auto h1 = std::llround(history_wh(c, p, *est, y + 1) * 100);
  std::int64_t lifetime = h0;
  if (year_wh > 0 && ytd > 0)
    lifetime += static_cast<std::int64_t>(
        std::floor(static_cast<double>(h1 - h0) * std::min(ytd / year_wh, 1.0)));
  {
    std::lock_guard lock(memo_mutex_);
    auto& m = memo_[id];
    YearSums* slot = nullptr;
    for (auto& ysum : m.years)
      if (ysum.used != 0 && ysum.start == ys) slot = &ysum;
    if (!slot) {
      slot =
          &*std::min_element(m.years.begin(), m.years.end(),
                             [](const YearSums& a, const YearSums& b) { return a.used < b.used; });
      *slot = YearSums{ys, year_wh, std::move(marks), {}, 0};
    }
    slot->latest = at_g;
    slot->used = ++memo_clock_;
    m.day_start = ds;
    m.day = day_sum;
  }
  return EnergyTotals{today, ytd, static_cast<double>(lifetime) / 100.0};
}

EnergyTotals PowerModel::energy(const SystemSpec& s, sys_seconds t) const {
  return energy(make_context(fleet_, s), t);
}

}  // namespace sim
