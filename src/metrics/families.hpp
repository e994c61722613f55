// What /metrics and the backfill must agree on to write the same series, beside the family table
// (family_table.hpp): the label sets of the per-system, per-panel and per-object families,
// rendered and escaped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "refresh/snapshot.hpp"

namespace metrics {

// `system_id="1001"`
std::string system_labels(std::int64_t system_id);
// system labels + object_id, inverter, mppt, string, panel
std::string panel_labels(std::string_view system_labels, const refresh::Panel& panel);
// system labels + object_id, object_type, label (tigo_object_power_watts and friends)
std::string object_labels(std::string_view system_labels, std::int64_t object_id,
                          std::string_view object_type, std::string_view label);

}  // namespace metrics
