// Site-local wall time <-> UTC in the system's IANA zone, correct across DST: the one conversion
// of the exporter (Tigo's CSV rows and data query windows carry no offset). Every function takes
// the zone as a pointer; null (a zone unknown to tzdata) reads and writes local times as UTC.
#pragma once

#include <date/tz.h>

#include <chrono>
#include <optional>
#include <string_view>

#include "tigo/model.hpp"
#include "util/result.hpp"

namespace tigo {

using LocalTime = date::local_seconds;
using LocalDay = date::local_days;

// The IANA zone of that name (tzdata of the system). Never throws; the error names the zone.
util::Result<const date::time_zone*> find_zone(std::string_view name);

// Local wall time -> UTC instant. Rules at DST transitions:
//  - ambiguous (the repeated hour when clocks fall back): the EARLIER instant, i.e. the first
//    occurrence, still on the daylight offset (date::choose::earliest);
//  - nonexistent (the skipped hour when clocks spring forward): read with the offset in force
//    BEFORE the gap, i.e. moved later by the gap's length: 02:30 in a 02:00->03:00 gap is the
//    instant the clocks show 03:30 (the convention of java.time and of POSIX mktime).
Timestamp local_to_utc(LocalTime local, const date::time_zone* zone);

// local_to_utc for the rows of one answer in ascending order, `previous` being the UTC instant of
// the row before: the repeated hour when clocks fall back is listed twice by an answer that has a
// row every minute, so a row that would go back to or before `previous` is read as the second
// occurrence (the later instant) instead.
Timestamp local_to_utc_after(LocalTime local, const date::time_zone* zone,
                             std::optional<Timestamp> previous);

// UTC instant -> local wall time of the zone.
LocalTime utc_to_local(Timestamp utc, const date::time_zone* zone);

// The site-local calendar day the instant falls on.
LocalDay local_day(Timestamp utc, const date::time_zone* zone);

// "2026-03-01T12:07:00" (what data/aggregate and data/combined take as start and end).
std::string format_local(LocalTime local);

}  // namespace tigo
