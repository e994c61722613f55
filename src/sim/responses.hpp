// The simulator's answer bodies, shaped as the Tigo API v3 document and the real API's recorded
// answers show them. Pure functions of their inputs: same fleet, same time, same bytes.
#pragma once

#include <date/date.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/alerts.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "sim/quirks.hpp"
#include "sim/uploads.hpp"

namespace sim {

struct Paging {
  std::int64_t page = 1;  // 1-based
  std::int64_t per_page = 50;
};

// Position of the first entry of `page` (1-based, of `per_page` >= 1 entries) in a list of
// `total`, at most `total`: any page number a client sends, without overflow.
std::int64_t page_start(std::int64_t page, std::int64_t per_page, std::int64_t total);

std::string error_json(int status, std::string_view name, std::string_view message);
std::string login_json(std::int64_t user_id, std::string_view token,
                       std::chrono::sys_seconds expires, std::string_view user_type,
                       std::string_view refresh_token);
std::string logout_json();
std::string user_json(std::int64_t user_id, std::string_view login, std::string_view user_type,
                      const Quirks& quirks = {});
// One page of the systems list (ids: the systems the account may see, in order), with the Yii2
// `_meta` envelope.
// `now` counts each system's recent alerts (recent_alerts_count, an extra field).
std::string systems_json(const Fleet& fleet, const Paging& paging, std::chrono::sys_seconds now,
                         const Quirks& quirks = {});
std::string systems_json(const Fleet& fleet, const std::vector<std::size_t>& indices,
                         const Paging& paging, std::chrono::sys_seconds now, const Quirks& quirks);
std::string system_object_json(const Fleet& fleet, const SystemSpec& s,
                               std::chrono::sys_seconds now, const Quirks& quirks = {});
// recent_alerts_count: the alerts alerts/system lists with `added` in the 7 days up to now (the
// document does not define the window).
inline constexpr std::chrono::hours kRecentAlertsWindow{7 * 24};
std::int64_t recent_alerts_count(const SystemContext& c, std::chrono::sys_seconds now);

struct Includes {
  bool inverters = false, mppts = false, strings = false, panels = false, meters = false,
       objects = false, images = false, sources = false;
};
Includes parse_includes(std::string_view text);
std::string system_view_json(const Fleet& fleet, const SystemContext& c, const Includes& inc,
                             const DataAvailability& a, std::chrono::sys_seconds now,
                             const Quirks& quirks = {});
std::string layout_json(const SystemContext& c);
std::string objects_json(const SystemContext& c);
std::string object_types_json();
std::string sources_json(const SystemContext& c, const DataAvailability& a,
                         std::chrono::sys_seconds now, const Quirks& quirks = {});
std::string summary_json(const PowerModel& model, const SystemSpec& s, std::chrono::sys_seconds t,
                         const Quirks& quirks = {});
std::string summary_json(const PowerModel& model, const SystemContext& c,
                         std::chrono::sys_seconds t, const Quirks& quirks = {});
std::string alerts_json(const SystemContext& c, const std::vector<Alert>& alerts,
                        std::string_view language, const Paging& paging, const Quirks& quirks = {});
std::string alert_types_json(std::string_view language);

// GET /sim/faults (the simulator's debug endpoint, not Tigo's API): the ground truth of every
// system's planted fault at `now`, for tests that check what the exporter and the alert rules
// make of it. Per system: the fault's kind, onset and whether it is active; the sun (mean solar
// hour, elevation, plane-of-array irradiance after clouds) that decides whether it can show;
// the gateway; the faulty panel's or string's labels as the exporter exports them
// (inverter, mppt, string, panel); and the Tigo alerts it raised (count and newest per code).
std::string faults_json(const PowerModel& model, std::chrono::sys_seconds now);

// Nameplate DC rating of a system, W.
double power_rating_w(const SystemSpec& s);
// A JSON time as Tigo prints it: ISO 8601 with an offset, "2026-03-31T19:28:00-07:00". The
// recorded answers print every time in Los Angeles time whatever the site (a Chicago system's
// created -07:00 in August, last_checkin -08:00 in February): the pacific_times quirk; without
// it, the site's own zone.
std::string api_time(std::chrono::sys_seconds t, const std::string& site_tz, const Quirks& quirks);
// A calendar day of the site as a JSON time: its midnight in the zone api_time prints (the
// samples: turn_on_date 2024-09-24 -> commissioned 2024-09-24T00:00:00-07:00, Chicago site).
std::string api_day(date::local_days day, const std::string& site_tz, const Quirks& quirks);

}  // namespace sim
