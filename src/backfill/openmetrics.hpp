// OpenMetrics 1.0 text lines with timestamps, as `promtool tsdb create-blocks-from openmetrics`
// reads them. Formatting only: which lines go where (families whole, each series' samples
// together and in time order, `# EOF` last) is the spool's job.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "metrics/exposition.hpp"

namespace backfill {

using Timestamp = std::chrono::sys_seconds;

// The family table's row as the metadata lines need it (metrics::header_of).
using Family = metrics::FamilyHeader;

// `# TYPE`, `# UNIT` (when set) and `# HELP` by /metrics' own rules for OpenMetrics
// (metrics::append_family_header).
void append_family_header(std::string& out, const Family& family);

// `name{labels} value timestamp` with the timestamp in Unix seconds. `labels` is a rendered,
// escaped label block without braces (metrics::LabelBlock), possibly empty.
void append_sample(std::string& out, std::string_view name, std::string_view labels, double value,
                   Timestamp at);

// The last line of every exposition.
inline constexpr std::string_view kEof = metrics::kOpenMetricsEof;

}  // namespace backfill
