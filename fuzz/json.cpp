// Every JSON parser of the Tigo client on the same input (the answers share one shape, so a seed
// of one endpoint exercises the others' envelopes too).
#include <cmath>
#include <optional>
#include <string>

#include "targets.hpp"
#include "tigo/json_parse.hpp"

namespace fuzz {
namespace {

// An answer the parser refused says which endpoint it was from.
template <class T>
void check_error(const util::Result<T>& r, std::string_view endpoint) {
  if (r.ok()) return;
  require(r.error().message.starts_with(endpoint),
          std::string(endpoint) + ": error does not name the endpoint: " + r.error().message);
}

void check_number(const std::optional<double>& v, std::string_view what) {
  require(!v || std::isfinite(*v), std::string(what) + " is not finite");
}

}  // namespace

void run_json(std::string_view input) {
  check_error(tigo::parse_login(input), "users/login");
  check_error(tigo::parse_user(input), "users/get");
  if (const auto page = tigo::parse_systems(input); page.ok()) {
    for (const auto& s : page->systems) require(s.system_id > 0, "systems: system_id <= 0 kept");
  } else {
    check_error(page, "systems");
  }
  if (const auto view = tigo::parse_system_view(input); view.ok()) {
    require(view->system_id > 0, "systems/view: system_id <= 0 kept");
  } else {
    check_error(view, "systems/view");
  }
  check_error(tigo::parse_layout(input), "systems/layout");
  check_error(tigo::parse_objects(input), "objects/system");
  check_error(tigo::parse_object_types(input), "objects/types");
  check_error(tigo::parse_sources(input), "sources/system");
  check_error(tigo::parse_alerts(input), "alerts/system");
  check_error(tigo::parse_alert_types(input), "alerts/types");
  if (const auto summary = tigo::parse_summary(input); summary.ok()) {
    check_number(summary->lifetime_energy_wh, "data/summary lifetime energy");
    check_number(summary->ytd_energy_wh, "data/summary ytd energy");
    check_number(summary->daily_energy_wh, "data/summary daily energy");
    check_number(summary->last_power_w, "data/summary last power");
  } else {
    check_error(summary, "data/summary");
  }
  (void)tigo::parse_error(input);
}

}  // namespace fuzz
