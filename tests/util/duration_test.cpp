#include "util/duration.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("durations parse as Prometheus writes them") {
  CHECK(util::parse_duration("30s") == std::chrono::milliseconds(30s));
  CHECK(util::parse_duration("500ms") == 500ms);
  CHECK(util::parse_duration("1h30m") == std::chrono::milliseconds(90min));
  CHECK(util::parse_duration("2d") == std::chrono::milliseconds(48h));
  CHECK(util::parse_duration("15m") == std::chrono::milliseconds(15min));
  CHECK(util::parse_duration("0") == 0ms);
}

TEST_CASE("bad durations are refused") {
  for (const char* bad : {"", "10", "x", "-1s", "1x", "s", "1h-", "99999999999999999999s"}) {
    INFO(bad);
    CHECK_FALSE(util::parse_duration(bad).has_value());
  }
}

TEST_CASE("durations format back to their shortest spelling") {
  CHECK(util::format_duration(90min) == "1h30m");
  CHECK(util::format_duration(1500ms) == "1s500ms");
  CHECK(util::format_duration(0ms) == "0s");
}
