#include "refresh/scheduler.hpp"

#include <catch2/catch.hpp>

#include "util/time.hpp"

using namespace std::chrono;
using refresh::Dataset;
using refresh::PanelDecision;

TEST_CASE("job queue: earliest due first, one entry per job", "[scheduler]") {
  refresh::JobQueue q;
  const refresh::SteadyTime t0{};
  q.schedule(1, Dataset::summary, t0 + seconds{10});
  q.schedule(2, Dataset::summary, t0 + seconds{5});
  q.schedule(1, Dataset::panels, t0 + seconds{7});
  q.schedule(1, Dataset::summary, t0 + seconds{3});  // moved earlier, not duplicated
  CHECK(q.size() == 3);
  CHECK(q.next_due() == t0 + seconds{3});
  CHECK_FALSE(q.pop_due(t0 + seconds{2}).has_value());
  auto a = q.pop_due(t0 + seconds{100});
  REQUIRE(a);
  CHECK(a->system_id == 1);
  CHECK(a->dataset == Dataset::summary);
  CHECK(q.pop_due(t0 + seconds{100})->system_id == 2);
  q.remove_system(1);
  CHECK(q.size() == 0);
}

namespace {

refresh::SystemState with_source_minute(std::optional<sys_seconds> last_min) {
  refresh::SystemState s;
  tigo::Source src;
  tigo::SourceSet set;
  set.name = "panels_avg";
  set.last_min = last_min;
  src.sets.push_back(set);
  s.sources.push_back(src);
  return s;
}

}  // namespace

TEST_CASE("minute data: first fetch always, then only when sources show new minutes",
          "[scheduler]") {
  const auto m = *util::parse_iso8601("2026-07-01T18:00:00Z");
  auto s = with_source_minute(m);
  CHECK(refresh::decide_panels(s, -30.0) == PanelDecision::fetch);  // first, even at night
  s.panels_fetched_once = true;
  s.panels_cursor = m;
  CHECK(refresh::decide_panels(s, 40.0) == PanelDecision::skip_no_new_data);
  s.sources[0].sets[0].last_min = m + minutes{10};
  CHECK(refresh::decide_panels(s, 40.0) == PanelDecision::fetch);
}

TEST_CASE("minute data at night: once to settle the day, then not until morning", "[scheduler]") {
  const auto m = *util::parse_iso8601("2026-07-02T03:00:00Z");
  auto s = with_source_minute(m + minutes{20});
  s.panels_fetched_once = true;
  s.panels_cursor = m;
  CHECK(refresh::decide_panels(s, -20.0) == PanelDecision::fetch);
  s.panels_settled_tonight = true;
  CHECK(refresh::decide_panels(s, -20.0) == PanelDecision::skip_night);
  // Twilight is not night: data may still come.
  CHECK(refresh::decide_panels(s, -3.0) == PanelDecision::fetch);
}

TEST_CASE("minute data window: since the last minute with overlap, capped by lookback",
          "[scheduler]") {
  const auto now = *util::parse_iso8601("2026-07-01T18:00:30Z");
  refresh::SystemState s;
  auto first = refresh::panels_window(s, now, hours{2});
  CHECK(first.start == now - seconds{30} - hours{2});
  s.panels_cursor = now - minutes{20};
  auto next = refresh::panels_window(s, now, hours{2});
  CHECK(next.start == *util::parse_iso8601("2026-07-01T17:25:00Z"));
  CHECK(next.end == now);
  s.panels_cursor = now - hours{30};
  CHECK(refresh::panels_window(s, now, hours{2}).start == first.start);
}

TEST_CASE("at night the first fetch reaches back to the last daylight", "[scheduler]") {
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
