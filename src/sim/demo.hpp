// The fleet `tigo_exporter --demo` serves: six systems spread around the globe, so some are in
// daylight whatever the hour (tests/sim/fleet_test.cpp checks a whole year).
#pragma once

#include "sim/fleet.hpp"

namespace sim {

inline FleetOptions demo_fleet_options() { return FleetOptions{1, 6, 24}; }

}  // namespace sim
