// The electrical and data hierarchy of a simulated system, and the faults planted in it: both
// derived from the seed, rebuilt on demand (a few microseconds for 100 panels), never stored.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/fleet.hpp"

namespace sim {

// objects/types ids (1, 2, 3, 4 and 44 as the real API uses them; MPPTs only in systems/layout).
enum class ObjectType : int { System = 1, Panel = 2, String = 3, Inverter = 4, Mppt = 5, Cca = 44 };

struct Gateway {
  std::int64_t source_id = 0;
  std::int64_t object_id = 0;
  std::string mac;  // 12 upper-case hex digits, the prefix of every panel datasource key
  std::string name;
  std::string sw_version;
  std::chrono::sys_seconds created_on{};
  int gateway_count = 1;
};

struct PanelNode {
  std::int64_t object_id = 0;
  std::int64_t panel_id = 0;
  std::string label;  // "A1": string letter + position
  int short_label = 0;
  std::string serial;         // in the fleet's serial format
  std::uint32_t address = 0;  // low 24 bits of its radio address 04:C0:5B:40:00:xx:xx:xx
  int string_index = 0;
  double ui_x = 0, ui_y = 0;
};

struct StringNode {
  std::int64_t object_id = 0;
  std::int64_t string_id = 0;
  std::string letter;  // "A"
  int mppt_index = -1;
  int inverter_index = -1;
  int first_panel = 0;
  int panel_count = 0;
};

struct MpptNode {
  std::int64_t mppt_id = 0;
  std::string label;
  int inverter_index = 0;
  int first_string = 0;
  int string_count = 0;
};

struct InverterNode {
  std::int64_t object_id = 0;
  std::int64_t inverter_id = 0;
  int inverter_type_id = 1;
  std::string label;
  std::string serial;
  int first_mppt = 0;
  int mppt_count = 0;
};

struct Topology {
  std::int64_t system_object_id = 0;
  bool has_inverters = true;  // false: panels under strings directly under the system
  Gateway gateway;
  std::vector<InverterNode> inverters;
  std::vector<MpptNode> mppts;
  std::vector<StringNode> strings;
  std::vector<PanelNode> panels;
  std::string panel_type;  // "TS4-A-O"
  int panel_type_id = 1;

  // The panel indices an object id stands for (the system and the gateway: all of them); empty
  // with ok=false when the id is not an object of this system.
  struct Selection {
    bool ok = false;
    ObjectType type = ObjectType::System;
    std::vector<int> panels;
  };
  Selection select(std::int64_t object_id) const;
  std::string datasource(int panel) const { return gateway.mac + ".panels." + panels[panel].label; }

  // The hierarchy labels of a panel as objects/system and systems/layout name them, which are the
  // labels the exporter puts on its panel series: inverter and MPPT empty where the system
  // records no inverter level.
  struct PanelLabels {
    std::string inverter, mppt, string, panel;
  };
  PanelLabels labels(int panel) const;
};

// "String A": a string's label in objects/system and systems/layout (short_label is the letter).
std::string string_label(const StringNode& st);

Topology build_topology(const Fleet& fleet, const SystemSpec& s);

// At most one fault per system, from its onset on (between mid 2025 and early 2026, so current
// dates show them). In any 10 consecutive systems each kind appears exactly once.
enum class FaultKind { None, ShadedPanel, DeadOptimizer, WeakString, GatewayStall, PvOff };

struct PlantedFault {
  FaultKind kind = FaultKind::None;
  std::chrono::sys_seconds onset{};
  int panel = -1;   // ShadedPanel, DeadOptimizer
  int string = -1;  // WeakString
  bool active(std::chrono::sys_seconds t) const { return kind != FaultKind::None && t >= onset; }
};

PlantedFault planted_fault(const Fleet& fleet, const SystemSpec& s, const Topology& topo);
const char* fault_name(FaultKind kind);

// A shaded panel loses this share of its light in the afternoon shadow (solar time 14:30-17:30).
inline constexpr double kShadeFactor = 0.3;
// A weak string's panels deliver this share of their current.
inline constexpr double kWeakStringFactor = 0.72;
bool in_afternoon_shadow(double longitude_deg, std::chrono::sys_seconds t);
// Local mean solar time in hours [0, 24): UTC hour + longitude / 15 (12 is solar noon), the
// same hour the recording rule tigo:system_solar_hour computes.
double mean_solar_hour(double longitude_deg, std::chrono::sys_seconds t);

}  // namespace sim
