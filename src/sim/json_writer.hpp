// Minimal JSON text building for the simulator's answers: deterministic output, no allocation
// beyond the target string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sim::json {

void append_string(std::string& out, std::string_view s);
// Fixed decimals, as Tigo writes energies ("40918712.12").
void append_fixed(std::string& out, double v, int decimals);
void append_int(std::string& out, std::int64_t v);

// Appends `"key":` (with a leading comma unless `first`).
void append_key(std::string& out, std::string_view key, bool& first);

}  // namespace sim::json
