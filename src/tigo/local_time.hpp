// Site-local wall time (Tigo's CSV rows and data query windows carry no offset) <-> UTC, in the
// system's IANA zone, correct across DST.
#pragma once

#include <date/tz.h>

#include <chrono>
#include <string_view>

#include "tigo/model.hpp"
#include "util/result.hpp"

namespace tigo {

using LocalTime = date::local_seconds;

// The IANA zone of that name (tzdata of the system). Never throws; the error names the zone.
util::Result<const date::time_zone*> find_zone(std::string_view name);

// Local wall time -> UTC instant. Rules at DST transitions:
//  - ambiguous (the repeated hour when clocks fall back): the EARLIER instant, i.e. the first
//    occurrence, still on the daylight offset (date::choose::earliest);
//  - nonexistent (the skipped hour when clocks spring forward): read with the offset in force
//    BEFORE the gap, i.e. moved later by the gap's length: 02:30 in a 02:00->03:00 gap is the
//    instant the clocks show 03:30 (the convention of java.time and of POSIX mktime).
Timestamp local_to_utc(LocalTime local, const date::time_zone& zone);

// UTC instant -> local wall time of the zone.
LocalTime utc_to_local(Timestamp utc, const date::time_zone& zone);

// "2026-03-01T12:07:00" (what data/aggregate and data/combined take as start and end).
std::string format_local(LocalTime local);

}  // namespace tigo
