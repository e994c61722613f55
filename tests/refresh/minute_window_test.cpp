#include "refresh/minute_window.hpp"

#include <catch2/catch.hpp>

#include "util/time.hpp"

using namespace std::chrono;

TEST_CASE("minute data window: since the last minute with overlap, capped by lookback",
          "[minute_window]") {
  const auto now = *util::parse_iso8601("2026-07-01T18:00:30Z");
  auto first = refresh::minute_window(std::nullopt, now, hours{2});
  CHECK(first.start == now - seconds{30} - hours{2});
  auto next = refresh::minute_window(now - minutes{20}, now, hours{2});
  CHECK(next.start == *util::parse_iso8601("2026-07-01T17:25:00Z"));
  CHECK(next.end == now);
  CHECK(refresh::minute_window(now - hours{30}, now, hours{2}).start == first.start);
}

TEST_CASE("at night the first fetch reaches back to the last daylight", "[minute_window]") {
  // Berlin at 02:00 local in June: the sun set around 19:30 UTC the evening before.
  const auto now = *util::parse_iso8601("2026-06-21T00:00:00Z");
  const auto lit = refresh::last_daylight(52.52, 13.40, now);
  REQUIRE(lit.has_value());
  CHECK(*lit > *util::parse_iso8601("2026-06-20T19:00:00Z"));
  CHECK(*lit < *util::parse_iso8601("2026-06-20T20:00:00Z"));
  const auto w = refresh::window_before(*lit, hours{2});
  CHECK(w.end - w.start == hours{2} + minutes{30});
  // Midday: the last daylight is now.
  const auto noon = *util::parse_iso8601("2026-06-21T11:00:00Z");
  CHECK(refresh::last_daylight(52.52, 13.40, noon) == noon);
  // Polar night in Longyearbyen in December: none within a day.
  CHECK_FALSE(refresh::last_daylight(78.2, 15.6, *util::parse_iso8601("2026-12-21T12:00:00Z")));
}
