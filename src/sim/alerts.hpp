// Alert types (alerts/types) and the alerts a system's planted fault raised (alerts/system).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/model.hpp"

namespace sim {

struct AlertType {
  int alert_type_id;
  int unique_id;
  const char* title;  // English
  const char* description;
};

const std::vector<AlertType>& alert_types();
// The title in a language (DE, EL, EN, ES, FR, IT, JP, KO; case-insensitive); English when
// there is no translation.
std::string alert_title(const AlertType& type, std::string_view language);

struct Alert {
  std::int64_t alert_id = 0;
  std::chrono::sys_seconds generated{};
  std::chrono::sys_seconds added{};
  const AlertType* type = nullptr;
  std::string message;
};

// Every alert of the system added in [since, now], oldest first; ids are stable whatever the
// window. When a fault's alert is raised (`generated`; `added` 45-105 s later), by kind:
// - shaded panel (300): each afternoon the shadow fell on a lit panel (mean plane irradiance
//   >= 200 W/m2 over 15:00-17:00 solar time), at 17:30 solar time, the shadow's end, or at
//   dusk (plane irradiance under 20 W/m2) when that comes first;
// - weak string (301): once, at 16:00 solar time of the first day with sun over 10:00-14:00
//   solar on which the string was weak from 10:00 on;
// - dead optimizer (210): once, after its first hour of light (>= 20 W/m2) since the onset;
// - PV-Off (420, then 106 five minutes later): once the optimizers have light, at the onset by
//   day, at dawn when it was engaged at night;
// - gateway stall (102): an hour after its last check-in, at any hour.
std::vector<Alert> system_alerts(const SystemContext& c, std::chrono::sys_seconds now,
                                 std::chrono::sys_seconds since = std::chrono::sys_seconds{
                                     std::chrono::seconds{0}});

}  // namespace sim
