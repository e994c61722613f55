// Where the sun stands for a place and an instant: the one geometry that both the exporter
// (day and night decisions) and the simulator (irradiance) need. Pure, allocation-free,
// exception-free. Angles are degrees, times UTC.
#pragma once

#include <chrono>

namespace sun {

struct SunPosition {
  double elevation_deg;  // above the horizon, corrected for atmospheric refraction; < 0 at night
  double azimuth_deg;    // clockwise from north, [0, 360)
  double zenith_deg;     // 90 - elevation_deg
};

// NOAA solar position equations (the NOAA spreadsheet / General Solar Position Calculations),
// UTC time. Latitude north positive, longitude east positive. Accurate to ~0.1 deg for years
// 1900..2100, far finer than a day/night decision or a simulated irradiance needs.
SunPosition sun_position(double latitude_deg, double longitude_deg,
                         std::chrono::sys_seconds t) noexcept;

}  // namespace sun
