// The bodies of a Cloud Connect Advanced's local web API (/cgi-bin/summary_*, HTTP basic auth as
// user "Tigo") -> plain structs. What public clients (PyTigo's TigoCCAClient, tigosolar-local)
// and tigo_sim --cca-listen show of it:
//
//   summary_config   [{"id", "type", "label", "children"}...]: type 1 the system, 4 an inverter,
//                    3 a string whose children are panel labels ("A1"), or the ids of type 2 panel
//                    nodes carrying the label
//   summary_jsconfig {"sDate": "YYYY-MM-DD", ...}: the device's local date
//   summary_data     {"lastData": "YYYY-MM-DD HH:MM:SS.fff", "dataset": [{"order": [labels],
//                    "data": [{"t": "HH:MM", "d": [one value per label]}]}]}: one day's minutes in
//                    the device's local time, without an offset, in segments
//   summary_energy   [["YYYY-MM-DD", Wh], ...]: daily energy of the system
//
// Units: pin in W; vin in tenths of a volt (PyTigo divides by 10, the simulator writes tenths; a
// panel's 30-40 V is written 300-400) and read here as volts; rssi as written, 0..255.
//
// Strict and bounded: a body over kMaxCcaBodyBytes, nested deeper than these shapes, a missing or
// mistyped field, a value that is not finite or outside what a TS4 can report, more rows, labels
// or nodes than a CCA can hold, or a label written twice is refused with a short reason. A cell
// written as null or "-" is no reading. Unknown fields and node types are ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace local {

// A day of minutes of a large site (1,500 minutes of 2,000 panels at 4 bytes a cell) fits.
inline constexpr std::size_t kMaxCcaBodyBytes = std::size_t{16} * 1024 * 1024;
inline constexpr std::size_t kMaxCcaPanels = 2'000;
inline constexpr std::size_t kMaxCcaNodes = 4'096;  // summary_config's nodes
inline constexpr std::size_t kMaxCcaRows = 1'500;   // minutes of a day (25 h when clocks fall back)
inline constexpr std::size_t kMaxCcaEnergyRows = 400;
inline constexpr std::size_t kMaxCcaLabelBytes = 64;  // a panel's, string's, inverter's or id

struct CcaInverter {
  std::string id;
  std::string label;
  bool operator==(const CcaInverter&) const = default;
};

struct CcaString {
  std::string id;
  std::string label;
  std::optional<std::size_t> inverter;  // index into CcaLayout::inverters; none: on the system
  std::vector<std::string> panels;      // labels, in the string's order
  bool operator==(const CcaString&) const = default;
};

// Inverters in the system's order, then any the system does not list; strings in the order they
// are reached (through their inverters), then any that no node lists, in the body's order. Panel
// labels are unique: the data name panels by label.
struct CcaLayout {
  std::string system_id;
  std::string system_label;
  std::vector<CcaInverter> inverters;
  std::vector<CcaString> strings;
  bool operator==(const CcaLayout&) const = default;

  std::size_t panel_count() const;
};

enum class CcaSeries { power, voltage, rssi };

// The `temp` parameter of summary_data that answers the series: "pin", "vin", "rssi".
std::string_view cca_temp_name(CcaSeries series);

struct CcaPoint {
  double value = 0;                   // W, V or 0..255
  std::chrono::sys_seconds minute{};  // the minute's start, UTC
  bool operator==(const CcaPoint&) const = default;
};

struct CcaDataset {
  std::optional<std::chrono::sys_seconds> last_data;  // lastData, UTC (fraction dropped)
  std::map<std::string, CcaPoint> newest;             // per panel label, its newest minute
  std::size_t rows = 0;                               // minutes listed, all segments
  bool operator==(const CcaDataset&) const = default;
};

struct CcaEnergyDay {
  std::chrono::local_days day{};
  double wh = 0;
  bool operator==(const CcaEnergyDay&) const = default;
};

util::Result<CcaLayout> parse_cca_config(std::string_view body);

// sDate: the day the device's clock shows.
util::Result<std::chrono::local_days> parse_cca_jsconfig(std::string_view body);

// One summary_data body of `day` (the date asked for) in the device's zone `zone` (IANA). Rows are
// read in the body's order, each minute converted to UTC as util::local_to_utc_in_zone does with
// the row before as `previous`: a minute of the repeated hour when clocks fall back is its first
// occurrence unless that would not come after the row before (the device lists the hour twice),
// then its second; a minute of the skipped hour (which a device should not write) is read with
// the offset before the gap. A label's newest minute is its latest instant (the later row on a
// tie). An unknown zone is an error.
util::Result<CcaDataset> parse_cca_data(std::string_view body, CcaSeries series,
                                        std::chrono::local_days day, std::string_view zone);

// In the body's order; a date written twice is refused.
util::Result<std::vector<CcaEnergyDay>> parse_cca_energy(std::string_view body);

// "2026-06-21", as summary_data's `date` takes it.
std::string format_cca_date(std::chrono::local_days day);

}  // namespace local
