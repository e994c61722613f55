// The per-panel readings the exporter asks data/aggregate for, one param per call, and the metric
// family each becomes: the one table the client, the refresher, /metrics, the backfill and
// docs/METRICS.md read. Adding a param or changing a help text or unit is one line here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace tigo {

// In table order: a value indexes kPanelParams and arrays of readings.
enum class PanelParam : std::uint8_t { power, voltage, current, rssi, temperature };

struct PanelParamSpec {
  PanelParam param;
  std::string_view api_name;  // data/aggregate param=
  std::string_view family;    // the metric family, live and backfilled
  std::string_view unit;      // the base unit the family name ends in; empty for a raw number
  std::string_view help;      // HELP line: one line, no backslash
  bool optional;              // answered only by some systems
};

// clang-format off
inline constexpr PanelParamSpec kPanelParams[] = {
    {PanelParam::power, "Pin", "tigo_panel_power_watts", "watts",
     "Panel input power, the optimizer's reading of a minute (data/aggregate param=Pin).", false},
    {PanelParam::voltage, "Vin", "tigo_panel_input_voltage_volts", "volts",
     "Panel input voltage, the optimizer's reading of a minute (data/aggregate param=Vin).", false},
    {PanelParam::current, "Iin", "tigo_panel_input_current_amperes", "amperes",
     "Panel input current, the optimizer's reading of a minute (data/aggregate param=Iin).", false},
    {PanelParam::rssi, "RSSI", "tigo_panel_rssi", "",
     "Radio signal strength of the panel's optimizer, raw 0-255 as Tigo reports it, not dBm (data/aggregate param=RSSI).", false},
    {PanelParam::temperature, "Temp", "tigo_panel_temperature_celsius", "celsius",
     "Optimizer temperature, where the system answers it (data/aggregate param=Temp).", true},
};
// clang-format on

inline constexpr std::size_t kPanelParamCount = std::size(kPanelParams);

constexpr std::size_t index_of(PanelParam p) { return static_cast<std::size_t>(p); }
constexpr const PanelParamSpec& spec(PanelParam p) { return kPanelParams[index_of(p)]; }

// The param of a data/aggregate param= spelling, if it is one of the table's.
constexpr std::optional<PanelParam> panel_param_from_api(std::string_view api_name) {
  for (const auto& s : kPanelParams)
    if (s.api_name == api_name) return s.param;
  return std::nullopt;
}

namespace detail {
consteval bool panel_table_consistent() {
  for (std::size_t i = 0; i < kPanelParamCount; ++i) {
    const auto& s = kPanelParams[i];
    if (index_of(s.param) != i) return false;  // rows in enum order
    if (!s.unit.empty() && !s.family.ends_with(s.unit)) return false;
    if (s.help.find('\\') != std::string_view::npos || s.help.find('\n') != std::string_view::npos)
      return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::panel_table_consistent(),
              "kPanelParams: rows in enum order, family names ending in their unit, plain HELP");

}  // namespace tigo
