#include "util/duration.hpp"

#include <charconv>
#include <cstdint>

namespace util {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return std::chrono::milliseconds{0};
  std::int64_t total_ms = 0;
  while (!text.empty()) {
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || ptr == text.data() || n < 0) return std::nullopt;
    text.remove_prefix(static_cast<size_t>(ptr - text.data()));
    std::int64_t unit_ms = 0;
    if (text.starts_with("ms")) {
      unit_ms = 1;
      text.remove_prefix(2);
    } else if (!text.empty()) {
      switch (text.front()) {
        case 's':
          unit_ms = 1000;
          break;
        case 'm':
          unit_ms = 60'000;
          break;
        case 'h':
          unit_ms = 3'600'000;
          break;
        case 'd':
          unit_ms = 86'400'000;
          break;
        case 'w':
          unit_ms = 7 * 86'400'000LL;
          break;
        default:
          return std::nullopt;
      }
      text.remove_prefix(1);
    } else {
      return std::nullopt;  // a bare number other than 0 has no unit
    }
    if (n > INT64_MAX / unit_ms || total_ms > INT64_MAX - n * unit_ms) return std::nullopt;
    total_ms += n * unit_ms;
  }
  return std::chrono::milliseconds{total_ms};
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  const std::pair<std::int64_t, const char*> units[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (auto [size, name] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

}  // namespace util
