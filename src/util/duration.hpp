// Durations as Prometheus writes them: "30s", "1h30m", "500ms", "2d".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace util {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace util
