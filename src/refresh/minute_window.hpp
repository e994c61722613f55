// Which minutes a data/aggregate fetch asks for: since the last minute fetched (with an overlap,
// as Tigo fills minutes late), and at night the minutes before the last daylight.
#pragma once

#include <chrono>
#include <optional>

#include "refresh/snapshot.hpp"

namespace refresh {

struct Window {
  Timestamp start;
  Timestamp end;
};

// From `cursor` (the newest minute fetched) less `overlap`, or `lookback` ago at first, never
// more than `lookback`, until now.
Window minute_window(std::optional<Timestamp> cursor, Timestamp now,
                     std::chrono::milliseconds lookback,
                     std::chrono::minutes overlap = std::chrono::minutes{15});

// The last minute the sun was above the horizon at (lat, lon), searching back up to a day: the
// first fetch at night asks for the minutes before it, so the last readings of the day show.
std::optional<Timestamp> last_daylight(double latitude_deg, double longitude_deg, Timestamp now);

// The window of the first fetch at night: the `lookback` before the last daylight minute, plus
// a margin for the day's last, late minutes.
Window window_before(Timestamp last_daylight, std::chrono::milliseconds lookback);

}  // namespace refresh
