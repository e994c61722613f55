#include "sim/pv_model.hpp"

#include <algorithm>
#include <cmath>

namespace sim::pv {
namespace {

constexpr double kStcIrradiance = 1000.0;     // W/m2
constexpr double kStcCellTemp = 25.0;         // C
constexpr double kCurrentTempCoeff = 0.0005;  // per C; current rises slightly when hot
// Vmp drops ~11 % from 1000 to 100 W/m2, as for c-Si modules (diode voltage ~ log of current).
constexpr double kVoltageLogCoeff = 0.05;

}  // namespace

PanelReading operate(const PanelSpec& spec, double poa_w_m2, double cell_temp_c) noexcept {
  // The negated form also sends NaN to the asleep branch.
  if (!(poa_w_m2 >= kWakeIrradianceWM2) || !(spec.vmp_v > 0.0) || !(spec.rated_w > 0.0)) {
    return PanelReading{0.0, 0.0, 0.0};
  }
  const double g = poa_w_m2 / kStcIrradiance;
  const double dt = cell_temp_c - kStcCellTemp;
  const double imp = spec.rated_w / spec.vmp_v;
  const double current = std::max(
      imp * g * std::max(spec.efficiency_factor, 0.0) * (1.0 + kCurrentTempCoeff * dt), 0.0);
  // Floor the log factor: the optimizer would not track below half of Vmp anyway.
  const double voltage = std::max(spec.vmp_v * (1.0 + kVoltageTempCoeff * dt) *
                                      std::max(1.0 + kVoltageLogCoeff * std::log(g), 0.5),
                                  0.0);
  return PanelReading{voltage, current, voltage * current};
}

}  // namespace sim::pv
