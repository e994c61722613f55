// Electrical model of one PV module behind a Tigo optimizer at its maximum power point.
#pragma once

namespace sim::pv {

struct PanelSpec {
  double rated_w;                  // STC rating in W, 300..450
  double vmp_v;                    // STC maximum-power voltage in V, 30..40
  double efficiency_factor = 1.0;  // manufacturing spread / shading / weak string multiplier
                                   // on current (0..1.05); negative is treated as 0
};

// Module input as an optimizer reports it: V, A, W. pin_w == vin_v * iin_a exactly.
struct PanelReading {
  double vin_v;
  double iin_a;
  double pin_w;
};

// Below this plane-of-array irradiance (W/m2) the optimizer stays asleep and reports zeros.
inline constexpr double kWakeIrradianceWM2 = 1.0;

// Voltage temperature coefficient, fraction per Celsius of cell temperature above 25 C.
inline constexpr double kVoltageTempCoeff = -0.003;

// Maximum-power operating point at a plane-of-array irradiance (W/m2) and cell temperature (C):
// current proportional to irradiance (times efficiency_factor, +0.05 %/C), voltage falling
// with temperature (-0.3 %/C) and logarithmically at low irradiance. At 1000 W/m2 and 25 C
// pin_w == rated_w * efficiency_factor. Irradiance below kWakeIrradianceWM2 (including 0 and
// negative) gives exactly {0, 0, 0}. All fields >= 0.
PanelReading operate(const PanelSpec& spec, double poa_w_m2, double cell_temp_c) noexcept;

}  // namespace sim::pv
