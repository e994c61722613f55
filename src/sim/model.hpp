// Power and energy of simulated systems: sun, sky, clouds and temperature through the panel
// model. Energy is one left Riemann sum on a fixed UTC grid, so today's, this year's and the
// lifetime total agree with each other and with the power curve, and the lifetime total never
// falls.
#pragma once

#include <chrono>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sim/fleet.hpp"

namespace sim {

struct EnergyTotals {
  double today_wh = 0;     // since local midnight at the system
  double ytd_wh = 0;       // since local 1 January
  double lifetime_wh = 0;  // since turn-on
};

class PowerModel {
 public:
  explicit PowerModel(const Fleet& fleet) : fleet_(fleet) {}

  // Plane-of-array irradiance after clouds, W/m2.
  double irradiance_w_m2(const SystemSpec& s, std::chrono::sys_seconds t) const;
  double cell_temperature_c(const SystemSpec& s, std::chrono::sys_seconds t) const;
  pv::PanelReading panel(const SystemSpec& s, int panel_index, std::chrono::sys_seconds t) const;
  // DC power of the whole system, W: the sum of its panels' Pin.
  double system_power_w(const SystemSpec& s, std::chrono::sys_seconds t) const;
  // Thread-safe; remembers per system where it last summed so repeated calls are cheap.
  EnergyTotals energy(const SystemSpec& s, std::chrono::sys_seconds t) const;

  static constexpr std::chrono::seconds kEnergyStep{600};

 private:
  double energy_between(const SystemSpec& s, double rating_w, std::chrono::sys_seconds from,
                        std::chrono::sys_seconds to) const;
  double energy_until(const SystemSpec& s, double rating_w, std::chrono::sys_seconds t) const;

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

}  // namespace sim
