// The real API's known departures from its document (docs/SIMULATOR.md, "Quirks"): all on by
// default, each switchable, `--quirks=none` for the plain case or `--quirks=-future_rows,-millis`
// to drop some.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace sim {

struct Quirks {
  bool numbers_as_strings = true;  // latitude/longitude, some ids and ratings as "35.0"
  bool extra_fields = true;        // country_code, status, commissioned, panel_count...
  bool nulls = true;               // optional fields null (external_id, power_rating_ac...)
  bool paging_meta = true;         // Yii2 `_meta` beside paged lists
  bool header_only = true;         // some systems answer a short window with the header alone
  bool future_rows = true;         // some answers end with rows a few minutes in the future
  bool millis = true;              // some CSV rows carry milliseconds
  bool uneven_rows = true;         // newest panel cells arrive on different rows
  bool late_batches = true;        // some upload batches arrive 30 minutes late
  bool min_refused = true;         // data/combined answers level=min with 400
  bool get_only_login = true;      // POST users/login answers 404
  bool pacific_times = true;       // JSON times in Tigo's zone (Los Angeles), not the site's

  static Quirks none();
};

// "all" | "none" | comma list of names (enable) and -names (disable), applied in order on top of
// all (or of none when the list starts with "none").
util::Result<Quirks> parse_quirks(std::string_view text);
// Every quirk name, comma separated (for --help).
std::string quirk_names();

}  // namespace sim
