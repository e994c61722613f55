// Times and zones: Tigo's ISO 8601 timestamps, CSV row times, site-local <-> UTC in an IANA zone.
// Input: a zone name, a newline, a time text ("America/Denver\n2026-03-08T02:30:00-07:00").
#include "util/time.hpp"

#include <chrono>
#include <string>

#include "targets.hpp"
#include "tigo/csv.hpp"
#include "tigo/local_time.hpp"

namespace fuzz {
namespace {

using namespace std::chrono_literals;

// Instants near a zone's rules, as the exporter meets them (sites' present days), and far ones
// (a hostile timestamp).
void check_instant(std::chrono::sys_seconds t, const date::time_zone* zone) {
  const auto local = tigo::utc_to_local(t, zone);
  // UTC -> local -> UTC is the same instant, the repeated hour included when the row before was
  // earlier (local_to_utc_after).
  require(tigo::local_to_utc_after(local, zone, t - 1s) == t,
          "UTC -> local -> UTC moved " + util::format_iso8601_utc(t));
  const auto first = tigo::local_to_utc(local, zone);
  require(first <= t && t - first <= 2h, "local_to_utc is not the first occurrence");
  require(tigo::local_day(t, zone) == date::floor<date::days>(local), "local_day is not local's");
}

// Tigo's timestamps are digits where the fields are: "YYYY-MM-DD[THH:MM...]".
bool digits_at(std::string_view text, std::initializer_list<std::size_t> positions) {
  for (const auto at : positions)
    if (at >= text.size() || text[at] < '0' || text[at] > '9') return false;
  return true;
}

}  // namespace

void run_time(std::string_view input) {
  const auto newline = input.find('\n');
  const std::string_view zone_name =
      newline == std::string_view::npos ? "" : input.substr(0, newline);
  const std::string_view text =
      newline == std::string_view::npos ? input : input.substr(newline + 1);

  const auto zone = tigo::find_zone(zone_name);
  require(zone.ok() || zone.error().message.find("time zone") != std::string::npos,
          "zone error does not say what it is about");
  const date::time_zone* z = zone.ok() ? *zone : nullptr;

  if (const auto t = util::parse_iso8601(text)) {
    require(digits_at(text, {0, 1, 2, 3, 5, 6, 8, 9}), "a date with non-digits accepted");
    require(text.size() == 10 || digits_at(text, {11, 12, 14, 15}),
            "a time with non-digits accepted");
    const std::string utc = util::format_iso8601_utc(*t);
    require(util::parse_iso8601(utc) == t, "\"" + utc + "\" does not read back the same");
    if (z) {
      const std::string in_zone = util::format_iso8601_in_zone(*t, zone_name);
      require(util::parse_iso8601(in_zone) == t,
              "\"" + in_zone + "\" (in the zone) does not read back the same instant");
    }
    check_instant(*t, z);
  }
  if (const auto local = tigo::parse_csv_time(text)) {
    const auto utc = tigo::local_to_utc(*local, z);
    const auto back = tigo::utc_to_local(utc, z);
    // Back to the same wall time, or later by the DST gap it fell in.
    require(back >= *local && back - *local <= 2h, "local -> UTC -> local moved the time");
    require(tigo::format_local(*local).size() >= 19, "format_local too short");
    check_instant(utc, z);
  }
}

}  // namespace fuzz
