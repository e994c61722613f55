// JSON answers of the Tigo API -> model structs. Lenient where the real API is (unknown fields
// ignored, null for any optional field, numbers sent as strings and ids as numbers where a
// string belongs); precise errors naming the endpoint where the shape is wrong (not JSON, the
// envelope missing, an entry without its id). No exceptions; documents larger than
// kMaxJsonBytes are refused.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "tigo/model.hpp"
#include "util/result.hpp"

namespace tigo {

inline constexpr std::size_t kMaxJsonBytes = 64u << 20;

util::Result<Login> parse_login(std::string_view body);
util::Result<User> parse_user(std::string_view body);
util::Result<SystemsPage> parse_systems(std::string_view body);
util::Result<System> parse_system_view(std::string_view body);
util::Result<Layout> parse_layout(std::string_view body);
util::Result<std::vector<Object>> parse_objects(std::string_view body);
util::Result<std::vector<ObjectType>> parse_object_types(std::string_view body);
util::Result<std::vector<Source>> parse_sources(std::string_view body);
util::Result<AlertsPage> parse_alerts(std::string_view body);
util::Result<std::vector<AlertType>> parse_alert_types(std::string_view body);
util::Result<Summary> parse_summary(std::string_view body);
util::Result<ApiError> parse_error(std::string_view body);

}  // namespace tigo
