#include "sim/fleet.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "sim/demo.hpp"
#include "sim/model.hpp"
#include "sim/responses.hpp"
#include "util/time.hpp"

using namespace std::chrono;

TEST_CASE("the fleet is a pure function of the seed", "[sim]") {
  const sim::Fleet a({7, 5, 24}), b({7, 5, 24}), c({8, 5, 24});
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(a.system(i).name == b.system(i).name);
    CHECK(a.system(i).latitude == b.system(i).latitude);
    CHECK(a.system(i).system_id == 1001 + static_cast<std::int64_t>(i));
  }
  bool differs = false;
  for (std::size_t i = 0; i < 5; ++i) differs |= a.system(i).latitude != c.system(i).latitude;
  CHECK(differs);
  CHECK(a.index_of(1003) == std::optional<std::size_t>(2));
  CHECK_FALSE(a.index_of(1006).has_value());
  CHECK_FALSE(a.index_of(1000).has_value());
}

TEST_CASE("a small fleet is spread over the globe", "[sim]") {
  const sim::Fleet fleet({1, 6, 24});
  std::set<std::string> zones;
  double min_lon = 999, max_lon = -999;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto s = fleet.system(i);
    zones.insert(s.timezone);
    min_lon = std::min(min_lon, s.longitude);
    max_lon = std::max(max_lon, s.longitude);
  }
  CHECK(zones.size() >= 5);
  CHECK(max_lon - min_lon > 180);
}

TEST_CASE("system power is zero at night and the sum of its panels by day", "[sim]") {
  const sim::Fleet fleet({1, 3, 24});
  const sim::PowerModel model(fleet);
  const auto s = fleet.system(0);
  // Local solar noon and midnight from the longitude.
  const auto day = sys_days{year{2026} / 6 / 21};
  const auto noon = sys_seconds{day} + seconds{static_cast<int>(43200 - s.longitude * 240)};
  const auto midnight = noon + hours{12};
  CHECK(model.system_power_w(s, midnight) == 0.0);
  const double p = model.system_power_w(s, noon);
  double sum = 0;
  for (int i = 0; i < s.panels; ++i) sum += model.panel(s, i, noon).pin_w;
  CHECK(p > 0);
  CHECK(p == Approx(sum).epsilon(1e-12));
  CHECK(p < sim::power_rating_w(s) * 1.1);
}

TEST_CASE("energy agrees with the power curve and never falls", "[sim]") {
  const sim::Fleet fleet({3, 4, 12});
  const sim::PowerModel model(fleet);
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto s = fleet.system(i);
    INFO(s.timezone);
    const auto t0 = sys_seconds{sys_days{year{2026} / 5 / 10}} + hours{12};
    const auto day_start = sim::local_day_start(s.timezone, t0);
    const auto day_end = day_start + hours{24};  // no DST change on this date anywhere listed
    // Integral of power by the minute, the way a client would add up minute data.
    double wh = 0;
    for (auto t = day_start; t < day_end; t += minutes{1}) wh += model.system_power_w(s, t) / 60.0;
    const auto e = model.energy(s, day_end - seconds{1});
    CHECK(e.today_wh == Approx(wh).epsilon(0.03));
    double last = -1;
    for (auto t = day_start; t <= day_end + hours{2}; t += minutes{17}) {
      const auto now = model.energy(s, t);
      CHECK(now.lifetime_wh >= last);
      CHECK(now.ytd_wh <= now.lifetime_wh);
      CHECK(now.today_wh <= now.ytd_wh);
      last = now.lifetime_wh;
    }
  }
}

TEST_CASE("energy totals do not depend on what was asked before", "[sim]") {
  const sim::Fleet fleet({5, 2, 24});
  const auto s = fleet.system(1);
  const auto t = sys_seconds{sys_days{year{2026} / 8 / 1}} + hours{15} + minutes{7};
  const sim::PowerModel fresh(fleet), warmed(fleet);
  (void)warmed.energy(s, t - days{40});
  (void)warmed.energy(s, t - hours{3});
  CHECK(sim::summary_json(fresh, s, t) == sim::summary_json(warmed, s, t));
}

TEST_CASE("local day start follows DST", "[sim]") {
  // 2026-03-08 is the spring-forward day in Los Angeles: midnight is still PST (UTC-8).
  const auto t = sys_seconds{sys_days{year{2026} / 3 / 8}} + hours{20};
  CHECK(sim::local_day_start("America/Los_Angeles", t) ==
        sys_seconds{sys_days{year{2026} / 3 / 8}} + hours{8});
  const auto summer = sys_seconds{sys_days{year{2026} / 7 / 1}} + hours{20};
  CHECK(sim::local_day_start("America/Los_Angeles", summer) ==
        sys_seconds{sys_days{year{2026} / 7 / 1}} + hours{7});
  CHECK(sim::local_year_start("Asia/Tokyo", summer) ==
        sys_seconds{sys_days{year{2025} / 12 / 31}} + hours{15});
}

TEST_CASE("the demo fleet has a system in daylight at every hour of the year", "[sim]") {
  const sim::Fleet fleet(sim::demo_fleet_options());
  const sim::PowerModel model(fleet);
  std::vector<sim::SystemSpec> systems;
  for (std::size_t i = 0; i < fleet.size(); ++i) systems.push_back(fleet.system(i));
  const auto start = sys_seconds{sys_days{year{2026} / 1 / 1}};
  int dark_moments = 0;
  for (auto t = start; t < start + days{365}; t += minutes{20}) {
    bool lit = false;
    for (const auto& s : systems) lit = lit || model.irradiance_w_m2(s, t) > 20;
    dark_moments += lit ? 0 : 1;
  }
  CHECK(dark_moments == 0);
}
