// Snapshot -> every fleet family of the family table (family_table.hpp, docs/METRICS.md) as
// exposition text, the ConstMetric way: series exist only while the snapshot has their data,
// nothing lingers.
#pragma once

#include <string>

#include "refresh/snapshot.hpp"

namespace metrics {

// Appends the families to `out` (cleared first); call once per snapshot, serve many times.
void render_fleet(const refresh::Snapshot& snap, std::string& out);

}  // namespace metrics
