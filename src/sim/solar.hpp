// Sky and weather model of the simulator: pure, allocation-free, exception-free functions
// evaluated per system and per minute. Angles are degrees, irradiance W/m2, temperatures Celsius,
// times UTC.
#pragma once

#include <chrono>
#include <cstdint>

#include "sun/position.hpp"

namespace sim::solar {

// The sun's geometry is the product's (sun/); the simulator's sky is built on it.
using sun::sun_position;
using sun::SunPosition;

// A fixed plane (module array). Azimuth clockwise from north, 180 = facing south.
struct Plane {
  double tilt_deg;  // 0 = horizontal, 90 = vertical
  double azimuth_deg;
};

struct Irradiance {
  double ghi_w_m2;  // global horizontal; always dni * cos(zenith) + dhi
  double dni_w_m2;  // direct normal
  double dhi_w_m2;  // diffuse horizontal
  double poa_w_m2;  // plane of array (beam + sky diffuse + ground reflected)
};

// Ground albedo used for the reflected part of the plane-of-array irradiance.
inline constexpr double kGroundAlbedo = 0.2;

// Clear-sky irradiance: Haurwitz GHI, Meinel DNI with Kasten-Young air mass, DHI as the
// remainder, isotropic-sky transposition to the plane. All fields are >= 0, and exactly 0 when
// the sun is at or below the horizon.
Irradiance clear_sky(double latitude_deg, double longitude_deg, Plane plane,
                     std::chrono::sys_seconds t) noexcept;

// Cloud transmittance in [0.15, 1.0] for the system identified by seed (multiply irradiance by
// it). Smooth value noise over 20 min .. 6 h plus a day-scale regime, so some days are clear,
// some broken, some overcast. Adjacent minutes differ by less than 2 %. Pure function of
// (seed, t).
double cloud_transmittance(std::uint64_t seed, std::chrono::sys_seconds t) noexcept;

// Ambient air temperature in Celsius: annual mean and seasonal swing from latitude (seasons
// flipped in the southern hemisphere, warmest ~late July / late January) plus a +-5 C diurnal
// cycle peaking at 15:00 local mean solar time. Continuous in t.
double ambient_temperature_c(double latitude_deg, double longitude_deg,
                             std::chrono::sys_seconds t) noexcept;

// Nominal operating cell temperature of the modules, Celsius.
inline constexpr double kNoctC = 45.0;

// Cell temperature in Celsius by the NOCT model: ambient + (NOCT - 20) / 800 * poa.
double cell_temperature_c(double ambient_c, double poa_w_m2) noexcept;

}  // namespace sim::solar
