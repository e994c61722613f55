// Power and energy of simulated systems: sun, sky, clouds and temperature through the panel
// model, with the planted faults. Panel readings are what an optimizer prints (Vin to 0.1 V, Iin
// to 0.01 A, Pin = Vin x Iin exactly), and the system's power is the sum of its panels' Pin.
// Energy is one left Riemann sum on a fixed UTC grid: today's and this year's totals are exactly
// the sums data/combined reports for the day and the year. The lifetime total never falls; see
// PowerModel::energy for how it is made of a closed-form history and this year's sum.
#pragma once

#include <date/date.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sim/fleet.hpp"
#include "sim/topology.hpp"

namespace date {
class time_zone;
}

namespace sim {

struct EnergyTotals {
  double today_wh = 0;     // since local midnight at the system
  double ytd_wh = 0;       // since local 1 January
  double lifetime_wh = 0;  // since turn-on; a whole number of centi-Wh
};

// Everything about one system a request needs, built once per request.
struct SystemContext {
  SystemSpec spec;
  Topology topo;
  PlantedFault fault;
  std::vector<pv::PanelSpec> panels;  // manufacturing spread included, faults not
  const date::time_zone* zone = nullptr;
  bool has_temp = false;               // answers the undocumented Temp param
  std::chrono::sys_seconds turn_on{};  // turn_on_instant(spec)
};
SystemContext make_context(const Fleet& fleet, const SystemSpec& s);
// Plane-of-array irradiance after clouds at the system, W/m2 (PowerModel::irradiance_w_m2).
double plane_irradiance_w_m2(const SystemSpec& s, std::chrono::sys_seconds t);
// Local midnight of the system's turn_on_date in its zone: it has no readings, power or energy
// before this instant (a system not installed yet), and `commissioned` names it.
std::chrono::sys_seconds turn_on_instant(const SystemSpec& s);

// One panel's reading in one minute, as printed: Vin in 0.1 V, Iin in 0.01 A, Pin in mW.
struct Sample {
  bool present = false;  // false: no reading (night, dead optimizer): an empty CSV cell
  std::int32_t dv = 0;
  std::int32_t ca = 0;
  std::int64_t mw = 0;  // == dv * ca
  int rssi = 0;         // raw 0..255
  double temp_c = 0;    // module temperature
};

// One panel's operating point in one minute before it is printed: what Sample rounds to the
// cloud's steps, and the bus (sim/bus.hpp) to the optimizer's own.
struct PanelPoint {
  bool present = false;  // false: no reading (night, dead optimizer, not installed yet)
  double vin_v = 0;
  double iin_a = 0;
  int rssi = 0;       // raw 0..255
  double temp_c = 0;  // module temperature
};

class PowerModel {
 public:
  explicit PowerModel(const Fleet& fleet) : fleet_(fleet) {}
  const Fleet& fleet() const { return fleet_; }

  // Plane-of-array irradiance after clouds, W/m2.
  double irradiance_w_m2(const SystemSpec& s, std::chrono::sys_seconds t) const;
  double cell_temperature_c(const SystemSpec& s, std::chrono::sys_seconds t) const;
  // Every panel of the system at minute t (faults included), into out (resized).
  void minute(const SystemContext& c, std::chrono::sys_seconds t, std::vector<Sample>& out) const;
  // The same before printing, into out (resized); returns the plane-of-array irradiance after
  // clouds (W/m2), which says whether the optimizers are awake (pv::kWakeIrradianceWM2).
  double points(const SystemContext& c, std::chrono::sys_seconds t,
                std::vector<PanelPoint>& out) const;
  // Whether a panel passes its string's current or holds back (shade, PV-Off): its light over
  // the string's unfaulted light at t, in [0, 1] (1 for a healthy panel).
  double relative_light(const SystemContext& c, int panel, std::chrono::sys_seconds t) const;
  // Panel reading as printed (faults included; dead optimizer: zeros).
  pv::PanelReading panel(const SystemSpec& s, int panel_index, std::chrono::sys_seconds t) const;
  // DC power of the whole system, W: the sum of its panels' printed Pin.
  double system_power_w(const SystemSpec& s, std::chrono::sys_seconds t) const;
  std::int64_t system_power_mw(const SystemContext& c, std::chrono::sys_seconds t) const;
  // Today's, this year's and the lifetime energy at t. Thread-safe and deterministic: the same
  // (system, t) gives the same bits whatever was asked before.
  //
  // today_wh and ytd_wh are the exact grid sums from local midnight and from local 1 January, the
  // very sums energy_between gives data/combined for that day and year (same terms, same order;
  // checkpoints resume a sum, they never restart it).
  //
  // lifetime_wh = H(y) + (H(y+1) - H(y)) x ytd / E(y), in whole centi-Wh (floored), where y is the
  // local year of t, E(y) the exact grid energy of that whole year, and H(y) a closed-form
  // history: the estimated energy from turn-on to local 1 January of y (clear-sky energy of 24
  // sample days of the system's own sky and plane, times a mean cloud loss, with its turn-on and
  // fault onset; see history_wh). So within a year the lifetime grows in step with the real
  // production, scaled by the year's estimate over its real energy (within a few percent of 1),
  // it is flat at night, and it reaches exactly H(y+1) at the New Year: monotone at any time, no
  // step at the year boundary (except when a year produced nothing but its estimate is not zero,
  // where it steps by that estimate at the New Year). Never below ytd: the turn-on year (and the
  // next when the first is short) count with a margin above any real weather, so the lifetime
  // grows faster than the production then. The cost of a first answer for a system is
  // bounded: one pass over its current local year on the grid plus 24 sample days, whatever the
  // date; later answers resume from per-system checkpoints.
  EnergyTotals energy(const SystemSpec& s, std::chrono::sys_seconds t) const;
  EnergyTotals energy(const SystemContext& c, std::chrono::sys_seconds t) const;
  // Energy (Wh) of the given panels over [from, to) on the energy grid: what data/combined and
  // day-level data/aggregate report, so they add up to the summary's figures.
  double energy_between(const SystemContext& c, const std::vector<int>& panels,
                        std::chrono::sys_seconds from, std::chrono::sys_seconds to) const;

  // The same, per panel of the system (wh resized to the panel count): one sun evaluation per
  // grid point for all panels.
  // Returns whether any grid point of the range had the sun up on the installed system.
  bool panel_energies(const SystemContext& c, std::chrono::sys_seconds from,
                      std::chrono::sys_seconds to, std::vector<double>& wh) const;

  // The closed-form lifetime energy estimate (Wh) from turn-on to the local 1 January of `year`:
  // H(year) above. Non-decreasing in year; 0 up to the turn-on year.
  double history_wh(const SystemContext& c, int year) const;

  // Grid steps the energy sums evaluated so far (all threads): what a benchmark or a test of the
  // cost of an answer counts.
  std::uint64_t grid_steps() const { return grid_steps_.load(std::memory_order_relaxed); }

  static constexpr std::chrono::seconds kEnergyStep{600};
  // Sample days of the history estimate, evenly spread over a year.
  static constexpr int kSampleDays = 24;

 private:
  // The system's output scales with a time-dependent rating (sum of rated_w x factor of its
  // panels) times a 1 W reference panel, because the panel model is linear in both.
  struct Profile {
    double base_w = 0;    // panels without a time-dependent factor
    double shaded_w = 0;  // the shaded panel, before its shade factor
    double weak_w = 0;    // panels of the weak string, before the weak factor
    double dead_w = 0;    // the dead optimizer's panel (reports nothing after onset)
  };
  // A grid sum in progress: the terms of every step before `next` (a grid point) are in wh.
  struct GridSum {
    std::chrono::sys_seconds next{};
    double wh = 0;
  };
  // Clear-sky energy of a 1 W reference panel (times the mean cloud loss) on the sample days, Wh,
  // and the part of it in the afternoon shadow window.
  struct Estimate {
    std::array<double, kSampleDays> day_wh{};
    std::array<double, kSampleDays> shadow_wh{};
    double year_wh[2] = {0, 0};  // sum over a 365-day and a 366-day year
    double year_shadow_wh[2] = {0, 0};
  };
  Profile profile(const SystemContext& c, const std::vector<int>* panels) const;
  double rating_at(const SystemContext& c, const Profile& p, std::chrono::sys_seconds t) const;
  double step_wh(const SystemContext& c, const Profile& p, std::chrono::sys_seconds k,
                 std::chrono::sys_seconds lo, std::chrono::sys_seconds hi) const;
  // Adds the whole steps before `until` (a grid point) to s.
  void advance(const SystemContext& c, const Profile& p, std::chrono::sys_seconds from,
               std::chrono::sys_seconds until, GridSum& s) const;
  // s plus the last, partial step up to `to`: the sum over [from, to).
  double finish(const SystemContext& c, const Profile& p, std::chrono::sys_seconds from,
                const GridSum& s, std::chrono::sys_seconds to) const;
  double grid_energy(const SystemContext& c, const Profile& p, std::chrono::sys_seconds from,
                     std::chrono::sys_seconds to) const;
  std::shared_ptr<const Estimate> estimate(const SystemContext& c) const;
  Estimate compute_estimate(const SystemContext& c) const;
  double history_wh(const SystemContext& c, const Profile& p, const Estimate& e, int year) const;
  double panel_factor(const SystemContext& c, int panel, std::chrono::sys_seconds t) const;

  const Fleet& fleet_;
  // Per system: checkpoints of this year's sum (and its whole-year energy) for the two local years
  // asked last, today's sum, and the history estimate. Bounded by the fleet's size.
  struct YearSums {
    std::chrono::sys_seconds start{};
    double year_wh = 0;          // E(y), the whole year
    std::vector<GridSum> marks;  // every kMarkEvery from the year's first grid point
    GridSum latest{};            // where the last answer stopped
    std::uint64_t used = 0;
  };
  struct Memo {
    std::array<YearSums, 2> years{};
    std::chrono::sys_seconds day_start{};
    GridSum day{};
    std::shared_ptr<const Estimate> estimate;
  };
  mutable std::mutex memo_mutex_;
  mutable std::unordered_map<std::int64_t, Memo> memo_;
  mutable std::uint64_t memo_clock_ = 0;
  mutable std::atomic<std::uint64_t> grid_steps_{0};
  static constexpr std::chrono::seconds kMarkEvery{30 * 86400};
};

// Local midnight (day) and local 1 January (year) at the system, as UTC instants.
std::chrono::sys_seconds local_day_start(const std::string& tz, std::chrono::sys_seconds t);
std::chrono::sys_seconds local_year_start(const std::string& tz, std::chrono::sys_seconds t);
const date::time_zone* zone_or_utc(const std::string& tz);
// The first instant of a calendar day in a zone (midnight, or later when DST skips it).
std::chrono::sys_seconds midnight_in(const std::string& tz, date::local_days day);

}  // namespace sim
