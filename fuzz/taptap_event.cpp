// taptap observe's lines (src/local/): each line of the input parsed as an event, written back
// and parsed again (the same event, the same text); a power report's values finite and within
// range; every line applied to a bus state whose snapshot stays within its limits and whose
// counters add up; the lines also split by the line sources' splitter, and tried as a barcode
// and a serial.
#include "local/taptap_event.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <variant>

#include "local/barcode.hpp"
#include "local/bus_state.hpp"
#include "local/line_source.hpp"
#include "targets.hpp"

namespace fuzz {
namespace {

bool in(double v, double min, double max) { return std::isfinite(v) && v >= min && v <= max; }

void check_event(std::string_view line) {
  const auto event = local::parse_taptap_line(line);
  if (!event) {
    require(!event.error().message.empty(), "refused without a reason");
    return;
  }
  if (const auto* r = std::get_if<local::PowerReport>(&*event)) {
    require(r->gateway >= 0 && r->gateway <= local::kMaxGatewayId, "gateway id out of range");
    require(r->node >= local::kMinNodeId && r->node <= local::kMaxNodeId, "node id out of range");
    require(in(r->voltage_in, 0, 200) && in(r->voltage_out, 0, 200), "voltage out of range");
    require(in(r->current, 0, 50) && in(r->duty_cycle, 0, 1), "current or duty out of range");
    require(in(r->temperature, -60, 150), "temperature out of range");
    require(r->rssi >= 0 && r->rssi <= 255, "rssi out of range");
  }
  const std::string text = local::format_taptap_line(*event);
  const auto again = local::parse_taptap_line(text);
  require(again.ok(),
          "its own text is refused: " + (again ? std::string() : again.error().message));
  require(local::format_taptap_line(*again) == text, "written again, the text differs");
  // A gateway address's text may change case; everything else reads back exactly.
  if (!std::holds_alternative<local::InfrastructureReport>(*event))
    require(*again == *event, "read back, the event differs");
}

void check_identity(std::string_view text) {
  if (text.size() > 64) return;
  if (const auto address = local::parse_barcode(text)) {
    const auto barcode = local::format_barcode(*address);
    require(barcode.has_value(), "a parsed barcode has no barcode");
    require(local::parse_barcode(*barcode) == address, "barcode round trip");
    require(local::matches(text, *address), "a barcode does not match its address");
  }
  if (const auto address = local::parse_address(text)) {
    require(local::parse_address(local::format_address(*address)) == address, "address round trip");
  }
  if (const auto pattern = local::serial_pattern(text)) {
    require((pattern->value & ~pattern->mask) == 0, "pattern value outside its mask");
  }
}

}  // namespace

void run_taptap_event(std::string_view input) {
  local::BusLimits limits;
  limits.max_nodes = 64;
  limits.max_gateways = 8;
  limits.max_unknown_types = 4;
  local::BusState state(limits, "fuzz");
  const local::ReceiveTime received{};

  std::size_t lines = 0;
  std::size_t blank = 0;
  local::LineSplitter splitter(4096);
  std::size_t split_lines = 0;
  std::size_t split_oversized = 0;
  splitter.feed(
      input,
      [&](std::string_view line) {
        ++split_lines;
        require(line.size() <= 4096, "a line over the splitter's limit");
        require(line.find('\n') == std::string_view::npos, "a newline inside a line");
      },
      [&] { ++split_oversized; });
  (void)splitter.finish();

  std::string_view rest = input;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    ++lines;
    check_event(line);
    check_identity(line);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) ++blank;
    state.apply_line(line, received);
  }
  const auto newlines = static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n'));
  require(split_lines + split_oversized == newlines, "the splitter lost or made up lines");

  const auto snap = state.snapshot();
  const auto& c = snap->counters;
  require(snap->nodes.size() <= limits.max_nodes, "more nodes than the limit");
  require(snap->gateways.size() <= limits.max_gateways, "more gateways than the limit");
  require(snap->unknown_event_types.size() <= limits.max_unknown_types + 1,
          "more unknown type names than the limit");
  require(c.lines == lines - blank, "lines not counted once each");
  require(
      c.power_reports + c.infrastructure_reports + c.unknown_events + c.malformed_lines == c.lines,
      "counters do not add up");
  for (std::size_t i = 1; i < snap->nodes.size(); ++i) {
    const auto& a = snap->nodes[i - 1];
    const auto& b = snap->nodes[i];
    require(std::pair{a.gateway, a.node} < std::pair{b.gateway, b.node}, "nodes not in order");
    require(snap->find(b.gateway, b.node) == &b, "find misses a node");
  }
}

}  // namespace fuzz
