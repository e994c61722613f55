// The status page (/): the fleet at a glance (systems, panels, power, data lag, the refresh
// intervals the rate budget allows), failing datasets first with their last error, and one
// compact row per system linking its panel map; a search box (?q=, filtered live by a script)
// for large fleets. Never shows credentials.
#pragma once

#include <cstddef>
#include <string>

#include "pages/view.hpp"
#include "refresh/snapshot.hpp"

namespace pages {

struct StatusOptions {
  Thresholds thresholds;
  std::string telemetry_path = "/metrics";
  std::string version;
  std::string session;             // one line about the API session (login state)
  std::string query;               // ?q=: only systems matching every word (id, name, place)
  std::size_t failing_rows = 100;  // failing datasets listed at most; the rest are counted
};

std::string status_html(const refresh::Snapshot& snap, Timestamp now, const StatusOptions& o);

}  // namespace pages
