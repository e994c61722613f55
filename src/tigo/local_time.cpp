#include "tigo/local_time.hpp"

#include <exception>
#include <string>

namespace tigo {

util::Result<const date::time_zone*> find_zone(std::string_view name) {
  if (name.empty()) return util::make_error("empty time zone name");
  try {
    const auto* zone = date::locate_zone(name);
    // Its rules load lazily on first use: load them here, on the thread that looks the zone up
    // (the refresher's account job, before any job of the system uses it).
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception&) {
    return util::make_error("unknown time zone \"" + std::string(name) + "\"");
  }
}

Timestamp local_to_utc(LocalTime local, const date::time_zone* zone) {
  if (!zone) return Timestamp{local.time_since_epoch()};
  const date::local_info info = zone->get_info(local);
  // In all three cases `first` is the right period: the only one (unique), the earlier of the
  // two (ambiguous), or the one before the gap (nonexistent).
  return Timestamp{local.time_since_epoch() - info.first.offset};
}

Timestamp local_to_utc_after(LocalTime local, const date::time_zone* zone,
                             std::optional<Timestamp> previous) {
  const Timestamp first = local_to_utc(local, zone);
  if (!zone || !previous || first > *previous) return first;
  const date::local_info info = zone->get_info(local);
  if (info.result != date::local_info::ambiguous) return first;
  const Timestamp second{local.time_since_epoch() - info.second.offset};
  return second > *previous ? second : first;
}

LocalTime utc_to_local(Timestamp utc, const date::time_zone* zone) {
  if (!zone) return LocalTime{utc.time_since_epoch()};
  return LocalTime{utc.time_since_epoch() + zone->get_info(utc).offset};
}

LocalDay local_day(Timestamp utc, const date::time_zone* zone) {
  return date::floor<date::days>(utc_to_local(utc, zone));
}

std::string format_local(LocalTime local) { return date::format("%FT%T", local); }

}  // namespace tigo
