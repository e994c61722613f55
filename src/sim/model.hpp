// Power and energy of simulated systems: sun, sky, clouds and temperature through the panel
// model, with the planted faults. Panel readings are what an optimizer prints (Vin to 0.1 V, Iin
// to 0.01 A, Pin = Vin x Iin exactly), and the system's power is the sum of its panels' Pin.
// Energy is one left Riemann sum on a fixed UTC grid, so today's, this year's and the lifetime
// total agree with each other and with the power curve, and the lifetime total never falls.
#pragma once

#include <chrono>
#include <cstdint>
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
  double lifetime_wh = 0;  // since turn-on
};

// Everything about one system a request needs, built once per request.
struct SystemContext {
  SystemSpec spec;
  Topology topo;
  PlantedFault fault;
  std::vector<pv::PanelSpec> panels;  // manufacturing spread included, faults not
  const date::time_zone* zone = nullptr;
  bool has_temp = false;  // answers the undocumented Temp param
};
SystemContext make_context(const Fleet& fleet, const SystemSpec& s);

// One panel's reading in one minute, as printed: Vin in 0.1 V, Iin in 0.01 A, Pin in mW.
struct Sample {
  bool present = false;  // false: no reading (night, dead optimizer): an empty CSV cell
  std::int32_t dv = 0;
  std::int32_t ca = 0;
  std::int64_t mw = 0;  // == dv * ca
  int rssi = 0;         // raw 0..255
  double temp_c = 0;    // module temperature
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
  // Panel reading as printed (faults included; dead optimizer: zeros).
  pv::PanelReading panel(const SystemSpec& s, int panel_index, std::chrono::sys_seconds t) const;
  // DC power of the whole system, W: the sum of its panels' printed Pin.
  double system_power_w(const SystemSpec& s, std::chrono::sys_seconds t) const;
  std::int64_t system_power_mw(const SystemContext& c, std::chrono::sys_seconds t) const;
  // Thread-safe; remembers per system where it last summed so repeated calls are cheap.
  EnergyTotals energy(const SystemSpec& s, std::chrono::sys_seconds t) const;
  EnergyTotals energy(const SystemContext& c, std::chrono::sys_seconds t) const;
  // Energy (Wh) of the given panels over [from, to) on the energy grid: what data/combined and
  // day-level data/aggregate report, so they add up to the summary's figures.
  double energy_between(const SystemContext& c, const std::vector<int>& panels,
                        std::chrono::sys_seconds from, std::chrono::sys_seconds to) const;

  // The same, per panel of the system (wh resized to the panel count): one sun evaluation per
  // grid point for all panels.
  // Returns whether the sun was up at any grid point of the range.
  bool panel_energies(const SystemContext& c, std::chrono::sys_seconds from,
                      std::chrono::sys_seconds to, std::vector<double>& wh) const;

  static constexpr std::chrono::seconds kEnergyStep{600};
  // Energy before this instant is a closed-form estimate (lifetime only); after it, the grid sum.
  static constexpr std::chrono::sys_seconds kModelEpoch{
      std::chrono::seconds{1767225600}};  // 2026-01-01Z

 private:
  // The system's output scales with a time-dependent rating (sum of rated_w x factor of its
  // panels) times a 1 W reference panel, because the panel model is linear in both.
  struct Profile {
    double base_w = 0;    // panels without a time-dependent factor
    double shaded_w = 0;  // the shaded panel, before its shade factor
    double weak_w = 0;    // panels of the weak string, before the weak factor
    double dead_w = 0;    // the dead optimizer's panel (reports nothing after onset)
  };
  Profile profile(const SystemContext& c, const std::vector<int>* panels) const;
  double rating_at(const SystemContext& c, const Profile& p, std::chrono::sys_seconds t) const;
  double grid_energy(const SystemContext& c, const Profile& p, std::chrono::sys_seconds from,
                     std::chrono::sys_seconds to) const;
  double energy_until(const SystemContext& c, const Profile& p, std::chrono::sys_seconds t) const;
  double history_wh(const SystemContext& c, const Profile& p, std::chrono::sys_seconds t) const;
  double panel_factor(const SystemContext& c, int panel, std::chrono::sys_seconds t) const;

  const Fleet& fleet_;
  struct Checkpoint {
    std::chrono::sys_seconds at{};
    double energy_wh = 0;
  };
  mutable std::mutex memo_mutex_;
  // A few checkpoints per system (year start, day start, latest), bounded by the fleet's size.
  mutable std::unordered_map<std::int64_t, std::vector<Checkpoint>> memo_;
  static constexpr std::size_t kCheckpoints = 6;
};

// Local midnight (day) and local 1 January (year) at the system, as UTC instants.
std::chrono::sys_seconds local_day_start(const std::string& tz, std::chrono::sys_seconds t);
std::chrono::sys_seconds local_year_start(const std::string& tz, std::chrono::sys_seconds t);
const date::time_zone* zone_or_utc(const std::string& tz);

}  // namespace sim
