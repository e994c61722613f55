#include "sun/position.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>

namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi};
}

constexpr double kBoulderLat = 40.0;
constexpr double kBoulderLon = -105.25;
constexpr double kSydneyLat = -33.87;
constexpr double kSydneyLon = 151.21;

}  // namespace

// Reference values worked from the NOAA spreadsheet formulas (and agreeing with the NOAA web
// calculator to ~0.05 deg).
TEST_CASE("sun_position matches NOAA reference values", "[sun]") {
  SECTION("Boulder CO at 13:00 MDT on the June solstice") {
    const auto p = sun::sun_position(kBoulderLat, kBoulderLon, utc(2024, 6, 21, 19));
    CHECK(p.elevation_deg == Approx(73.43).margin(0.05));
    CHECK(p.azimuth_deg == Approx(177.6).margin(0.3));
    CHECK(p.zenith_deg == Approx(90.0 - p.elevation_deg).margin(1e-9));
  }
  SECTION("equator at solar noon on the March equinox is near the zenith") {
    const auto p = sun::sun_position(0.0, 0.0, utc(2024, 3, 20, 12, 7));
    CHECK(p.elevation_deg > 89.7);
    CHECK(p.zenith_deg < 0.3);
  }
  SECTION("Sydney at 13:00 AEDT on the December solstice: high sun to the north-west") {
    const auto p = sun::sun_position(kSydneyLat, kSydneyLon, utc(2024, 12, 21, 2));
    CHECK(p.elevation_deg == Approx(79.47).margin(0.05));
    CHECK(p.azimuth_deg == Approx(351.5).margin(0.5));
  }
  SECTION("Boulder at winter solstice noon: low sun due south") {
    // Max elevation = 90 - 40 - 23.44 = 26.56 deg, plus ~0.03 deg of refraction.
    const auto p = sun::sun_position(kBoulderLat, kBoulderLon, utc(2024, 12, 21, 19, 1));
    CHECK(p.elevation_deg == Approx(26.6).margin(0.1));
    CHECK(p.azimuth_deg == Approx(180.0).margin(1.0));
  }
  SECTION("morning sun is in the east, evening sun in the west") {
    const auto am = sun::sun_position(kBoulderLat, kBoulderLon, utc(2024, 6, 21, 14));
    const auto pm = sun::sun_position(kBoulderLat, kBoulderLon, utc(2024, 6, 22, 0));
    CHECK(am.azimuth_deg > 45.0);
    CHECK(am.azimuth_deg < 120.0);
    CHECK(pm.azimuth_deg > 240.0);
    CHECK(pm.azimuth_deg < 315.0);
  }
}

TEST_CASE("sun is below the horizon at local midnight", "[sun]") {
  // Local midnight is 12:00 UTC shifted by longitude / 15 hours.
  CHECK(sun::sun_position(kBoulderLat, kBoulderLon, utc(2024, 6, 21, 7)).elevation_deg < 0.0);
  CHECK(sun::sun_position(kSydneyLat, kSydneyLon, utc(2024, 12, 21, 14)).elevation_deg < 0.0);
  CHECK(sun::sun_position(0.0, 0.0, utc(2024, 3, 20, 0)).elevation_deg < -80.0);
  CHECK(sun::sun_position(51.5, -0.1, utc(2024, 1, 1, 0)).elevation_deg < -50.0);
}

TEST_CASE("azimuth stays within 0..360 and nothing is NaN, also at the poles", "[sun]") {
  for (const double lat : {-90.0, -66.0, 0.0, 45.0, 90.0}) {
    for (int h = 0; h < 24; ++h) {
      const auto p = sun::sun_position(lat, 10.0, utc(2024, 6, 21, h));
      REQUIRE(p.azimuth_deg >= 0.0);
      REQUIRE(p.azimuth_deg < 360.0);
      REQUIRE(std::isfinite(p.elevation_deg));
    }
  }
}
