// When each (system, dataset) job runs next, and whether minute data is worth a call. Pure and
// clock-free: the refresher passes the time in, tests pass a fake one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "refresh/fleet_state.hpp"
#include "refresh/snapshot.hpp"

namespace refresh {

using SteadyTime = std::chrono::steady_clock::time_point;

// system_id kAccount with Dataset::system is the fleet-wide job: systems list, user, types.
inline constexpr std::int64_t kAccount = 0;

struct Job {
  std::int64_t system_id = 0;
  Dataset dataset = Dataset::system;
  SteadyTime due{};
};

class JobQueue {
 public:
  // (Re)schedules the job; a job is in the queue at most once.
  void schedule(std::int64_t system_id, Dataset d, SteadyTime due);
  // The earliest job due at or before `now`, removed from the queue.
  std::optional<Job> pop_due(SteadyTime now);
  std::optional<SteadyTime> next_due() const;
  void remove_system(std::int64_t system_id);
  std::size_t size() const { return by_key_.size(); }

 private:
  using Key = std::pair<std::int64_t, Dataset>;
  std::map<Key, SteadyTime> by_key_;
  std::set<std::pair<SteadyTime, Key>> by_time_;
};

// The sun this far below the horizon means nothing new will come from the panels tonight.
inline constexpr double kNightElevationDeg = -12.0;

enum class PanelDecision {
  fetch,             // new minutes, the first fetch, or the one fetch that settles the day
  skip_no_new_data,  // sources/system shows no minute newer than the last one fetched
  skip_night,        // the sun is well below the horizon and the day is settled
};

PanelDecision decide_panels(const SystemState& s, std::optional<double> sun_elevation_deg);

// The minute-data window to ask for: from the last minute fetched (less an overlap, as Tigo
// fills minutes late) or `lookback` ago at first, never more than `lookback`, until now.
struct Window {
  Timestamp start;
  Timestamp end;
};
Window panels_window(const SystemState& s, Timestamp now, std::chrono::milliseconds lookback,
                     std::chrono::minutes overlap = std::chrono::minutes{15});

// The last minute the sun was above the horizon at (lat, lon), searching back up to a day: the
// first fetch at night asks for the minutes before it, so the last readings of the day show.
std::optional<Timestamp> last_daylight(double latitude_deg, double longitude_deg, Timestamp now);

// The window of the first fetch at night: the `lookback` before the last daylight minute, plus
// a margin for the day's last, late minutes.
Window window_before(Timestamp last_daylight, std::chrono::milliseconds lookback);

}  // namespace refresh
