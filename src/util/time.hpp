// ISO 8601 timestamps as Tigo writes them, and site-local wall time in IANA zones.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace util {

// "2026-03-31T19:28:00.000-07:00", "2014-05-16T20:50:45+00:00", "...Z", or a date "2017-01-01"
// (taken as midnight UTC). Fractions are dropped.
std::optional<std::chrono::sys_seconds> parse_iso8601(std::string_view text);

// "2026-03-31T19:28:00Z"
std::string format_iso8601_utc(std::chrono::sys_seconds t);

// Time since boot, suspended time included (CLOCK_BOOTTIME): it never steps with the wall clock,
// yet a VM resumed after an hour has seen an hour pass (steady_clock has not).
std::chrono::nanoseconds boot_elapsed();

// Loads the time-zone database and each named zone's rules now, on this thread: the library
// loads them lazily on first use, and a server's threads should not race to do that.
// Unknown names are skipped.
void preload_time_zones(const std::vector<std::string>& names);

// The wall time of `t` in IANA zone `tz` with its offset, "2026-03-31T19:28:00-07:00".
// Empty if the zone is unknown.
std::string format_iso8601_in_zone(std::chrono::sys_seconds t, std::string_view tz);

}  // namespace util
