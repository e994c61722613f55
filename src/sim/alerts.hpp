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

// Every alert of the system raised up to `now`, oldest first: one when the fault began and, for
// a shaded panel, one each afternoon it was shaded since.
std::vector<Alert> system_alerts(const SystemContext& c, std::chrono::sys_seconds now);

}  // namespace sim
