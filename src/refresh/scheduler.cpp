#include "refresh/scheduler.hpp"

#include <algorithm>

#include "sun/position.hpp"

namespace refresh {

void JobQueue::schedule(std::int64_t system_id, Dataset d, SteadyTime due) {
  const Key key{system_id, d};
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    by_time_.erase({it->second, key});
    it->second = due;
  } else {
    by_key_.emplace(key, due);
  }
  by_time_.insert({due, key});
}

std::optional<Job> JobQueue::pop_due(SteadyTime now) {
  if (by_time_.empty() || by_time_.begin()->first > now) return std::nullopt;
  const auto [due, key] = *by_time_.begin();
  by_time_.erase(by_time_.begin());
  by_key_.erase(key);
  return Job{key.first, key.second, due};
}

std::optional<SteadyTime> JobQueue::next_due() const {
  if (by_time_.empty()) return std::nullopt;
  return by_time_.begin()->first;
}

void JobQueue::remove_system(std::int64_t system_id) {
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    if (it->first.first == system_id) {
      by_time_.erase({it->second, it->first});
      it = by_key_.erase(it);
    } else {
      ++it;
    }
  }
}

PanelDecision decide_panels(const SystemState& s, std::optional<double> sun_elevation_deg) {
  if (!s.panels_fetched_once) return PanelDecision::fetch;
  const auto source_minute = newest_source_minute(s);
  const bool new_minutes = !source_minute || !s.panels_cursor || *source_minute > *s.panels_cursor;
  if (sun_elevation_deg && *sun_elevation_deg < kNightElevationDeg) {
    // Once after sunset, to get the day's last minutes; then nothing until morning.
    return s.panels_settled_tonight || !new_minutes ? PanelDecision::skip_night
                                                    : PanelDecision::fetch;
  }
  return new_minutes ? PanelDecision::fetch : PanelDecision::skip_no_new_data;
}

Window panels_window(const SystemState& s, Timestamp now, std::chrono::milliseconds lookback,
                     std::chrono::minutes overlap) {
  const auto earliest = now - std::chrono::duration_cast<std::chrono::seconds>(lookback);
  Timestamp start = earliest;
  if (s.panels_cursor) start = std::max(earliest, *s.panels_cursor - overlap);
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
