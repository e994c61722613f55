// Snapshot -> every fleet family of the family table (family_table.hpp, docs/METRICS.md) as
// exposition text, the ConstMetric way: series exist only while the snapshot has their data,
// nothing lingers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "metrics/exposition.hpp"
#include "refresh/snapshot.hpp"

namespace metrics {

// Appends the families to `out` (cleared first) in text 0.0.4.
void render_fleet(const refresh::Snapshot& snap, std::string& out);
// The same sample lines without metadata into `samples` (cleared first), each family's header
// and start in `families` (cleared first): see TextWriter.
void render_fleet(const refresh::Snapshot& snap, std::string& samples,
                  std::vector<FamilySpan>& families);

// One gzip member and the length of its text.
struct GzipPiece {
  std::string bytes;
  std::size_t plain_size = 0;
};

// The fleet's exposition of one snapshot in both formats, made once and served to every scrape
// until the next. Each family's samples are compressed once, as members of their own, and shared
// by both formats; only the small metadata members differ. Either format is then the
// concatenation, family by family, of its header and the samples (then the self-metrics, and
// kOpenMetricsEof for OpenMetrics): valid gzip, since gzip members concatenate.
struct CachedFleet {
  struct Family {
    GzipPiece text_header, openmetrics_header;
    std::vector<GzipPiece> samples;  // split at line ends into pieces of a few MB
  };
  std::vector<Family> families;
  std::size_t text_size = 0;  // the text 0.0.4 exposition's length
  std::size_t gzip_size = 0;  // all pieces of both formats
};
// Renders and compresses (gzip level 1) on `threads` threads, the caller's included.
std::shared_ptr<const CachedFleet> cache_fleet(const refresh::Snapshot& snap, int threads);

}  // namespace metrics
