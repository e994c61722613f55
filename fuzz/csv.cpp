// The CSV parser of data/aggregate and data/combined, with the options the client passes: once
// plain, once as the refresher calls it (a site "now", expected columns, rows kept).
#include "tigo/csv.hpp"

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "targets.hpp"
#include "tigo/local_time.hpp"

namespace fuzz {
namespace {

using namespace std::chrono_literals;

void check_table(const tigo::CsvTable& t, const tigo::CsvOptions& options,
                 const date::time_zone* zone) {
  require(!options.keep_rows || t.rows.size() == t.accepted_rows, "rows kept != accepted rows");
  require(t.uneven_rows <= t.accepted_rows, "more uneven rows than accepted rows");
  require(t.columns.size() <= options.max_columns, "more columns than max_columns");
  for (const auto& row : t.rows) {
    require(row.cells.size() == t.columns.size(), "a row's cells != the header's columns");
    require(t.newest_row && row.time <= *t.newest_row, "a row newer than newest_row");
    if (options.now)
      require(row.time <= *options.now + options.future_tolerance, "future row kept");
    for (const auto& cell : row.cells) require(!cell || std::isfinite(*cell), "cell not finite");
  }
  for (const auto& col : t.columns) {
    require(col.values <= t.accepted_rows, col.name + ": more values than accepted rows");
    require(col.newest.has_value() == (col.values > 0), col.name + ": newest without values");
    if (col.newest) {
      require(std::isfinite(col.newest->value), col.name + ": newest value not finite");
      require(t.newest_row && col.newest->time <= *t.newest_row, col.name + ": newer than rows");
      // Site-local -> UTC: back to the same wall time, or later by a DST gap (at most 2 h).
      const auto utc = tigo::newest_utc(col, zone);
      require(utc.has_value(), col.name + ": no UTC time for a value");
      const auto back = tigo::utc_to_local(*utc, zone);
      require(back >= col.newest->time && back - col.newest->time <= 2h,
              col.name + ": local -> UTC -> local moved the time");
    }
    if (const auto key = tigo::split_key_column(col.name)) {
      require(std::string(key->datasource) + "_" + std::string(key->param) == col.name,
              col.name + ": key column split loses text");
    }
  }
  require(t.accepted_rows == 0 || t.newest_row.has_value(), "accepted rows without newest_row");
}

}  // namespace

void run_csv(std::string_view input) {
  static const date::time_zone* const zone = *tigo::find_zone("America/Los_Angeles");
  const tigo::CsvOptions plain;
  if (const auto t = tigo::parse_csv(input, plain, "data/aggregate"); t.ok()) {
    check_table(*t, plain, zone);
  } else {
    require(t.error().message.starts_with("data/aggregate: "), "error does not name endpoint");
  }

  static const std::vector<std::string> expected = {"1", "2", "04C05B800ACE.panels.A1_Vin"};
  tigo::CsvOptions refresher;
  refresher.now = tigo::LocalTime{date::local_days{date::year{2026} / 3 / 8}} + 2h + 30min;
  refresher.expected = expected;
  refresher.keep_rows = true;
  refresher.max_columns = 64;
  if (const auto t = tigo::parse_csv(input, refresher, "data/combined"); t.ok()) {
    check_table(*t, refresher, zone);
  }
  if (const auto line_end = input.find('\n'); line_end != std::string_view::npos) {
    (void)tigo::parse_csv_time(input.substr(0, line_end));
  }
}

}  // namespace fuzz
