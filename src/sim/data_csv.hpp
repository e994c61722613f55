// data/aggregate and data/combined bodies (CSV), in the system's local wall time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/model.hpp"
#include "sim/quirks.hpp"
#include "sim/uploads.hpp"

namespace sim {

// "2018-01-01T00:00:00" is wall time at the site; with Z or an offset it is that instant.
// A date alone is local midnight.
std::optional<std::chrono::sys_seconds> parse_site_time(std::string_view text,
                                                        const date::time_zone* zone);
// "2026/03/01 12:07:00" (+ ".250" when millis >= 0): wall time at the site, no offset.
std::string local_stamp(const date::time_zone* zone, std::chrono::sys_seconds t, int millis = -1);

enum class AggregateLevel { Minute, Day };
enum class Param { Pin, Vin, Iin, Rssi, Temp };
std::optional<Param> parse_param(std::string_view s);
const char* param_name(Param p);

struct AggregateQuery {
  std::chrono::sys_seconds start{}, end{};  // inclusive
  AggregateLevel level = AggregateLevel::Minute;
  Param param = Param::Pin;
  bool header_key = false;
  bool has_object_ids = false;
  std::vector<std::int64_t> object_ids;  // validated against the topology by the caller
  bool sensors = true;
};

std::string aggregate_csv(const PowerModel& model, const SystemContext& c, const AggregateQuery& q,
                          const DataAvailability& a, std::chrono::sys_seconds now,
                          const Quirks& quirks);

enum class CombinedLevel { Minute, Hour, Day, Month, Year };
// Long and short names ("minute"/"mi", "hour"/"h", "day"/"d", "month"/"m", "year"/"y").
std::optional<CombinedLevel> parse_combined_level(std::string_view s);
// The largest range each level answers (soft limits: beyond, 400).
std::chrono::seconds combined_range_limit(CombinedLevel level);

struct CombinedQuery {
  std::chrono::sys_seconds start{}, end{};
  CombinedLevel level = CombinedLevel::Hour;
  std::vector<std::int64_t> object_ids;
};

std::string combined_csv(const PowerModel& model, const SystemContext& c, const CombinedQuery& q,
                         const DataAvailability& a);

// A scaled integer as Tigo prints numbers: "2078.8", "2060", "0.05".
void append_scaled(std::string& out, std::int64_t value, int decimals);

}  // namespace sim
