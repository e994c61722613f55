// One line of `taptap observe` (willglynn/taptap and its fork litinoveweedle/taptap) -> an event.
// Both shapes of a power report are read: older builds write the gateway and node as objects
// ({"id": 4609}, the object may also carry "address" and, for nodes, "barcode") and no
// event_type; newer ones add "event_type": "power_report" and may write plain integers. The fork
// also writes an "infrastructure_report": gateways by id, then nodes by gateway id and node id,
// each with its hardware address and barcode.
//
// Strict and bounded: a line over kMaxLineBytes, nested deeper than a report can be, with a
// missing or mistyped field, an id outside what the bus can carry, a value that is not finite or
// outside what a TS4 can report, or a time without its offset is refused with a short reason.
// Unknown fields are ignored; an unknown event_type is an UnknownEvent, not an error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "local/barcode.hpp"
#include "util/result.hpp"

namespace local {

// An infrastructure report of a large site (about 65 bytes a node) fits with room to spare.
inline constexpr std::size_t kMaxLineBytes = std::size_t{256} * 1024;

// What the bus can carry (taptap's types): a 15-bit gateway id, a non-zero 16-bit node id.
inline constexpr std::int64_t kMaxGatewayId = 0x7FFF;
inline constexpr std::int64_t kMinNodeId = 1;
inline constexpr std::int64_t kMaxNodeId = 0xFFFF;

using Microseconds = std::chrono::sys_time<std::chrono::microseconds>;

struct PowerReport {
  std::int64_t gateway = 0;
  std::int64_t node = 0;
  Microseconds time{};                  // the measurement's time, UTC (the line's offset applied)
  double voltage_in = 0;                // V
  double voltage_out = 0;               // V
  double current = 0;                   // A (input side)
  double duty_cycle = 0;                // 0..1
  double temperature = 0;               // degrees C
  int rssi = 0;                         // 0..255
  std::optional<Address> node_address;  // when the node object carried an address or barcode
  std::optional<Address> gateway_address;  // when the gateway object carried one

  double power_in() const { return voltage_in * current; }
  bool operator==(const PowerReport&) const = default;
};

struct GatewayInfo {
  std::optional<Address> address;  // nullopt when absent or not in the 8-byte form
  std::string address_text;        // as written (bounded), for a form we do not read
  std::string version;             // bounded
  bool operator==(const GatewayInfo&) const = default;
};

struct NodeInfo {
  Address address = 0;
  bool operator==(const NodeInfo&) const = default;
};

struct InfrastructureReport {
  std::map<std::int64_t, GatewayInfo> gateways;                    // by gateway id
  std::map<std::int64_t, std::map<std::int64_t, NodeInfo>> nodes;  // gateway id -> node id
  bool operator==(const InfrastructureReport&) const = default;
};

struct UnknownEvent {
  std::string type;  // event_type as written, cut to at most kMaxTypeName bytes
  bool operator==(const UnknownEvent&) const = default;
};

inline constexpr std::size_t kMaxTypeName = 64;
inline constexpr std::size_t kMaxGatewayText = 64;  // a gateway's version and address text

using Event = std::variant<PowerReport, InfrastructureReport, UnknownEvent>;

// One line, without its newline (a trailing '\r' is tolerated).
util::Result<Event> parse_taptap_line(std::string_view line);

// The event as the newer taptap writes it (event_type, integer ids, UTC offset, shortest exact
// numbers), one line without a newline: parse_taptap_line reads it back as the same event.
std::string format_taptap_line(const Event& event);

// "power_report", "infrastructure_report" or the unknown event's type.
std::string_view event_type_name(const Event& event);

}  // namespace local
