#include "sim/responses.hpp"

#include <date/date.h>

#include <algorithm>

#include "sim/json_writer.hpp"
#include "util/time.hpp"

namespace sim {
namespace {

// Tigo's ISO 8601 with milliseconds and the site's offset: "2026-03-31T19:28:00.000-07:00".
std::string local_iso_millis(std::chrono::sys_seconds t, const std::string& tz) {
  std::string s = util::format_iso8601_in_zone(t, tz);
  if (s.size() > 19) s.insert(19, ".000");
  return s;
}

}  // namespace

double power_rating_w(const SystemSpec& s) { return s.panel_rated_w * s.panels; }

std::string error_json(int status, std::string_view name, std::string_view message) {
  std::string out = "{";
  bool first = true;
  json::append_key(out, "name", first);
  json::append_string(out, name);
  json::append_key(out, "message", first);
  json::append_string(out, message);
  json::append_key(out, "code", first);
  out += '0';
  json::append_key(out, "status", first);
  json::append_int(out, status);
  out += '}';
  return out;
}

std::string login_json(std::int64_t user_id, std::string_view token,
                       std::chrono::sys_seconds expires, std::string_view user_type,
                       std::string_view refresh_token) {
  std::string out = "{\"user\":{";
  bool first = true;
  json::append_key(out, "user_id", first);
  json::append_int(out, user_id);
  json::append_key(out, "auth", first);
  json::append_string(out, token);
  json::append_key(out, "expires", first);
  json::append_string(out, util::format_iso8601_in_zone(expires, "America/Los_Angeles"));
  json::append_key(out, "user_type", first);
  json::append_string(out, user_type);
  json::append_key(out, "refresh_token", first);
  json::append_string(out, refresh_token);
  json::append_key(out, "user_agreement", first);
  out += "true}}";
  return out;
}

std::string logout_json() { return "{\"status\":200,\"message\":\"Logged out user\"}"; }

std::string system_object_json(const Fleet& fleet, const SystemSpec& s) {
  (void)fleet;
  std::string out = "{";
  bool first = true;
  auto str = [&](std::string_view k, std::string_view v) {
    json::append_key(out, k, first);
    json::append_string(out, v);
  };
  json::append_key(out, "system_id", first);
  json::append_int(out, s.system_id);
  str("external_id", s.external_id);
  str("name", s.name);
  str("street", s.street);
  str("city", s.city);
  str("state", s.state);
  str("zip", s.zip);
  str("country", s.country);
  str("country_code", s.country_code);
  // The real API sends coordinates as numeric strings.
  std::string coord;
  json::append_fixed(coord, s.latitude, 6);
  str("latitude", coord);
  coord.clear();
  json::append_fixed(coord, s.longitude, 6);
  str("longitude", coord);
  str("timezone", s.timezone);
  json::append_key(out, "power_rating", first);
  json::append_fixed(out, power_rating_w(s), 0);
  json::append_key(out, "power_rating_ac", first);
  out += "null";
  str("created", util::format_iso8601_in_zone(s.created, s.timezone));
  str("commissioned", util::format_iso8601_in_zone(
                          std::chrono::sys_seconds{s.turn_on.time_since_epoch()}, s.timezone));
  json::append_key(out, "decommissioned", first);
  out += "null";
  str("status", "Active");
  str("turn_on_date", date::format("%F", s.turn_on));
  json::append_key(out, "recent_alerts_count", first);
  out += '0';
  json::append_key(out, "has_monitored_modules", first);
  out += "true";
  json::append_key(out, "panel_count", first);
  json::append_int(out, s.panels);
  out += '}';
  return out;
}

std::string systems_json(const Fleet& fleet, const Paging& paging) {
  const auto total = static_cast<std::int64_t>(fleet.size());
  const std::int64_t per_page = std::max<std::int64_t>(1, paging.per_page);
  const std::int64_t page_count = std::max<std::int64_t>(1, (total + per_page - 1) / per_page);
  const std::int64_t page = std::clamp<std::int64_t>(paging.page, 1, page_count);
  std::string out = "{\"systems\":[";
  const std::int64_t begin = (page - 1) * per_page;
  const std::int64_t end = std::min(total, begin + per_page);
  for (std::int64_t i = begin; i < end; ++i) {
    if (i != begin) out += ',';
    out += system_object_json(fleet, fleet.system(static_cast<std::size_t>(i)));
  }
  out += "],\"_meta\":{";
  bool first = true;
  json::append_key(out, "totalCount", first);
  json::append_int(out, total);
  json::append_key(out, "pageCount", first);
  json::append_int(out, page_count);
  json::append_key(out, "currentPage", first);
  json::append_int(out, page);
  json::append_key(out, "perPage", first);
  json::append_int(out, per_page);
  out += "}}";
  return out;
}

std::string summary_json(const PowerModel& model, const SystemSpec& s, std::chrono::sys_seconds t) {
  // Tigo updates the summary once a minute: everything refers to the last whole minute.
  const auto minute = std::chrono::floor<std::chrono::minutes>(t);
  const std::chrono::sys_seconds at{minute};
  const auto energy = model.energy(s, at);
  std::string out = "{\"summary\":{";
  bool first = true;
  json::append_key(out, "lifetime_energy_dc", first);
  json::append_fixed(out, energy.lifetime_wh, 2);
  json::append_key(out, "ytd_energy_dc", first);
  json::append_fixed(out, energy.ytd_wh, 2);
  json::append_key(out, "daily_energy_dc", first);
  json::append_fixed(out, energy.today_wh, 2);
  json::append_key(out, "last_power_dc", first);
  json::append_fixed(out, model.system_power_w(s, at), 2);
  json::append_key(out, "updated_on", first);
  json::append_string(out, local_iso_millis(at, s.timezone));
  out += "}}";
  return out;
}

}  // namespace sim
