// The mapping file (--local.mapping-file): which optimizer on the bus is which panel, for nodes
// the cloud's serials do not name and for sites without a cloud account. YAML:
//
//   system: 1003              # optional: the system these panels belong to (default 0)
//   system_name: Home         # optional: its name where the cloud does not know it
//   timezone: Europe/Berlin   # optional: the site's day for local-only energy (default UTC)
//   modules: "A:01:4-C3F23CR, A:02:4-C3F2ACK"   # taptap-mqtt's MODULES value, pasted as is
//   panels:                   # and/or one entry per panel
//     - barcode: 4-C3F23CR    # or address: 04:C0:5B:40:00:C3:F2:3C, or gateway: 4609 + node: 12
//       panel: A01
//       string: A             # optional; inverter and mppt too
//       system: 1003          # optional, over the top-level one
//
// taptap-mqtt's entries are STRING:NAME:BARCODE (STRING may be empty): the panel is STRING+NAME
// in string STRING, as that bridge names it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "local/barcode.hpp"
#include "util/result.hpp"

namespace fusion {

struct MappedPanel {
  std::optional<local::Address> address;  // from barcode or address
  std::optional<std::int64_t> gateway;    // with node: the bus ids, when no barcode is known
  std::optional<std::int64_t> node;
  std::int64_t system_id = 0;
  std::string inverter, mppt, string, panel;
};

struct Mapping {
  std::int64_t system_id = 0;
  std::string system_name;
  std::string timezone;
  std::vector<MappedPanel> panels;

  // The entry naming this node (by address first, then by its bus ids), or null.
  const MappedPanel* find(std::optional<local::Address> address, std::int64_t gateway,
                          std::int64_t node) const;
};

// At most this many panels: a mapping is written by hand for one site.
inline constexpr std::size_t kMaxMappedPanels = 100'000;

util::Result<Mapping> parse_mapping(std::string_view yaml);
util::Result<Mapping> load_mapping(const std::string& path);

}  // namespace fusion
