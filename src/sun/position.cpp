#include "sun/position.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sun {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;
constexpr double kSecondsPerDay = 86400.0;
constexpr double kUnixEpochJulianDay = 2440587.5;

double rad(double deg) noexcept { return deg * kDeg; }
double deg(double rad) noexcept { return rad / kDeg; }

// Floored modulo: result in [0, m) also for negative x.
double wrap(double x, double m) noexcept {
  const double r = std::fmod(x, m);
  return r < 0.0 ? r + m : r;
}

double seconds(std::chrono::sys_seconds t) noexcept {
  return static_cast<double>(t.time_since_epoch().count());
}

// NOAA spreadsheet refraction approximation, in degrees, for geometric elevation h (degrees).
double refraction_deg(double h) noexcept {
  double arcsec = 0.0;
  if (h > 85.0) {
    arcsec = 0.0;
  } else if (h > 5.0) {
    const double tn = std::tan(rad(h));
    arcsec = 58.1 / tn - 0.07 / (tn * tn * tn) + 0.000086 / std::pow(tn, 5);
  } else if (h > -0.575) {
    arcsec = 1735.0 + h * (-518.2 + h * (103.4 + h * (-12.79 + h * 0.711)));
  } else {
    arcsec = -20.772 / std::tan(rad(h));
  }
  return arcsec / 3600.0;
}

}  // namespace

SunPosition sun_position(double latitude_deg, double longitude_deg,
                         std::chrono::sys_seconds t) noexcept {
  const double secs = seconds(t);
  const double jd = kUnixEpochJulianDay + secs / kSecondsPerDay;
  const double jc = (jd - 2451545.0) / 36525.0;  // Julian centuries since J2000

  const double mean_long = wrap(280.46646 + jc * (36000.76983 + jc * 0.0003032), 360.0);
  const double mean_anom = 357.52911 + jc * (35999.05029 - 0.0001537 * jc);
  const double ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc);
  const double m = rad(mean_anom);
  const double center = std::sin(m) * (1.914602 - jc * (0.004817 + 0.000014 * jc)) +
                        std::sin(2.0 * m) * (0.019993 - 0.000101 * jc) +
                        std::sin(3.0 * m) * 0.000289;
  const double omega = rad(125.04 - 1934.136 * jc);
  const double app_long = mean_long + center - 0.00569 - 0.00478 * std::sin(omega);
  const double mean_obliq =
      23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60.0) / 60.0;
  const double obliq = rad(mean_obliq + 0.00256 * std::cos(omega));
  const double decl = std::asin(std::sin(obliq) * std::sin(rad(app_long)));

  const double y = std::tan(obliq / 2.0) * std::tan(obliq / 2.0);
  const double l2 = 2.0 * rad(mean_long);
  const double eot_min =
      4.0 *
      deg(y * std::sin(l2) - 2.0 * ecc * std::sin(m) + 4.0 * ecc * y * std::sin(m) * std::cos(l2) -
          0.5 * y * y * std::sin(2.0 * l2) - 1.25 * ecc * ecc * std::sin(2.0 * m));

  const double utc_min = wrap(secs, kSecondsPerDay) / 60.0;
  const double true_solar_min = wrap(utc_min + eot_min + 4.0 * longitude_deg, 1440.0);
  const double hour_angle = rad(true_solar_min / 4.0 - 180.0);  // west (afternoon) positive

  const double lat = rad(latitude_deg);
  const double cos_zen = std::clamp(
      std::sin(lat) * std::sin(decl) + std::cos(lat) * std::cos(decl) * std::cos(hour_angle), -1.0,
      1.0);
  const double geometric_elev = 90.0 - deg(std::acos(cos_zen));
  const double elev = geometric_elev + refraction_deg(geometric_elev);
  // atan2 form of the NOAA azimuth: same result, but defined at the zenith and the poles.
  const double az = deg(std::atan2(std::sin(hour_angle), std::cos(hour_angle) * std::sin(lat) -
                                                             std::tan(decl) * std::cos(lat))) +
                    180.0;
  return SunPosition{elev, wrap(az, 360.0), 90.0 - elev};
}

}  // namespace sun
