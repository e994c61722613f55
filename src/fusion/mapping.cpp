#include "fusion/mapping.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "local/taptap_event.hpp"
#include "util/ascii.hpp"

namespace fusion {
namespace {

// yaml-cpp reports type errors by exception; these carry the parser's messages out.
struct Bad {
  std::string message;
};

std::string scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) throw Bad{what + " must be a string"};
  return node.Scalar();
}

std::int64_t integer(const YAML::Node& node, const std::string& what, std::int64_t lo,
                     std::int64_t hi) {
  const auto text = scalar(node, what);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
    throw Bad{what + " must be an integer from " + std::to_string(lo) + " to " +
              std::to_string(hi) + ", not \"" + text + "\""};
  return v;
}

// A label value: printable, bounded (it becomes a metric label and HTML).
std::string label(const YAML::Node& node, const std::string& what) {
  auto text = std::string(util::trim(scalar(node, what)));
  if (text.size() > 128) throw Bad{what + " is longer than 128 characters"};
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20) throw Bad{what + " holds a control character"};
  return text;
}

local::Address barcode(std::string_view text, const std::string& what) {
  const auto a = local::parse_barcode(util::trim(text));
  if (!a)
    throw Bad{what + ": \"" + std::string(text) +
              "\" is not a Tigo barcode (like 4-9A57A2L, with its check letter)"};
  return *a;
}

void only_keys(const YAML::Node& map, std::initializer_list<std::string_view> keys,
               const std::string& where) {
  if (!map.IsMap()) throw Bad{where + " must be a mapping"};
  for (const auto& kv : map) {
    const auto key = scalar(kv.first, "a key of " + where);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      throw Bad{"unknown key \"" + key + "\" in " + where};
  }
}

// taptap-mqtt's MODULES: "STRING:NAME:BARCODE, ..." (STRING and BARCODE may be empty; without a
// barcode the entry names no node yet, and is skipped).
void read_modules(std::string_view text, Mapping& m) {
  std::size_t index = 0;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto entry = util::trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    ++index;
    if (entry.empty()) continue;
    const std::string where = "modules entry " + std::to_string(index);
    const auto c1 = entry.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : entry.find(':', c1 + 1);
    if (c2 == std::string_view::npos)
      throw Bad{where + ": \"" + std::string(entry) + "\" is not STRING:NAME:BARCODE"};
    const auto string = util::trim(entry.substr(0, c1));
    const auto name = util::trim(entry.substr(c1 + 1, c2 - c1 - 1));
    const auto code = util::trim(entry.substr(c2 + 1));
    if (name.empty()) throw Bad{where + ": the panel name is empty"};
    if (code.empty()) continue;
    MappedPanel p;
    p.address = barcode(code, where);
    p.system_id = m.system_id;
    p.string = std::string(string);
    p.panel = std::string(string) + std::string(name);
    m.panels.push_back(std::move(p));
  }
}

MappedPanel read_panel(const YAML::Node& node, const std::string& where, std::int64_t system) {
  only_keys(
      node,
      {"barcode", "address", "gateway", "node", "system", "inverter", "mppt", "string", "panel"},
      where);
  MappedPanel p;
  p.system_id = system;
  if (node["barcode"]) p.address = barcode(scalar(node["barcode"], where + " barcode"), where);
  if (node["address"]) {
    const auto text = scalar(node["address"], where + " address");
    const auto a = local::parse_address(util::trim(text));
    if (!a)
      throw Bad{where + ": address \"" + text + "\" is not 8 bytes like 04:C0:5B:40:00:9A:57:A2"};
    if (p.address && *p.address != *a)
      throw Bad{where + ": its barcode and address name different optimizers"};
    p.address = a;
  }
  if (node["gateway"])
    p.gateway = integer(node["gateway"], where + " gateway", 0, local::kMaxGatewayId);
  if (node["node"])
    p.node = integer(node["node"], where + " node", local::kMinNodeId, local::kMaxNodeId);
  if (p.gateway.has_value() != p.node.has_value())
    throw Bad{where + ": gateway and node go together"};
  if (!p.address && !p.node) throw Bad{where + ": needs a barcode, an address or gateway and node"};
  if (node["system"]) p.system_id = integer(node["system"], where + " system", 0, INT64_MAX);
  if (node["inverter"]) p.inverter = label(node["inverter"], where + " inverter");
  if (node["mppt"]) p.mppt = label(node["mppt"], where + " mppt");
  if (node["string"]) p.string = label(node["string"], where + " string");
  if (!node["panel"]) throw Bad{where + ": panel is missing"};
  p.panel = label(node["panel"], where + " panel");
  if (p.panel.empty()) throw Bad{where + ": panel is empty"};
  return p;
}

void check_unique(const Mapping& m) {
  std::set<local::Address> addresses;
  std::set<std::pair<std::int64_t, std::int64_t>> ids;
  std::set<std::pair<std::int64_t, std::string>> panels;
  for (const auto& p : m.panels) {
    if (p.address && !addresses.insert(*p.address).second)
      throw Bad{"optimizer " +
                local::format_barcode(*p.address).value_or(local::format_address(*p.address)) +
                " is mapped twice"};
    if (p.node && !ids.insert({*p.gateway, *p.node}).second)
      throw Bad{"gateway " + std::to_string(*p.gateway) + " node " + std::to_string(*p.node) +
                " is mapped twice"};
    if (!panels.insert({p.system_id, p.panel}).second)
      throw Bad{"panel \"" + p.panel + "\" of system " + std::to_string(p.system_id) +
                " is mapped twice"};
  }
}

}  // namespace

const MappedPanel* Mapping::find(std::optional<local::Address> address, std::int64_t gateway,
                                 std::int64_t node) const {
  if (address)
    for (const auto& p : panels)
      if (p.address == address) return &p;
  for (const auto& p : panels)
    if (p.gateway == gateway && p.node == node) return &p;
  return nullptr;
}

util::Result<Mapping> parse_mapping(std::string_view yaml) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    Mapping m;
    if (root.IsNull()) return m;
    only_keys(root, {"system", "system_name", "timezone", "modules", "panels"}, "the mapping file");
    if (root["system"]) m.system_id = integer(root["system"], "system", 0, INT64_MAX);
    if (root["system_name"]) m.system_name = label(root["system_name"], "system_name");
    if (root["timezone"]) m.timezone = label(root["timezone"], "timezone");
    if (root["modules"]) read_modules(scalar(root["modules"], "modules"), m);
    if (const auto list = root["panels"]; list && !list.IsNull()) {
      if (!list.IsSequence()) throw Bad{"panels must be a list"};
      std::size_t i = 0;
      for (const auto& item : list) {
        if (m.panels.size() >= kMaxMappedPanels)
          throw Bad{"more than " + std::to_string(kMaxMappedPanels) + " panels"};
        m.panels.push_back(read_panel(item, "panels entry " + std::to_string(++i), m.system_id));
      }
    }
    check_unique(m);
    return m;
  } catch (const Bad& bad) {
    return util::Error{bad.message};
  } catch (const YAML::Exception& e) {
    return util::Error{std::string("not YAML: ") + e.what()};
  }
}

util::Result<Mapping> load_mapping(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  auto m = parse_mapping(text.str());
  if (!m) return util::Error{path + ": " + m.error().message};
  return m;
}

}  // namespace fusion
