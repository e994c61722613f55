// JSON answers of the Tigo API -> model structs. Lenient where the real API is (unknown fields,
// nulls, numbers as strings); precise errors where the shape is wrong.
#pragma once

#include <string_view>

#include "tigo/model.hpp"
#include "util/result.hpp"

namespace tigo {

util::Result<Login> parse_login(std::string_view body);
util::Result<SystemsPage> parse_systems(std::string_view body);
util::Result<Summary> parse_summary(std::string_view body);
util::Result<ApiError> parse_error(std::string_view body);

}  // namespace tigo
