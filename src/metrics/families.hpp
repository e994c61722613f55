// What /metrics and the backfill must agree on to write the same series: the panel value families
// of docs/METRICS.md (name, HELP, data/aggregate param they come from) and the label sets of the
// per-system, per-panel and per-object families, rendered and escaped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "refresh/snapshot.hpp"

namespace metrics {

struct PanelFamily {
  std::string_view name;
  std::string_view help;
  std::string_view param;  // data/aggregate param=
  std::optional<refresh::Reading> refresh::Panel::*reading;
};

inline constexpr PanelFamily kPanelFamilies[] = {
    {"tigo_panel_power_watts",
     "Panel input power, newest non-empty minute (data/aggregate level=min param=Pin).", "Pin",
     &refresh::Panel::power_w},
    {"tigo_panel_input_voltage_volts", "Panel input voltage, newest non-empty minute (param=Vin).",
     "Vin", &refresh::Panel::voltage_v},
    {"tigo_panel_input_current_amperes",
     "Panel input current, newest non-empty minute (param=Iin).", "Iin",
     &refresh::Panel::current_a},
    {"tigo_panel_rssi",
     "Radio signal strength of the panel's optimizer, raw 0-255 as Tigo reports it (param=RSSI).",
     "RSSI", &refresh::Panel::rssi},
    {"tigo_panel_temperature_celsius",
     "Optimizer temperature where the system reports it (param=Temp).", "Temp",
     &refresh::Panel::temperature_c},
};

// The family of a data/aggregate param, or null.
const PanelFamily* panel_family(std::string_view param);

// `system_id="1001"`
std::string system_labels(std::int64_t system_id);
// system labels + object_id, inverter, mppt, string, panel
std::string panel_labels(std::string_view system_labels, const refresh::Panel& panel);
// system labels + object_id, object_type, label (tigo_object_power_watts and friends)
std::string object_labels(std::string_view system_labels, std::int64_t object_id,
                          std::string_view object_type, std::string_view label);

}  // namespace metrics
