// OpenMetrics 1.0 text lines with timestamps, as `promtool tsdb create-blocks-from openmetrics`
// reads them. Formatting only: which lines go where (families whole, each series' samples
// together and in time order, `# EOF` last) is the spool's job.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace backfill {

using Timestamp = std::chrono::sys_seconds;

struct Family {
  std::string_view name;  // the family table's name (metrics/family_table.hpp)
  std::string_view type;  // "gauge" (counters would need the _total sample suffix of OpenMetrics)
  std::string_view unit;  // the name's unit suffix ("watts"), or empty
  std::string_view help;  // one line
};

// `# TYPE`, `# UNIT` (when set) and `# HELP`, in the order OpenMetrics recommends.
void append_family_header(std::string& out, const Family& family);

// `name{labels} value timestamp` with the timestamp in Unix seconds. `labels` is a rendered,
// escaped label block without braces (metrics::LabelBlock), possibly empty.
void append_sample(std::string& out, std::string_view name, std::string_view labels, double value,
                   Timestamp at);

// The last line of every exposition.
inline constexpr std::string_view kEof = "# EOF\n";

}  // namespace backfill
