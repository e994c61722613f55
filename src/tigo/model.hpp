// Plain data as the Tigo API v3 describes it, in the API's units (Wh, W); no behaviour.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tigo {

using Timestamp = std::chrono::sys_seconds;

struct Login {
  std::int64_t user_id = 0;
  std::string token;  // secret: never logged
  std::optional<Timestamp> expires;
  std::string user_type;
};

struct System {
  std::int64_t system_id = 0;
  std::string name;
  std::string external_id;
  std::string street;
  std::string city;
  std::string state;
  std::string zip;
  std::string country;
  std::string timezone;  // IANA
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::optional<double> power_rating_w;
  std::optional<Timestamp> turn_on_date;
  std::optional<Timestamp> created;
};

// Yii2 REST paging envelope `_meta` of list endpoints.
struct PageMeta {
  std::int64_t total_count = 0;
  std::int64_t page_count = 1;
  std::int64_t current_page = 1;
  std::int64_t per_page = 0;
};

struct SystemsPage {
  std::vector<System> systems;
  std::optional<PageMeta> meta;
};

struct Summary {
  std::optional<double> lifetime_energy_wh;
  std::optional<double> ytd_energy_wh;
  std::optional<double> daily_energy_wh;
  std::optional<double> last_power_w;
  std::optional<Timestamp> updated_on;
};

// The document's error body: {"name","message","code","status"}.
struct ApiError {
  std::string name;
  std::string message;
  std::int64_t code = 0;
  std::int64_t status = 0;
};

}  // namespace tigo
