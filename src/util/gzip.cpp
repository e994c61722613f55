#include "util/gzip.hpp"

#include <zlib.h>

#include <limits>

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

}  // namespace util
