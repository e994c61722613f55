// Snapshot -> the fleet's metric families as exposition text (the ConstMetric pattern: nothing
// lingers from older snapshots).
#pragma once

#include <string>

#include "refresh/snapshot.hpp"

namespace metrics {

// Appends every per-system family of the metric contract that the snapshot can fill.
void render_fleet(const refresh::Snapshot& snap, std::string& out);

}  // namespace metrics
