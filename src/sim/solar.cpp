#include "sim/solar.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sim::solar {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDeg = kPi / 180.0;
constexpr double kSecondsPerDay = 86400.0;
constexpr double kDaysPerYear = 365.2422;

double rad(double deg) noexcept { return deg * kDeg; }

// Floored modulo: result in [0, m) also for negative x.
double wrap(double x, double m) noexcept {
  const double r = std::fmod(x, m);
  return r < 0.0 ? r + m : r;
}

double seconds(std::chrono::sys_seconds t) noexcept {
  return static_cast<double>(t.time_since_epoch().count());
}

// Kasten & Young (1989) relative air mass; finite down to the horizon.
double air_mass(double zenith_deg) noexcept {
  return 1.0 / (std::cos(rad(zenith_deg)) + 0.50572 * std::pow(96.07995 - zenith_deg, -1.6364));
}

// SplitMix64 finaliser: a cheap, well-mixed hash for lattice values.
std::uint64_t mix(std::uint64_t z) noexcept {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double unit(std::uint64_t h) noexcept {  // [0, 1)
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// 1-D value noise in [0, 1] with period_s lattice spacing. The quintic fade keeps the first
// derivative continuous and bounds the slope to 1.875 / period, which is what makes the clouds
// change by at most a couple of percent per minute.
double value_noise(std::uint64_t seed, std::uint64_t octave, double t_s, double period_s) noexcept {
  const std::uint64_t key = mix(seed ^ mix(octave));
  // Per-system phase so that lattice points of different systems are not aligned in time.
  const double x = t_s / period_s + unit(key);
  const double cell = std::floor(x);
  const double f = x - cell;
  const auto i = static_cast<std::uint64_t>(static_cast<std::int64_t>(cell));
  const double a = unit(mix(key ^ i));
  const double b = unit(mix(key ^ (i + 1)));
  const double s = f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
  return a + (b - a) * s;
}

}  // namespace

Irradiance clear_sky(double latitude_deg, double longitude_deg, Plane plane,
                     std::chrono::sys_seconds t) noexcept {
  const SunPosition sun = sun_position(latitude_deg, longitude_deg, t);
  if (sun.elevation_deg <= 0.0) return Irradiance{0.0, 0.0, 0.0, 0.0};

  const double cos_z = std::cos(rad(sun.zenith_deg));
  // Haurwitz (1945): the best of the simple GHI-only clear-sky models (Reno et al., Sandia 2012).
  const double ghi_model = 1098.0 * cos_z * std::exp(-0.059 / cos_z);
  // Meinel (1976) DNI needs only air mass; diffuse is whatever Haurwitz leaves over.
  const double dni = 1353.0 * std::pow(0.7, std::pow(air_mass(sun.zenith_deg), 0.678));
  const double beam_h = dni * cos_z;
  const double dhi = std::max(ghi_model - beam_h, 0.0);
  const double ghi = beam_h + dhi;

  const double tilt = rad(plane.tilt_deg);
  const double cos_aoi =
      cos_z * std::cos(tilt) + std::sin(rad(sun.zenith_deg)) * std::sin(tilt) *
                                   std::cos(rad(sun.azimuth_deg - plane.azimuth_deg));
  // Isotropic sky (Liu & Jordan): sky seen by the plane + ground it sees.
  const double poa = dni * std::max(cos_aoi, 0.0) + dhi * (1.0 + std::cos(tilt)) / 2.0 +
                     ghi * kGroundAlbedo * (1.0 - std::cos(tilt)) / 2.0;
  return Irradiance{ghi, dni, dhi, std::max(poa, 0.0)};
}

double cloud_transmittance(std::uint64_t seed, std::chrono::sys_seconds t) noexcept {
  const double ts = seconds(t);
  // Day-scale regime decides clear / broken / overcast; octaves add passing clouds.
  const double regime = value_noise(seed, 0, ts, 26.0 * 3600.0);
  const double detail = 0.50 * value_noise(seed, 1, ts, 6.0 * 3600.0) +
                        0.25 * value_noise(seed, 2, ts, 2.0 * 3600.0) +
                        0.15 * value_noise(seed, 3, ts, 40.0 * 60.0) +
                        0.10 * value_noise(seed, 4, ts, 20.0 * 60.0);
  // regime < ~0.3 gives clear days (cover clamps to 0), > ~0.75 overcast days.
  const double cover = std::clamp(1.6 * regime - 0.5 + 0.9 * (detail - 0.5), 0.0, 1.0);
  return 1.0 - 0.85 * cover;
}

double ambient_temperature_c(double latitude_deg, double longitude_deg,
                             std::chrono::sys_seconds t) noexcept {
  const double days = seconds(t) / kSecondsPerDay;
  // Day of year counted from 2000-01-01 (day 10957 of the Unix epoch), without calendars.
  const double doy = wrap(days - 10957.0, kDaysPerYear);
  const double annual_mean = 27.0 - 0.008 * latitude_deg * latitude_deg;
  // Signed amplitude: flips the seasons south of the equator and vanishes on it.
  const double seasonal = 0.28 * latitude_deg * std::cos(2.0 * kPi * (doy - 201.0) / kDaysPerYear);
  const double solar_hour = wrap(days * 24.0 + longitude_deg / 15.0, 24.0);
  const double diurnal = 5.0 * std::cos(2.0 * kPi * (solar_hour - 15.0) / 24.0);
  return annual_mean + seasonal + diurnal;
}

double cell_temperature_c(double ambient_c, double poa_w_m2) noexcept {
  return ambient_c + (kNoctC - 20.0) / 800.0 * std::max(poa_w_m2, 0.0);
}

}  // namespace sim::solar
