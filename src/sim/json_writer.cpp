#include "sim/json_writer.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "util/json_string.hpp"

namespace sim::json {

void append_string(std::string& out, std::string_view s) { util::append_json_string(out, s); }

void append_fixed(std::string& out, double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  out.append(buf, ec == std::errc{} ? static_cast<size_t>(ptr - buf) : 0);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(ptr - buf));
}

void append_key(std::string& out, std::string_view key, bool& first) {
  if (!first) out += ',';
  first = false;
  append_string(out, key);
  out += ':';
}

}  // namespace sim::json
