// Tigo's CSV answers (site-local wall time, one column per object id) -> time series in UTC, as
// the backfill writes them. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "tigo/csv.hpp"
#include "tigo/local_time.hpp"

namespace backfill {

using Timestamp = std::chrono::sys_seconds;

struct Point {
  Timestamp at;
  double value = 0;
  bool operator==(const Point&) const = default;
};

// The UTC instant of each kept row (CsvOptions::keep_rows), in the zone's rules of
// tigo::local_to_utc_after (the repeated fall-back hour read twice); a null zone reads rows as UTC.
std::vector<Timestamp> row_instants(const tigo::CsvTable& table, const date::time_zone* zone);

// Per column, its non-empty cells as points at the row instants. An empty cell is no point.
std::vector<std::vector<Point>> column_points(const tigo::CsvTable& table,
                                              const date::time_zone* zone);

// Per column of an hour-level data/combined answer (Wh per site-local hour): the energy since
// local midnight in joules, at the end of each hour; a day's last hour is stamped a second before
// midnight, so a day's total belongs to that day. An empty cell adds nothing and gives no point.
std::vector<std::vector<Point>> energy_today_points(const tigo::CsvTable& table,
                                                    const date::time_zone* zone);

// What OpenMetrics and promtool need of one series: points sorted by time, one per instant (the
// later one of the answer wins, as with the newest value of the CSV reader), inside [from, to)
// and after `after` (what an earlier chunk already wrote).
void normalize(std::vector<Point>& points, Timestamp from, Timestamp to,
               std::optional<Timestamp> after);

// The integer column name as an object id ("1234"), or null.
std::optional<std::int64_t> column_id(std::string_view name);

}  // namespace backfill
