// The local path's own files: the mapping file (--local.mapping-file, written by hand) and the
// local state file (local-state.json, ours but on a disk anyone may touch). What parses holds the
// parser's promises, reads back the same, and fuses with a small bus without a crash or a node
// in two places.
#include <set>
#include <string>

#include "fusion/fuser.hpp"
#include "fusion/local_state.hpp"
#include "fusion/mapping.hpp"
#include "local/bus_state.hpp"
#include "targets.hpp"

namespace fuzz {
namespace {

// `bus` hears one report from each of `addresses` (node ids from 2) and from node 9999.
void hear(local::BusState& bus, const std::vector<local::Address>& addresses) {
  const local::ReceiveTime received = local::ReceiveTime::now();
  local::InfrastructureReport infra;
  std::int64_t node = 2;
  for (auto a : addresses) {
    if (node > 200) break;
    infra.nodes[4609][node++] = local::NodeInfo{a};
  }
  bus.apply(infra, received);
  for (std::int64_t n = 2; n < node; ++n) {
    local::PowerReport r;
    r.gateway = 4609;
    r.node = n;
    r.voltage_in = 30;
    r.current = 5;
    bus.apply(r, received);
  }
  local::PowerReport stray;
  stray.gateway = 4609;
  stray.node = 9999;
  bus.apply(stray, received);
}

void fuse_once(fusion::Fuser& fuser, const local::BusState& bus) {
  const auto now = local::ReceiveTime::now();
  const auto out = fuser.fuse(refresh::Snapshot{}, {{"fuzz", bus.snapshot(now.steady), {}}},
                              now.steady, now.wall);
  std::size_t panels = 0;
  std::set<std::pair<std::int64_t, std::string>> seen;
  for (const auto& e : out->systems)
    for (const auto& p : e.panels) {
      ++panels;
      require(seen.insert({e.system.system_id, p.label}).second, "a panel served twice");
    }
  const auto& s = out->local_sources.at(0);
  require(s.nodes_matched + s.nodes_unmatched == bus.snapshot(now.steady)->nodes.size(),
          "nodes neither matched nor unmatched");
  require(panels <= s.nodes_matched + s.nodes_unmatched, "more panels than nodes");
}

}  // namespace

void run_mapping_file(std::string_view input) {
  const auto mapping = fusion::parse_mapping(input);
  if (!mapping) {
    require(!mapping.error().message.empty(), "refused without a reason");
    return;
  }
  require(mapping->panels.size() <= fusion::kMaxMappedPanels, "more panels than the limit");
  std::vector<local::Address> addresses;
  for (const auto& p : mapping->panels) {
    require(!p.panel.empty(), "a panel without a label");
    require(p.address.has_value() || p.node.has_value(), "a panel naming no node");
    require(p.gateway.has_value() == p.node.has_value(), "a gateway without a node");
    if (p.address) {
      require(mapping->find(p.address, -1, -1) == &p, "find misses an address");
      addresses.push_back(*p.address);
    }
  }
  fusion::FuseOptions options;
  options.mapping = *mapping;
  fusion::Fuser fuser(options);
  local::BusState bus;
  hear(bus, addresses);
  fuse_once(fuser, bus);
}

void run_local_state(std::string_view input) {
  const auto state = fusion::parse_local_state(input);
  if (!state) {
    require(!state.error().message.empty(), "refused without a reason");
    return;
  }
  const auto text = fusion::format_local_state(*state);
  const auto again = fusion::parse_local_state(text);
  require(again.ok(), "its own text is refused: " + (again ? "" : again.error().message));
  require(*again == *state, "read back, the state differs");
  local::BusState bus;
  hear(bus, {});
  for (const auto& [name, list] : state->addresses) bus.import_addresses(list);
  fusion::Fuser fuser({});
  fuser.import_energy(state->energy);
  fuse_once(fuser, bus);
  require(fuser.export_energy().size() <= state->energy.size() + 1, "energy entries made up");
}

}  // namespace fuzz
