#include "refresh/minute_window.hpp"

#include <algorithm>

#include "sun/position.hpp"

namespace refresh {

Window minute_window(std::optional<Timestamp> cursor, Timestamp now,
                     std::chrono::milliseconds lookback, std::chrono::minutes overlap) {
  const auto earliest = now - std::chrono::duration_cast<std::chrono::seconds>(lookback);
  Timestamp start = earliest;
  if (cursor) start = std::max(earliest, *cursor - overlap);
  return Window{std::chrono::floor<std::chrono::minutes>(start), now};
}

std::optional<Timestamp> last_daylight(double latitude_deg, double longitude_deg, Timestamp now) {
  const auto step = std::chrono::minutes{10};
  for (auto t = std::chrono::floor<std::chrono::minutes>(now); t > now - std::chrono::hours{24};
       t -= step) {
    if (sun::sun_position(latitude_deg, longitude_deg, t).elevation_deg > 0) return t;
  }
  return std::nullopt;  // polar night
}

Window window_before(Timestamp last_daylight, std::chrono::milliseconds lookback) {
  const auto start = last_daylight - std::chrono::duration_cast<std::chrono::seconds>(lookback);
  return Window{std::chrono::floor<std::chrono::minutes>(start),
                last_daylight + std::chrono::minutes{30}};
}

}  // namespace refresh
