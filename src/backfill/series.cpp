#include "backfill/series.hpp"

#include <algorithm>
#include <charconv>

namespace backfill {
namespace {

constexpr double kJoulesPerWattHour = 3600.0;

}  // namespace

std::vector<Timestamp> row_instants(const tigo::CsvTable& table, const date::time_zone* zone) {
  std::vector<Timestamp> out;
  out.reserve(table.rows.size());
  std::optional<Timestamp> previous;
  for (const auto& row : table.rows) {
    previous = tigo::local_to_utc_after(row.time, zone, previous);
    out.push_back(*previous);
  }
  return out;
}

std::vector<std::vector<Point>> column_points(const tigo::CsvTable& table,
                                              const date::time_zone* zone) {
  std::vector<std::vector<Point>> out(table.columns.size());
  const auto at = row_instants(table, zone);
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& cells = table.rows[r].cells;
    for (std::size_t c = 0; c < cells.size() && c < out.size(); ++c)
      if (cells[c]) out[c].push_back({at[r], *cells[c]});
  }
  return out;
}

std::vector<std::vector<Point>> energy_today_points(const tigo::CsvTable& table,
                                                    const date::time_zone* zone) {
  std::vector<std::vector<Point>> out(table.columns.size());
  std::vector<double> today(table.columns.size(), 0.0);
  std::optional<date::local_days> day;
  std::optional<Timestamp> previous;
  for (const auto& row : table.rows) {
    previous = tigo::local_to_utc_after(row.time, zone, previous);
    const auto row_day = date::floor<date::days>(row.time);
    if (day != row_day) std::fill(today.begin(), today.end(), 0.0);
    day = row_day;
    const tigo::LocalTime end_local = row.time + std::chrono::hours{1};
    const tigo::LocalTime midnight{row_day + date::days{1}};
    // An hour's end is the next wall-clock hour (a skipped one: the instant the clocks jumped).
    const Timestamp stamp =
        end_local >= midnight
            ? tigo::local_to_utc_after(midnight, zone, std::nullopt) - std::chrono::seconds{1}
            : std::max(tigo::local_to_utc_after(end_local, zone, previous),
                       *previous + std::chrono::seconds{1});
    for (std::size_t c = 0; c < row.cells.size() && c < out.size(); ++c) {
      if (!row.cells[c]) continue;
      today[c] += *row.cells[c];
      out[c].push_back({stamp, today[c] * kJoulesPerWattHour});
    }
  }
  return out;
}

void normalize(std::vector<Point>& points, Timestamp from, Timestamp to,
               std::optional<Timestamp> after) {
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.at < b.at; });
  std::vector<Point> kept;
  kept.reserve(points.size());
  for (const auto& p : points) {
    if (p.at < from || p.at >= to || (after && p.at <= *after)) continue;
    if (!kept.empty() && kept.back().at == p.at) {
      kept.back() = p;  // the later row of the answer wins
    } else {
      kept.push_back(p);
    }
  }
  points = std::move(kept);
}

std::optional<std::int64_t> column_id(std::string_view name) {
  std::int64_t id = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc{} || ptr != name.data() + name.size()) return std::nullopt;
  return id;
}

}  // namespace backfill
