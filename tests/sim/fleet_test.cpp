#include "sim/fleet.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <stdexcept>

#include "sim/demo.hpp"
#include "sim/model.hpp"
#include "sim/responses.hpp"
#include "sim_fixture.hpp"
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

TEST_CASE("a --zones fleet has all its systems in those zones, over their towns", "[sim]") {
  const std::vector<std::string> zones{"America/Los_Angeles", "America/Denver"};
  simtest::RunningSim sim({}, 60, simtest::at_utc(2026, 6, 21, 18), 4, 3, zones);
  simdjson::dom::parser p;
  const auto body = sim.ok("systems?limit=100");
  simdjson::dom::array list;
  REQUIRE(p.parse(body)["systems"].get(list) == simdjson::SUCCESS);
  REQUIRE(list.size() == 60);
  std::set<std::string> seen_zones, towns;
  for (simdjson::dom::element s : list) {
    const std::string zone(s["timezone"].get_string().value());
    INFO(zone);
    CHECK(std::find(zones.begin(), zones.end(), zone) != zones.end());
    seen_zones.insert(zone);
    towns.insert(std::string(s["city"].get_string().value()));
    // Numbers may come as strings (a quirk of the real API).
    auto number = [&](const char* key) {
      const auto e = s[key];
      return e.is_string() ? std::stod(std::string(e.get_string().value()))
                           : e.get_double().value();
    };
    // The contiguous US west of the Rockies' eastern edge.
    CHECK(number("latitude") > 31);
    CHECK(number("latitude") < 48);
    CHECK(number("longitude") > -123);
    CHECK(number("longitude") < -104);
  }
  CHECK(seen_zones.size() == 2);
  CHECK(towns.size() >= 12);
}

TEST_CASE("zones and regions: what --zones and --region take, and what they refuse", "[sim]") {
  for (const auto& zone : sim::Fleet::time_zones()) {
    INFO(zone);
    CHECK_NOTHROW(date::locate_zone(zone));
  }
  const auto west = sim::placement_zones("", "us-west");
  REQUIRE(west.ok());
  CHECK(*west ==
        std::vector<std::string>{"America/Los_Angeles", "America/Phoenix", "America/Denver"});
  const auto both = sim::placement_zones("America/Denver,Europe/Paris", "us-west");
  REQUIRE(both.ok());
  CHECK(*both == std::vector<std::string>{"America/Los_Angeles", "America/Phoenix",
                                          "America/Denver", "Europe/Paris"});
  const auto none = sim::placement_zones("", "");
  REQUIRE(none.ok());
  CHECK(none->empty());
  for (const auto* region : {"us-west", "us-central", "us-east", "us", "europe", "australia"}) {
    const auto zones = sim::placement_zones("", region);
    REQUIRE(zones.ok());
    CHECK_FALSE(zones->empty());
  }

  const auto bad = sim::placement_zones("America/Denver,Mars/Olympus", "");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("\"Mars/Olympus\" is not an IANA time zone") != std::string::npos);
  const auto townless = sim::placement_zones("Europe/Tallinn", "");
  REQUIRE_FALSE(townless.ok());
  CHECK(townless.error().message.find("no simulated towns in \"Europe/Tallinn\"") !=
        std::string::npos);
  const auto region = sim::placement_zones("", "moon");
  REQUIRE_FALSE(region.ok());
  CHECK(region.error().message.find("unknown region \"moon\"") != std::string::npos);
  CHECK(sim::zones_listing().find("America/Denver: Denver, Salt Lake City") != std::string::npos);
}

TEST_CASE("a region fleet is deterministic per seed and stays in the region", "[sim]") {
  const auto zones = *sim::placement_zones("", "australia");
  const sim::Fleet a({9, 30, 4, zones}), b({9, 30, 4, zones}), c({10, 30, 4, zones});
  bool differs = false;
  std::set<std::string> towns;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto s = a.system(i);
    CHECK(s.timezone.rfind("Australia/", 0) == 0);
    CHECK(s.country_code == "AU");
    CHECK(s.latitude < -10);  // southern hemisphere: panels face north
    CHECK((s.plane.azimuth_deg < 31 || s.plane.azimuth_deg > 329));
    CHECK(s.city == b.system(i).city);
    CHECK(s.latitude == b.system(i).latitude);
    differs |= s.latitude != c.system(i).latitude;
    towns.insert(s.city);
  }
  CHECK(differs);
  CHECK(towns.size() >= 8);
  CHECK_THROWS_AS(sim::Fleet({1, 3, 4, {"Europe/Tallinn"}}), std::invalid_argument);
}

TEST_CASE("the default fleet's places do not move: the global spread of each seed", "[sim]") {
  // Pinned: the demo and many tests count on these places.
  const sim::Fleet fleet({1, 6, 24});
  std::vector<std::string> cities;
  for (std::size_t i = 0; i < fleet.size(); ++i) cities.push_back(fleet.system(i).city);
  CHECK(cities ==
        std::vector<std::string>{"Athens", "Phoenix", "Perth", "Sao Paulo", "Honolulu", "Dubai"});
  CHECK(fleet.system(0).latitude == Approx(38.223728).margin(1e-9));
  CHECK(fleet.system(4).longitude == Approx(-158.033899).margin(1e-9));
}
