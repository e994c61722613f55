// The simulated fleet: every system and panel derived lazily from the seed, so a fleet of any size
// starts at once and answers identically for the same seed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/pv_model.hpp"
#include "sim/serials.hpp"
#include "sim/solar.hpp"
#include "util/result.hpp"

namespace sim {

struct FleetOptions {
  std::uint64_t seed = 1;
  int systems = 3;
  int panels_per_system = 24;
  // IANA zones the systems are placed in, spread over the real towns of each (placement_zones
  // checks them); empty: real cities around the globe.
  std::vector<std::string> zones{};
  // How the cloud prints panel serials (--serial-format); the default is the historical form.
  SerialFormat serial_format = SerialFormat::Mac;
};

// The zones of --zones (comma-separated IANA names) and --region (one of region_names()), in
// order without repeats; the error names the bad zone or region.
util::Result<std::vector<std::string>> placement_zones(std::string_view zones,
                                                       std::string_view region);
std::string region_names();
// One line per zone the simulator has towns in: "zone: town, town [region region]".
std::string zones_listing();

struct SystemSpec {
  std::int64_t system_id = 0;
  std::size_t index = 0;
  std::uint64_t seed = 0;  // drives clouds and panel spread of this system
  std::string name;
  std::string external_id;
  std::string street, city, state, zip, country, country_code;
  std::string timezone;  // IANA
  double latitude = 0, longitude = 0;
  solar::Plane plane{};
  int panels = 0;
  double panel_rated_w = 0;  // every panel of a system is the same model
  double panel_vmp_v = 0;
  std::chrono::sys_days turn_on{};
  std::chrono::sys_seconds created{};
  // Last change of the system's configuration (X-System-Config-Update): after turn-on.
  std::chrono::sys_seconds config_updated{};
};

class Fleet {
 public:
  // Throws std::invalid_argument for a zone without towns (placement_zones tells first).
  explicit Fleet(FleetOptions options);

  std::size_t size() const { return static_cast<std::size_t>(options_.systems); }
  const FleetOptions& options() const { return options_; }
  // The system at position `index` (0-based), built from the seed on each call.
  SystemSpec system(std::size_t index) const;
  std::optional<std::size_t> index_of(std::int64_t system_id) const;
  // Every IANA zone a system of any fleet may have, once each.
  static std::vector<std::string> time_zones();
  pv::PanelSpec panel(const SystemSpec& system, int panel_index) const;
  // Sum of rated_w x efficiency_factor over the system's panels: the system's power is this times
  // the power of a 1 W reference panel, because the panel model is linear in both.
  double effective_rating_w(const SystemSpec& system) const;

 private:
  FleetOptions options_;
  std::vector<std::size_t> places_;  // the towns of options_.zones, in table order
};

// SplitMix64: the one mixing function behind every generated value.
std::uint64_t mix(std::uint64_t x);
// A uniform double in [0, 1) from a hash.
double unit(std::uint64_t h);

}  // namespace sim
