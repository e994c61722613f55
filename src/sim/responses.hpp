// The simulator's answer bodies, shaped as the Tigo API v3 document and the real API's recorded
// answers show them. Pure functions of their inputs: same fleet, same time, same bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/fleet.hpp"
#include "sim/model.hpp"

namespace sim {

struct Paging {
  std::int64_t page = 1;  // 1-based
  std::int64_t per_page = 50;
};

std::string error_json(int status, std::string_view name, std::string_view message);
std::string login_json(std::int64_t user_id, std::string_view token,
                       std::chrono::sys_seconds expires, std::string_view user_type,
                       std::string_view refresh_token);
std::string logout_json();
// One page of the systems list, with the Yii2 `_meta` envelope.
std::string systems_json(const Fleet& fleet, const Paging& paging);
std::string system_object_json(const Fleet& fleet, const SystemSpec& s);
std::string summary_json(const PowerModel& model, const SystemSpec& s, std::chrono::sys_seconds t);

// Nameplate DC rating of a system, W.
double power_rating_w(const SystemSpec& s);

}  // namespace sim
