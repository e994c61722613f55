#include "util/time.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono;

namespace {
sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  return sys_seconds{sys_days{year{y} / month{mo} / day{d}}} + hours{h} + minutes{mi} + seconds{s};
}
}  // namespace

TEST_CASE("ISO 8601 times as Tigo writes them") {
  CHECK(util::parse_iso8601("2026-03-31T19:28:00.000-07:00") == utc(2026, 4, 1, 2, 28));
  CHECK(util::parse_iso8601("2014-05-16T20:50:45+00:00") == utc(2014, 5, 16, 20, 50, 45));
  CHECK(util::parse_iso8601("2026-09-29T21:18:00-07:00") == utc(2026, 9, 30, 4, 18));
  CHECK(util::parse_iso8601("2024-01-01T05:30:00+0530") == utc(2024, 1, 1, 0, 0));
  CHECK(util::parse_iso8601("2017-01-01") == utc(2017, 1, 1, 0, 0));
  CHECK(util::parse_iso8601("2026-03-01T12:07:00Z") == utc(2026, 3, 1, 12, 7));
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2026-03-01T25:00:00Z",
                          "2026-03-01T12:00:00+7", "2026-03-01Tnoon", "garbage"}) {
    INFO(bad);
    CHECK_FALSE(util::parse_iso8601(bad).has_value());
  }
}

TEST_CASE("wall time in an IANA zone follows DST") {
  // Los Angeles springs forward on 2026-03-08 at 02:00 local (10:00 UTC).
  CHECK(util::format_iso8601_in_zone(utc(2026, 3, 8, 9, 59), "America/Los_Angeles") ==
        "2026-03-08T01:59:00-08:00");
  CHECK(util::format_iso8601_in_zone(utc(2026, 3, 8, 10, 0), "America/Los_Angeles") ==
        "2026-03-08T03:00:00-07:00");
  CHECK(util::format_iso8601_in_zone(utc(2026, 6, 1, 0, 0), "Asia/Kolkata") ==
        "2026-06-01T05:30:00+05:30");
  CHECK(util::format_iso8601_in_zone(utc(2026, 6, 1, 0, 0), "Not/AZone").empty());
}
