#include "tigo/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>

#include "util/ascii.hpp"

namespace tigo {
namespace {

using util::iequals;
using util::trim;

// Splits one line into cells; a cell may be double-quoted ("" inside is a quote). Unquoted
// cells are views into the line; quoted ones are unescaped into `scratch` (a deque, so earlier
// strings never move).
void split_cells(std::string_view line, std::vector<std::string_view>& cells,
                 std::deque<std::string>& scratch) {
  cells.clear();
  scratch.clear();
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      std::string& cell = scratch.emplace_back();
      ++i;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cell += line[i++];
      }
      cells.push_back(trim(cell));
    } else {
      const std::size_t next = line.find(',', i);
      cells.push_back(trim(line.substr(i, next == std::string_view::npos ? next : next - i)));
      if (next == std::string_view::npos) break;
      i = next + 1;
      continue;
    }
    const std::size_t next = line.find(',', i);
    if (next == std::string_view::npos) break;
    i = next + 1;
  }
}

bool read_digits(std::string_view& s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  for (std::size_t k = 0; k < n; ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
  }
  std::from_chars(s.data(), s.data() + n, out);
  s.remove_prefix(n);
  return true;
}

bool take(std::string_view& s, char a, char b = '\0') {
  if (s.empty() || (s.front() != a && (b == '\0' || s.front() != b))) return false;
  s.remove_prefix(1);
  return true;
}

enum class CellKind { empty, number, garbage };

CellKind read_cell(std::string_view cell, double& out) {
  if (cell.empty() || cell == "null" || cell == "NULL" || cell == "None" || cell == "NaN" ||
      cell == "nan")
    return CellKind::empty;
  if (cell.front() == '+') cell.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), out);
  if (ec != std::errc{} || ptr != cell.data() + cell.size()) return CellKind::garbage;
  if (!std::isfinite(out)) return CellKind::empty;
  return CellKind::number;
}

}  // namespace

std::string_view to_string(CsvAnomaly kind) {
  switch (kind) {
    case CsvAnomaly::header_only:
      return "header_only";
    case CsvAnomaly::future_row:
      return "future_row";
    case CsvAnomaly::bad_row:
      return "bad_row";
    case CsvAnomaly::unknown_column:
      return "unknown_column";
  }
  return "unknown";
}

std::uint64_t CsvAnomalies::count(CsvAnomaly kind) const {
  switch (kind) {
    case CsvAnomaly::header_only:
      return header_only;
    case CsvAnomaly::future_row:
      return future_row;
    case CsvAnomaly::bad_row:
      return bad_row;
    case CsvAnomaly::unknown_column:
      return unknown_column;
  }
  return 0;
}

const CsvColumn* CsvTable::column(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::optional<LocalTime> parse_csv_time(std::string_view s) {
  s = trim(s);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_digits(s, 4, y) || !take(s, '/', '-') || !read_digits(s, 2, mo) || !take(s, '/', '-') ||
      !read_digits(s, 2, d) || !take(s, ' ', 'T') || !read_digits(s, 2, h) || !take(s, ':') ||
      !read_digits(s, 2, mi))
    return std::nullopt;
  if (take(s, ':') && !read_digits(s, 2, sec)) return std::nullopt;
  if (take(s, '.', ',')) {
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') s.remove_prefix(1);
  }
  if (!s.empty() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return LocalTime{date::local_days{ymd}.time_since_epoch()} + std::chrono::hours{h} +
         std::chrono::minutes{mi} + std::chrono::seconds{sec};
}

std::optional<Timestamp> newest_utc(const CsvColumn& column, const date::time_zone* zone) {
  if (!column.newest) return std::nullopt;
  return local_to_utc(column.newest->time, zone);
}

std::optional<KeyColumn> split_key_column(std::string_view name) {
  const auto us = name.rfind('_');
  if (us == std::string_view::npos || us == 0 || us + 1 == name.size()) return std::nullopt;
  return KeyColumn{name.substr(0, us), name.substr(us + 1)};
}

util::Result<CsvTable> parse_csv(std::string_view body, const CsvOptions& options,
                                 std::string_view endpoint) {
  CsvTable table;
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);

  // Lines without their terminator; blank lines skipped.
  std::size_t pos = 0;
  auto next_line = [&](std::string_view& line) {
    while (pos < body.size()) {
      const std::size_t nl = body.find('\n', pos);
      const std::size_t end = nl == std::string_view::npos ? body.size() : nl;
      line = body.substr(pos, end - pos);
      if (line.ends_with('\r')) line.remove_suffix(1);  // CRLF line ends
      pos = nl == std::string_view::npos ? body.size() : nl + 1;
      if (!trim(line).empty()) return true;
    }
    return false;
  };

  std::vector<std::string_view> cells;
  std::deque<std::string> scratch;
  std::string_view line;
  if (!next_line(line)) {
    table.anomalies.header_only = 1;  // an empty body: no header, no rows
    return table;
  }
  split_cells(line, cells, scratch);
  if (cells.empty() || !iequals(cells.front(), "datetime")) {
    std::string excerpt(trim(line.substr(0, 80)));
    return util::make_error(std::string(endpoint) + ": not a Tigo CSV answer (first line \"" +
                            excerpt + "\")");
  }
  if (cells.size() - 1 > options.max_columns) {
    return util::make_error(std::string(endpoint) + ": CSV has too many columns (" +
                            std::to_string(cells.size() - 1) + ")");
  }
  table.time_header = std::string(cells.front());
  table.columns.reserve(cells.size() - 1);
  for (std::size_t c = 1; c < cells.size(); ++c) {
    CsvColumn col;
    col.name = std::string(cells[c]);
    if (!options.expected.empty()) {
      col.expected = std::find(options.expected.begin(), options.expected.end(), col.name) !=
                     options.expected.end();
      if (!col.expected) ++table.anomalies.unknown_column;
    }
    table.columns.push_back(std::move(col));
  }
  const std::size_t ncol = table.columns.size();
  const bool check_future = options.now.has_value();
  const LocalTime latest_allowed =
      check_future ? *options.now + options.future_tolerance : LocalTime{};

  std::vector<std::optional<double>> values(ncol);
  bool any_row_line = false;
  while (next_line(line)) {
    any_row_line = true;
    split_cells(line, cells, scratch);
    const auto t = parse_csv_time(cells.empty() ? std::string_view{} : cells.front());
    if (!t) {
      ++table.anomalies.bad_row;
      continue;
    }
    bool bad = false;
    for (std::size_t c = 0; c < ncol; ++c) {
      values[c].reset();
      if (c + 1 >= cells.size()) continue;
      double v = 0;
      switch (read_cell(cells[c + 1], v)) {
        case CellKind::empty:
          break;
        case CellKind::number:
          values[c] = v;
          break;
        case CellKind::garbage:
          bad = true;
          break;
      }
      if (bad) break;
    }
    if (bad) {
      ++table.anomalies.bad_row;
      continue;
    }
    if (check_future && *t > latest_allowed) {
      ++table.anomalies.future_row;
      continue;
    }
    if (cells.size() != ncol + 1) ++table.uneven_rows;
    ++table.accepted_rows;
    if (!table.newest_row || *t > *table.newest_row) table.newest_row = *t;
    for (std::size_t c = 0; c < ncol; ++c) {
      if (!values[c]) continue;
      auto& col = table.columns[c];
      ++col.values;
      // Ties go to the later row of the answer.
      if (!col.newest || *t >= col.newest->time) col.newest = CsvValue{*values[c], *t};
    }
    if (options.keep_rows) table.rows.push_back(CsvRow{*t, values});
  }
  if (ncol == 0 || !any_row_line) table.anomalies.header_only = 1;
  return table;
}

}  // namespace tigo
