// The CSV answers of data/aggregate and data/combined, read with std::from_chars (no
// exceptions, memory bounded by the body).
//
// Grammar accepted: an optional UTF-8 BOM; a header line whose first cell is `Datetime` (any
// case: data/combined says `DATETIME`) followed by column names: object ids (header=id) or
// datasource keys with a param suffix (header=key, `04C05B800ACE.panels.A1_Vin`); then rows
// `YYYY/MM/DD HH:MM:SS[.fff]` (also `-` and `T`, seconds optional) in SITE-LOCAL time with no
// offset, then one cell per column. LF or CRLF, a trailing newline or not, blank lines skipped,
// cells trimmed, double quotes allowed.
//
// Oddities coped with: an empty cell is a missing value (never 0), as are `null` and `NaN`;
// rows with fewer cells than the header miss the rest, extra cells are ignored; columns are not
// filled on the same row, so each column keeps its NEWEST NON-EMPTY value with that row's time.
// Anomalies are counted by kind, never fatal:
//   header_only     no rows, or no value columns (`Datetime` alone); an empty body too
//   future_row      a row later than `now + future_tolerance` (dropped)
//   bad_row         a row whose time or a cell does not parse (dropped whole)
//   unknown_column  a column the caller did not list in `expected` (kept, marked)
// An error only when the body is not such a CSV at all (JSON, HTML, no `Datetime` header) or
// has more than `max_columns` columns.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tigo/local_time.hpp"
#include "util/result.hpp"

namespace tigo {

enum class CsvAnomaly { header_only, future_row, bad_row, unknown_column };
inline constexpr CsvAnomaly kAllCsvAnomalies[] = {CsvAnomaly::header_only, CsvAnomaly::future_row,
                                                  CsvAnomaly::bad_row, CsvAnomaly::unknown_column};
// The endpoints that answer CSV.
inline constexpr std::string_view kCsvEndpoints[] = {"data/aggregate", "data/combined"};

// "header_only", "future_row", "bad_row", "unknown_column": the `kind` label of
// tigo_api_csv_anomalies_total.
std::string_view to_string(CsvAnomaly kind);

struct CsvAnomalies {
  std::uint64_t header_only = 0;
  std::uint64_t future_row = 0;
  std::uint64_t bad_row = 0;
  std::uint64_t unknown_column = 0;

  std::uint64_t count(CsvAnomaly kind) const;
  std::uint64_t total() const { return header_only + future_row + bad_row + unknown_column; }
};

struct CsvValue {
  double value = 0;
  LocalTime time;  // site-local; fractions of a second dropped
};

struct CsvColumn {
  std::string name;                // as in the header, trimmed: "1", "04C05B800ACE.panels.A1_Vin"
  std::optional<CsvValue> newest;  // newest non-empty cell; none if the column is all empty
  std::size_t values = 0;          // non-empty cells accepted
  bool expected = true;            // false: counted as unknown_column
};

struct CsvRow {
  LocalTime time;
  std::vector<std::optional<double>> cells;  // one per column, in column order
};

struct CsvTable {
  std::string time_header;  // "Datetime" or "DATETIME" as sent
  std::vector<CsvColumn> columns;
  std::vector<CsvRow> rows;  // accepted rows in answer order, only with CsvOptions::keep_rows
  std::size_t accepted_rows = 0;
  std::size_t uneven_rows = 0;  // rows with fewer or more cells than the header (kept)
  std::optional<LocalTime> newest_row;
  CsvAnomalies anomalies;

  // The first column of that name, or null.
  const CsvColumn* column(std::string_view name) const;
};

struct CsvOptions {
  // Site-local "now" of the system: rows later than now + future_tolerance are dropped as
  // future_row. Unset: no row is in the future.
  std::optional<LocalTime> now;
  std::chrono::seconds future_tolerance{5 * 60};
  // Column names the caller asked for; when not empty, any other column counts unknown_column.
  std::span<const std::string> expected;
  bool keep_rows = false;
  std::size_t max_columns = 200'000;
};

// `endpoint` only names the source in error messages.
util::Result<CsvTable> parse_csv(std::string_view body, const CsvOptions& options = {},
                                 std::string_view endpoint = "csv");

// The column's newest non-empty cell time as UTC, read in the system's zone with the DST rules
// of local_to_utc; nullopt for an all-empty column.
std::optional<Timestamp> newest_utc(const CsvColumn& column, const date::time_zone* zone);

// A row's time cell "2026/03/01 12:07:00.250" -> local time (fraction dropped).
std::optional<LocalTime> parse_csv_time(std::string_view text);

// header=key column "04C05B800ACE.panels.A1_Vin" -> datasource "04C05B800ACE.panels.A1" and
// param "Vin" (split at the last '_'); nullopt if there is no '_'.
struct KeyColumn {
  std::string_view datasource;
  std::string_view param;
};
std::optional<KeyColumn> split_key_column(std::string_view name);

}  // namespace tigo
