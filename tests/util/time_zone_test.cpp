// Wall times of an IANA zone without an offset -> UTC (util::local_to_utc_in_zone), as local
// sources that write none need them: the same DST rules as tigo::local_to_utc_after.
#include <catch2/catch.hpp>
#include <chrono>

#include "util/time.hpp"

using namespace std::chrono;

namespace {

sys_seconds utc(int y, unsigned m, unsigned d, int h, int min = 0) {
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours{h} + minutes{min};
}

local_seconds wall(int y, unsigned m, unsigned d, int h, int min = 0) {
  return local_seconds{local_days{year{y} / month{m} / day{d}}} + hours{h} + minutes{min};
}

}  // namespace

TEST_CASE("local_to_utc_in_zone: plain, repeated and skipped hours, unknown zones", "[util]") {
  const char* ny = "America/New_York";
  CHECK(util::is_known_zone(ny));
  CHECK_FALSE(util::is_known_zone("Mars/Olympus_Mons"));
  CHECK_FALSE(util::local_to_utc_in_zone(wall(2026, 6, 21, 12), "Mars/Olympus_Mons"));
  CHECK_FALSE(util::local_day_in_zone(utc(2026, 6, 21, 12), "Mars/Olympus_Mons"));

  CHECK(util::local_to_utc_in_zone(wall(2026, 6, 21, 12), ny) == utc(2026, 6, 21, 16));
  // Clocks fall back at 02:00 EDT on 2026-11-01: 01:30 is first 05:30Z, then 06:30Z.
  const auto first = utc(2026, 11, 1, 5, 30);
  const auto second = utc(2026, 11, 1, 6, 30);
  CHECK(util::local_to_utc_in_zone(wall(2026, 11, 1, 1, 30), ny) == first);
  CHECK(util::local_to_utc_in_zone(wall(2026, 11, 1, 1, 30), ny, utc(2026, 11, 1, 5)) == first);
  CHECK(util::local_to_utc_in_zone(wall(2026, 11, 1, 1, 30), ny, utc(2026, 11, 1, 5, 59)) ==
        second);
  CHECK(util::local_to_utc_in_zone(wall(2026, 11, 1, 1, 30), ny, second) == first);  // none later
  // Clocks spring forward at 02:00 EST on 2026-03-08: 02:30 is read with EST, as 03:30 EDT.
  CHECK(util::local_to_utc_in_zone(wall(2026, 3, 8, 2, 30), ny) == utc(2026, 3, 8, 7, 30));
  CHECK(util::local_to_utc_in_zone(wall(2026, 3, 8, 3, 30), ny) == utc(2026, 3, 8, 7, 30));

  CHECK(util::local_day_in_zone(utc(2026, 6, 21, 3), ny) == local_days{year{2026} / 6 / 20});
  CHECK(util::local_day_in_zone(utc(2026, 6, 21, 4), ny) == local_days{year{2026} / 6 / 21});
  CHECK(util::local_day_in_zone(utc(2026, 6, 21, 23), "Pacific/Kiritimati") ==
        local_days{year{2026} / 6 / 22});
}
