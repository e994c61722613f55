#include "sim/solar.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "sim/pv_model.hpp"

namespace {

using namespace std::chrono;
using sim::solar::Plane;

sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi};
}

constexpr double kBoulderLat = 40.0;
constexpr double kBoulderLon = -105.25;
constexpr double kSydneyLat = -33.87;
constexpr double kSydneyLon = 151.21;

}  // namespace

TEST_CASE("clear_sky is finite at every hour, also at the poles", "[sim][solar]") {
  for (const double lat : {-90.0, -66.0, 0.0, 45.0, 90.0}) {
    for (int h = 0; h < 24; ++h) {
      const auto ir = sim::solar::clear_sky(lat, 10.0, Plane{30.0, 180.0}, utc(2024, 6, 21, h));
      REQUIRE(std::isfinite(ir.poa_w_m2));
    }
  }
}

TEST_CASE("clear_sky is exactly zero at night", "[sim][solar]") {
  const auto ir =
      sim::solar::clear_sky(kBoulderLat, kBoulderLon, Plane{30.0, 180.0}, utc(2024, 6, 21, 7));
  CHECK(ir.ghi_w_m2 == 0.0);
  CHECK(ir.dni_w_m2 == 0.0);
  CHECK(ir.dhi_w_m2 == 0.0);
  CHECK(ir.poa_w_m2 == 0.0);
}

TEST_CASE("clear_sky over a summer day at mid latitude", "[sim][solar]") {
  const Plane south{30.0, 180.0};
  const auto day = utc(2024, 6, 21, 0);
  double peak = 0.0;
  int peak_minute = 0;
  for (int m = 0; m < 1440; ++m) {
    const auto t = day + minutes{m};
    const auto ir = sim::solar::clear_sky(kBoulderLat, kBoulderLon, south, t);
    REQUIRE(ir.ghi_w_m2 >= 0.0);
    REQUIRE(ir.dni_w_m2 >= 0.0);
    REQUIRE(ir.dhi_w_m2 >= 0.0);
    REQUIRE(ir.poa_w_m2 >= 0.0);
    const double cos_z = std::cos(sim::solar::sun_position(kBoulderLat, kBoulderLon, t).zenith_deg *
                                  std::numbers::pi / 180.0);
    if (ir.ghi_w_m2 > 0.0) REQUIRE(ir.ghi_w_m2 == Approx(ir.dni_w_m2 * cos_z + ir.dhi_w_m2));
    if (ir.poa_w_m2 > peak) {
      peak = ir.poa_w_m2;
      peak_minute = m;
    }
  }
  // Solar noon = 12:00 - 4 min/deg * longitude - equation of time (-1.8 min) = 19:03 UTC.
  CHECK(std::abs(peak_minute - (19 * 60 + 3)) <= 20);
  CHECK(peak > 900.0);
  CHECK(peak < 1150.0);

  const auto noon = sim::solar::clear_sky(kBoulderLat, kBoulderLon, south, utc(2024, 6, 21, 19));
  CHECK(noon.ghi_w_m2 > 700.0);
  CHECK(noon.ghi_w_m2 < 1100.0);
  CHECK(noon.dni_w_m2 > 700.0);
  CHECK(noon.dhi_w_m2 < 0.25 * noon.ghi_w_m2);
}

TEST_CASE("clear_sky transposition follows the plane orientation", "[sim][solar]") {
  // Southern hemisphere noon: a north-facing plane beats a south-facing one.
  const auto t = utc(2024, 6, 21, 2);  // Sydney winter noon
  const auto north = sim::solar::clear_sky(kSydneyLat, kSydneyLon, Plane{30.0, 0.0}, t);
  const auto south = sim::solar::clear_sky(kSydneyLat, kSydneyLon, Plane{30.0, 180.0}, t);
  CHECK(north.poa_w_m2 > 1.5 * south.poa_w_m2);
  // Horizontal plane sees exactly GHI.
  const auto flat = sim::solar::clear_sky(kSydneyLat, kSydneyLon, Plane{0.0, 180.0}, t);
  CHECK(flat.poa_w_m2 == Approx(flat.ghi_w_m2));
}

TEST_CASE("cloud_transmittance is bounded, smooth, deterministic and per-seed", "[sim][solar]") {
  const auto start = utc(2024, 6, 1, 0);
  int clear_days = 0;
  int overcast_days = 0;
  for (std::uint64_t seed : {1ULL, 2ULL, 42ULL, 0xDEADBEEFULL, 0ULL, ~0ULL}) {
    double prev = sim::solar::cloud_transmittance(seed, start);
    double max_step = 0.0;
    for (int day = 0; day < 30; ++day) {
      double sum = 0.0;
      for (int m = 0; m < 1440; ++m) {
        const double c = sim::solar::cloud_transmittance(seed, start + days{day} + minutes{m});
        REQUIRE(c >= 0.15);
        REQUIRE(c <= 1.0);
        max_step = std::max(max_step, std::abs(c - prev));
        prev = c;
        sum += c;
      }
      const double mean = sum / 1440.0;
      if (mean > 0.95) ++clear_days;
      if (mean < 0.45) ++overcast_days;
    }
    CHECK(max_step < 0.02);
  }
  // 180 system-days: the weather must vary, with both clear and overcast days present.
  CHECK(clear_days >= 10);
  CHECK(overcast_days >= 5);
  CHECK(clear_days + overcast_days < 150);

  const auto t = utc(2024, 7, 4, 18, 30);
  CHECK(sim::solar::cloud_transmittance(7, t) == sim::solar::cloud_transmittance(7, t));
  int differ = 0;
  for (int h = 0; h < 48; ++h) {
    const auto th = t + hours{h};
    if (std::abs(sim::solar::cloud_transmittance(7, th) - sim::solar::cloud_transmittance(8, th)) >
        0.01)
      ++differ;
  }
  CHECK(differ > 10);
}

TEST_CASE("ambient temperature follows seasons per hemisphere and peaks mid afternoon",
          "[sim][solar]") {
  // July vs January at the same local hour (15:00 local at Boulder = 22:00 UTC).
  CHECK(sim::solar::ambient_temperature_c(kBoulderLat, kBoulderLon, utc(2024, 7, 15, 22)) >
        sim::solar::ambient_temperature_c(kBoulderLat, kBoulderLon, utc(2024, 1, 15, 22)) + 15.0);
  // Sydney's summer is January (15:00 local = 05:00 UTC).
  CHECK(sim::solar::ambient_temperature_c(kSydneyLat, kSydneyLon, utc(2024, 1, 15, 5)) >
        sim::solar::ambient_temperature_c(kSydneyLat, kSydneyLon, utc(2024, 7, 15, 5)) + 10.0);

  double hottest = -1e9;
  int hottest_hour = -1;
  for (int h = 0; h < 24; ++h) {
    const double c =
        sim::solar::ambient_temperature_c(kBoulderLat, kBoulderLon, utc(2024, 7, 15, h));
    REQUIRE(c > -5.0);
    REQUIRE(c < 40.0);
    if (c > hottest) {
      hottest = c;
      hottest_hour = h;
    }
  }
  CHECK(hottest_hour == 22);  // 15:00 local solar time at -105.25 deg
  CHECK(sim::solar::ambient_temperature_c(0.0, 0.0, utc(2024, 3, 20, 15)) ==
        Approx(32.0).margin(1.0));
}

TEST_CASE("cell temperature by NOCT", "[sim][solar]") {
  CHECK(sim::solar::cell_temperature_c(20.0, 800.0) == Approx(45.0));
  CHECK(sim::solar::cell_temperature_c(10.0, 0.0) == Approx(10.0));
  CHECK(sim::solar::cell_temperature_c(25.0, 1000.0) == Approx(56.25));
}

TEST_CASE("pv operate", "[sim][pv]") {
  const sim::pv::PanelSpec spec{400.0, 34.0};

  SECTION("pin equals vin * iin exactly") {
    for (const double g : {1.0, 5.0, 50.0, 333.3, 800.0, 1000.0, 1200.0}) {
      for (const double tc : {-10.0, 25.0, 47.3, 70.0}) {
        const auto r = sim::pv::operate(spec, g, tc);
        REQUIRE(r.pin_w == r.vin_v * r.iin_a);
        REQUIRE(r.vin_v > 0.0);
        REQUIRE(r.iin_a > 0.0);
      }
    }
  }
  SECTION("zero, negative and NaN irradiance give exactly zero") {
    for (const double g : {0.0, -3.0, 0.5, std::nan("")}) {
      const auto r = sim::pv::operate(spec, g, 25.0);
      CHECK(r.vin_v == 0.0);
      CHECK(r.iin_a == 0.0);
      CHECK(r.pin_w == 0.0);
    }
  }
  SECTION("rated power at STC") {
    const auto r = sim::pv::operate(spec, 1000.0, 25.0);
    CHECK(r.pin_w == Approx(400.0).epsilon(1e-9));
    CHECK(r.vin_v == Approx(34.0));
    CHECK(r.iin_a == Approx(400.0 / 34.0));
  }
  SECTION("hotter means lower voltage and power, about -0.3 %/C on voltage") {
    const auto cool = sim::pv::operate(spec, 1000.0, 25.0);
    const auto hot = sim::pv::operate(spec, 1000.0, 65.0);
    CHECK(hot.vin_v < cool.vin_v);
    CHECK(hot.vin_v / cool.vin_v == Approx(1.0 - 0.003 * 40.0).margin(0.01));
    CHECK(hot.pin_w < cool.pin_w);
  }
  SECTION("current tracks irradiance, voltage sags a little in low light") {
    const auto full = sim::pv::operate(spec, 1000.0, 25.0);
    const auto dim = sim::pv::operate(spec, 200.0, 25.0);
    CHECK(dim.iin_a == Approx(0.2 * full.iin_a));
    CHECK(dim.vin_v < full.vin_v);
    CHECK(dim.vin_v > 0.85 * full.vin_v);
  }
  SECTION("efficiency factor scales current only") {
    const auto full = sim::pv::operate(spec, 800.0, 40.0);
    const auto weak = sim::pv::operate({400.0, 34.0, 0.9}, 800.0, 40.0);
    CHECK(weak.iin_a == Approx(0.9 * full.iin_a));
    CHECK(weak.vin_v == full.vin_v);
  }
}
