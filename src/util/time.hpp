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

// Whether tzdata knows the IANA zone `tz`.
bool is_known_zone(std::string_view tz);

// A wall time of IANA zone `tz` without an offset -> UTC, for local sources that write none (the
// CCA's minutes). The rules of tigo::local_to_utc_after: in the repeated hour when clocks fall
// back, the first occurrence, unless that is not after `previous` (the row before, in a series
// that lists the hour twice): then the second; in the skipped hour when clocks spring forward,
// the offset before the gap (02:30 in a 02:00->03:00 gap is the instant the clocks show 03:30).
// nullopt if the zone is unknown.
std::optional<std::chrono::sys_seconds> local_to_utc_in_zone(
    std::chrono::local_seconds local, std::string_view tz,
    std::optional<std::chrono::sys_seconds> previous = std::nullopt);

// The calendar day of zone `tz` at instant `t`; nullopt if the zone is unknown.
std::optional<std::chrono::local_days> local_day_in_zone(std::chrono::sys_seconds t,
                                                         std::string_view tz);

}  // namespace util
