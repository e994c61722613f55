#include "util/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

namespace util {

std::string gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  // 15 window bits + 16: a gzip header instead of zlib's.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  // Grown in chunks: a deflateBound-sized buffer would zero-fill and keep ~the input's size.
  std::string out;
  out.reserve(data.size() / 8 + 4096);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.capacity() - out.size() < 65536) out.reserve(out.capacity() * 2);
    const std::size_t used = out.size();
    out.resize(out.capacity());
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(out.size() - used);
    rc = deflate(&zs, Z_FINISH);
    out.resize(out.size() - zs.avail_out);
  }
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  out.shrink_to_fit();
  return out;
}

std::string gzip_compress_parallel(std::string_view data, int parts, int level) {
  constexpr std::size_t kMinPart = 1 << 20;  // below this a thread costs more than it saves
  if (parts <= 1 || data.size() < 2 * kMinPart) return gzip_compress(data, level);
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  for (int i = 1; i < parts; ++i) {
    std::size_t cut = data.size() * static_cast<std::size_t>(i) / static_cast<std::size_t>(parts);
    cut = data.find('\n', std::max(cut, start));
    if (cut == std::string_view::npos) break;
    pieces.push_back(data.substr(start, cut + 1 - start));
    start = cut + 1;
  }
  pieces.push_back(data.substr(start));
  std::vector<std::string> out(pieces.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < pieces.size(); ++i)
    threads.emplace_back([&, i] { out[i] = gzip_compress(pieces[i], level); });
  out[0] = gzip_compress(pieces[0], level);
  for (auto& t : threads) t.join();
  std::string joined;
  std::size_t total = 0;
  for (const auto& o : out) {
    if (o.empty() && !data.empty()) return {};
    total += o.size();
  }
  joined.reserve(total);
  for (const auto& o : out) joined += o;
  return joined;
}

std::string gzip_decompress(std::string_view data) {
  std::string out;
  while (!data.empty()) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return {};
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    char buf[65536];
    while (rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      out.append(buf, sizeof buf - zs.avail_out);
    }
    const auto used = zs.total_in;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) return {};
    data.remove_prefix(used);
  }
  return out;
}

struct GzipReader::Stream {
  z_stream zs{};
  bool open = false;
  ~Stream() {
    if (open) inflateEnd(&zs);
  }
};

GzipReader::GzipReader(std::string_view gzip) : stream_(std::make_unique<Stream>()), rest_(gzip) {}

GzipReader::~GzipReader() = default;

std::size_t GzipReader::read(char* out, std::size_t size) {
  auto& zs = stream_->zs;
  std::size_t produced = 0;
  while (produced < size && !failed_) {
    if (!stream_->open) {
      if (rest_.empty()) break;  // every member read
      zs = z_stream{};
      if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        failed_ = true;
        break;
      }
      stream_->open = true;
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(rest_.data()));
      zs.avail_in = static_cast<uInt>(std::min<std::size_t>(rest_.size(), UINT32_MAX));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out + produced);
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(size - produced, UINT32_MAX));
    const auto in_before = zs.avail_in;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = static_cast<std::size_t>(reinterpret_cast<char*>(zs.next_out) - out);
    rest_.remove_prefix(in_before - zs.avail_in);
    if (rc == Z_STREAM_END) {
      inflateEnd(&zs);
      stream_->open = false;  // the next member, if any, starts afresh
    } else if (rc != Z_OK) {
      failed_ = true;  // corrupt data, or a member cut short (Z_BUF_ERROR with no input left)
    }
  }
  return produced;
}

}  // namespace util
