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

TEST_CASE("fields of a timestamp are digits, never signed (found by fuzz_time)") {
  for (const char* bad :
       {"-066-04-05T01:45:00Z", "2026--1-01", "2026-01--1", "2026-01-01T-1:00Z",
        "2026-01-01T10:-5Z", "2026-01-01T10:00:-1Z", "2026-01-01T10:00+-1:00", "+026-01-01"}) {
    INFO(bad);
    CHECK_FALSE(util::parse_iso8601(bad).has_value());
  }
}

TEST_CASE("an offset of local mean time still denotes the instant (found by fuzz_time)") {
  // Before 1895 Lord Howe Island kept local mean time, +10:36:20: the offset is written in whole
  // minutes (+10:36), and the wall time with it, so the text reads back as the same instant.
  const auto t = utc(1013, 4, 5, 1, 45);
  const std::string text = util::format_iso8601_in_zone(t, "Australia/Lord_Howe");
  CHECK(text == "1013-04-05T12:21:00+10:36");
  CHECK(util::parse_iso8601(text) == t);
}
