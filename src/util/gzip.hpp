// One-shot gzip (RFC 1952). Members can be concatenated: a body of gzip(a) + gzip(b) decodes to
// a + b, which lets /metrics send the fleet's text gzipped once per snapshot followed by the
// small self-metrics gzipped per scrape.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace util {

// level 1 (fastest) .. 9 (smallest).
std::string gzip_compress(std::string_view data, int level = 1);
// The same, split at line ends into `parts` gzip members compressed on as many threads: the
// fleet's text is tens of MB and a second core halves the time (bench/RESULTS.md).
std::string gzip_compress_parallel(std::string_view data, int parts, int level = 1);
// Inflates concatenated gzip members at once; empty on error.
std::string gzip_decompress(std::string_view data);

// Inflates concatenated gzip members piece by piece into the caller's buffer, so a plain answer
// can be streamed from a cached gzip body without holding its (tens of MB) text.
class GzipReader {
 public:
  explicit GzipReader(std::string_view gzip);
  ~GzipReader();
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  // Up to `size` bytes of text into `out`; 0 at the end or on error (then failed()).
  std::size_t read(char* out, std::size_t size);
  bool failed() const { return failed_; }

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  std::string_view rest_;
  bool failed_ = false;
};

}  // namespace util
