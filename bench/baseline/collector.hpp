// Baseline for render_bench: src/metrics/collector.hpp as of 6d1075e (before the bench's
// optimisations), in namespace metrics_v0, so before and after are timed side by side.
// Snapshot -> every fleet family of the metric contract (docs/METRICS.md) as exposition text, the
// ConstMetric way: series exist only while the snapshot has their data, nothing lingers.
#pragma once

#include <string>

#include "refresh/snapshot.hpp"

namespace metrics_v0 {

// Appends the families to `out` (cleared first); call once per snapshot, serve many times.
void render_fleet(const refresh::Snapshot& snap, std::string& out);

}  // namespace metrics_v0
