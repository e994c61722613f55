// One-shot gzip (RFC 1952). Members can be concatenated: a body of gzip(a) + gzip(b) decodes to
// a + b, which lets /metrics send the fleet's text gzipped once per snapshot followed by the
// small self-metrics gzipped per scrape.
#pragma once

#include <string>
#include <string_view>

namespace util {

// level 1 (fastest) .. 9 (smallest).
std::string gzip_compress(std::string_view data, int level = 1);
// The same, split at line ends into `parts` gzip members compressed on as many threads: the
// fleet's text is tens of MB and a second core halves the time (bench/RESULTS.md).
std::string gzip_compress_parallel(std::string_view data, int parts, int level = 1);
// For tests: inflates concatenated gzip members; empty on error.
std::string gzip_decompress(std::string_view data);

}  // namespace util
