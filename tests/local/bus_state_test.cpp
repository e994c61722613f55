// What the bus told us: newest readings, learned addresses, counters, bounds and snapshots.
#include "local/bus_state.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>

using namespace std::chrono;
using local::Address;

namespace {

const local::ReceiveTime kStart{steady_clock::time_point{hours{1000}},
                                system_clock::time_point{sys_days{year{2025} / 6 / 1}}};

local::ReceiveTime at(seconds offset) { return {kStart.steady + offset, kStart.wall + offset}; }

std::string report(int gateway, int node, double current = 5.0, int second = 0) {
  char line[400];
  std::snprintf(
      line, sizeof line,
      R"({"event_type":"power_report","gateway":%d,"node":%d,"timestamp":"2025-06-01T12:00:%02d.5+00:00","voltage_in":30.5,"voltage_out":30.1,"current":%g,"dc_dc_duty_cycle":1.0,"temperature":25.5,"rssi":150})",
      gateway, node, second, current);
  return line;
}

std::string infrastructure(int gateway, int node, std::string_view address) {
  return R"({"event_type":"infrastructure_report","gateways":{"4609":{"address":"04:C0:5B:30:00:02:7F:1A","version":"v1"}},"nodes":{")" +
         std::to_string(gateway) + R"(":{")" + std::to_string(node) + R"(":{"address":")" +
         std::string(address) + R"("}}}})";
}

}  // namespace

TEST_CASE("bus state: the newest reading per node, and when it arrived", "[local][bus_state]") {
  local::BusState state;
  state.apply_line(report(4609, 116, 5.0, 1), at(seconds{1}));
  state.apply_line(report(4609, 117, 6.0, 1), at(seconds{1}));
  state.apply_line(report(4609, 116, 7.0, 21), at(seconds{21}));
  const auto snap = state.snapshot(kStart.steady + seconds{30});
  REQUIRE(snap->nodes.size() == 2);
  const auto* node = snap->find(4609, 116);
  REQUIRE(node != nullptr);
  REQUIRE(node->reading.has_value());
  CHECK(node->reading->current == 7.0);
  CHECK(node->received == at(seconds{21}));
  CHECK_FALSE(node->address.has_value());
  CHECK(snap->find(4609, 118) == nullptr);
  CHECK(snap->find(1, 116) == nullptr);
  CHECK(snap->counters.lines == 3);
  CHECK(snap->counters.power_reports == 3);
  CHECK(snap->nodes_heard_recently == 2);
  CHECK(snap->last_event_received == at(seconds{21}));
  CHECK(snap->newest_report_time ==
        local::Microseconds{sys_days{year{2025} / 6 / 1}.time_since_epoch() + hours{12} +
                            seconds{21} + milliseconds{500}});
}

TEST_CASE("bus state: malformed lines are counted with their reason, blank lines skipped",
          "[local][bus_state]") {
  local::BusState state;
  state.apply_line("garbage", at(seconds{1}));
  state.apply_line(report(4609, 116), at(seconds{2}));
  state.apply_line(R"({"event_type":"power_report","gateway":1})", at(seconds{3}));
  state.apply_line("  \r", at(seconds{4}));
  state.apply_line(R"({"event_type":"topology_report"})", at(seconds{5}));
  state.note_oversized_line();
  state.note_partial_line();
  const auto snap = state.snapshot();
  CHECK(snap->counters.lines == 4);
  CHECK(snap->counters.malformed_lines == 2);
  CHECK(snap->counters.power_reports == 1);
  CHECK(snap->counters.unknown_events == 1);
  CHECK(snap->counters.oversized_lines == 1);
  CHECK(snap->counters.partial_lines == 1);
  CHECK(snap->last_refusal == "node: missing");
  CHECK(snap->unknown_event_types.at("topology_report") == 1);
  CHECK(snap->nodes.size() == 1);
}

TEST_CASE("bus state: an infrastructure report names the nodes, before or after readings",
          "[local][bus_state]") {
  local::BusState state;
  state.apply_line(report(4609, 116), at(seconds{1}));
  state.apply_line(infrastructure(4609, 116, "04:C0:5B:40:00:9A:57:A2"), at(seconds{2}));
  state.apply_line(infrastructure(4609, 117, "04:C0:5B:40:00:79:AC:16"), at(seconds{3}));
  state.apply_line(report(4609, 117), at(seconds{4}));
  const auto snap = state.snapshot(kStart.steady + seconds{5});
  CHECK(snap->counters.infrastructure_reports == 2);
  CHECK(snap->gateways.at(4609).address == Address{0x04C05B3000027F1A});
  CHECK(snap->gateways.at(4609).version == "v1");
  const auto* a = snap->find(4609, 116);
  REQUIRE(a != nullptr);
  CHECK(a->address == Address{0x04C05B40009A57A2});
  CHECK(a->reading.has_value());  // the reading came before its name, and is kept
  CHECK(snap->find_serial("4-9A57A2L") == a);
  CHECK(snap->find_serial("04C05B9A57A2") == a);
  CHECK(snap->find_serial("04:C0:5B:40:00:79:AC:16") == snap->find(4609, 117));
  CHECK(snap->find_serial("04C05B000000") == nullptr);
  CHECK(snap->find_serial("panel A1") == nullptr);
  CHECK(snap->counters.address_changes == 0);
}

TEST_CASE("bus state: an ambiguous short serial names no node", "[local][bus_state]") {
  local::BusState state;
  state.apply_line(infrastructure(1, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{1}));
  state.apply_line(infrastructure(1, 3, "04:C0:5B:41:00:9A:57:A2"), at(seconds{1}));
  const auto snap = state.snapshot();
  CHECK(snap->find_serial("04C05B9A57A2") == nullptr);
  CHECK(snap->find_serial("4-9A57A2L") == snap->find(1, 2));
}

TEST_CASE("bus state: a node id that names another address drops its old reading",
          "[local][bus_state]") {
  local::BusState state;
  state.apply_line(infrastructure(4609, 116, "04:C0:5B:40:00:9A:57:A2"), at(seconds{1}));
  state.apply_line(report(4609, 116), at(seconds{2}));
  state.apply_line(infrastructure(4609, 116, "04:C0:5B:40:00:9A:57:A2"), at(seconds{3}));
  CHECK(state.snapshot()->counters.address_changes == 0);
  state.apply_line(infrastructure(4609, 116, "04:C0:5B:40:00:79:AC:16"), at(seconds{4}));
  auto snap = state.snapshot();
  CHECK(snap->counters.address_changes == 1);
  const auto* node = snap->find(4609, 116);
  REQUIRE(node != nullptr);
  CHECK(node->address == Address{0x04C05B400079AC16});
  CHECK_FALSE(node->reading.has_value());
  CHECK(snap->find_serial("4-9A57A2L") == nullptr);

  // The old address reappears under another id: it moves, and the id it left is unnamed.
  state.apply_line(report(4609, 200), at(seconds{5}));
  state.apply_line(infrastructure(4609, 200, "04:C0:5B:40:00:79:AC:16"), at(seconds{6}));
  snap = state.snapshot();
  CHECK(snap->counters.address_changes == 2);
  CHECK_FALSE(snap->find(4609, 116)->address.has_value());
  CHECK(snap->find(4609, 200)->address == Address{0x04C05B400079AC16});
  CHECK(snap->find(4609, 200)->reading.has_value());
  CHECK(snap->find_serial("4-79AC16V") == snap->find(4609, 200));
}

TEST_CASE("bus state: an address carried by the report itself is learned too",
          "[local][bus_state]") {
  local::BusState state;
  state.apply_line(
      R"({"gateway":{"id":4609},"node":{"id":116,"barcode":"4-9A57A2L"},"timestamp":"2024-08-24T09:16:41.686961-05:00","voltage_in":30.6,"voltage_out":30.2,"current":6.94,"dc_dc_duty_cycle":1.0,"temperature":26.8,"rssi":132})",
      at(seconds{1}));
  const auto snap = state.snapshot();
  REQUIRE(snap->find(4609, 116) != nullptr);
  CHECK(snap->find(4609, 116)->address == Address{0x04C05B40009A57A2});
  CHECK(snap->find(4609, 116)->reading.has_value());
}

TEST_CASE("bus state: new nodes past the cap are refused and counted", "[local][bus_state]") {
  local::BusLimits limits;
  limits.max_nodes = 3;
  local::BusState state(limits);
  for (int node = 1; node <= 5; ++node) state.apply_line(report(1, node), at(seconds{node}));
  state.apply_line(report(1, 2, 9.0), at(seconds{10}));  // a known node still updates
  state.apply_line(infrastructure(1, 9, "04:C0:5B:40:00:9A:57:A2"), at(seconds{11}));
  const auto snap = state.snapshot();
  CHECK(snap->nodes.size() == 3);
  CHECK(snap->counters.nodes_refused == 3);
  CHECK(snap->find(1, 2)->reading->current == 9.0);
  CHECK(snap->find(1, 4) == nullptr);
  CHECK(snap->find_serial("4-9A57A2L") == nullptr);
}

TEST_CASE("bus state: nodes heard recently count only readings within the window",
          "[local][bus_state]") {
  local::BusState state;
  state.apply_line(report(1, 1), at(seconds{0}));
  state.apply_line(report(1, 2), at(seconds{50}));
  state.apply_line(infrastructure(1, 3, "04:C0:5B:40:00:9A:57:A2"), at(seconds{55}));
  CHECK(state.snapshot(kStart.steady + seconds{59})->nodes_heard_recently == 2);
  CHECK(state.snapshot(kStart.steady + seconds{100})->nodes_heard_recently == 1);
  CHECK(state.snapshot(kStart.steady + seconds{200})->nodes_heard_recently == 0);
  CHECK(state.snapshot(kStart.steady + seconds{200})->nodes.size() == 3);
}

TEST_CASE("bus state: unknown event types are counted by name, the names bounded",
          "[local][bus_state]") {
  local::BusLimits limits;
  limits.max_unknown_types = 2;
  local::BusState state(limits);
  for (const char* type : {"a", "b b", "a", "c", "d"})
    state.apply_line(std::string(R"({"event_type":")") + type + "\"}", at(seconds{1}));
  const auto snap = state.snapshot();
  CHECK(snap->counters.unknown_events == 5);
  CHECK(snap->unknown_event_types ==
        std::map<std::string, std::uint64_t>{{"a", 2}, {"b_b", 1}, {"other", 2}});
}

TEST_CASE("bus state: a snapshot does not change after it was taken", "[local][bus_state]") {
  local::BusState state;
  state.set_connected(true);
  state.apply_line(report(1, 1, 1.0), at(seconds{1}));
  const auto before = state.snapshot();
  state.apply_line(report(1, 1, 2.0), at(seconds{2}));
  state.apply_line(report(1, 2, 3.0), at(seconds{2}));
  state.set_connected(false);
  CHECK(before->connected);
  CHECK(before->nodes.size() == 1);
  CHECK(before->nodes[0].reading->current == 1.0);
  const auto after = state.snapshot();
  CHECK_FALSE(after->connected);
  CHECK(after->nodes.size() == 2);
  CHECK(after->nodes[0].reading->current == 2.0);
}

TEST_CASE("bus state: the learned addresses export and import, the bus's word first",
          "[local][bus_state]") {
  local::BusState first;
  first.apply_line(infrastructure(1, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{1}));
  first.apply_line(infrastructure(1, 3, "04:C0:5B:40:00:79:AC:16"), at(seconds{1}));
  first.apply_line(report(1, 4), at(seconds{1}));
  const auto learned = first.export_addresses();
  CHECK(learned ==
        std::vector<local::LearnedAddress>{{1, 2, 0x04C05B40009A57A2}, {1, 3, 0x04C05B400079AC16}});

  local::BusState second;
  // Already said by this bus: node 3 is another address, so the file's word for it is old.
  second.apply_line(infrastructure(1, 3, "04:C0:5B:40:00:11:11:11"), at(seconds{1}));
  second.import_addresses(learned);
  second.import_addresses({{1, 6, 0x04C05B4000222222}, {99999, 1, 1}, {1, 0, 2}});
  const auto snap = second.snapshot();
  CHECK(snap->find(1, 2)->address == Address{0x04C05B40009A57A2});
  CHECK(snap->find(1, 3)->address == Address{0x04C05B4000111111});
  CHECK(snap->find(1, 6)->address == Address{0x04C05B4000222222});
  CHECK(snap->find_serial("04C05B79AC16") == nullptr);
  CHECK(snap->counters.address_changes == 0);
  CHECK(snap->nodes.size() == 3);
}

TEST_CASE("bus state: 2,000 nodes in a snapshot, found by id and by serial", "[local][bus_state]") {
  local::BusState state;
  for (int gateway = 1; gateway <= 4; ++gateway) {
    std::string infra =
        R"({"event_type":"infrastructure_report","nodes":{")" + std::to_string(gateway) + "\":{";
    for (int node = 1; node <= 500; ++node) {
      const Address address = 0x04C05B4000000000 + static_cast<Address>(gateway * 1000 + node);
      if (node > 1) infra += ',';
      infra += "\"" + std::to_string(node) + R"(":{"address":")" + local::format_address(address) +
               "\"}";
      state.apply_line(report(gateway, node), at(seconds{1}));
    }
    state.apply_line(infra + "}}}", at(seconds{2}));
  }
  const auto snap = state.snapshot(kStart.steady + seconds{3});
  CHECK(snap->nodes.size() == 2000);
  CHECK(snap->nodes_heard_recently == 2000);
  CHECK(snap->counters.malformed_lines == 0);
  const auto* node = snap->find(3, 250);
  REQUIRE(node != nullptr);
  CHECK(node->address == Address{0x04C05B4000000000 + 3250});
  CHECK(snap->find_serial(*local::format_barcode(0x04C05B4000000000 + 3250)) == node);
}

TEST_CASE("bus state: lines and snapshots from several threads at once", "[local][bus_state]") {
  local::BusState state;
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) state.apply_line(report(1, 1 + i % 100), at(seconds{i}));
  });
  std::size_t seen = 0;
  for (int i = 0; i < 200; ++i) seen = std::max(seen, state.snapshot()->nodes.size());
  writer.join();
  CHECK(seen <= 100);
  CHECK(state.snapshot()->counters.power_reports == 2000);
}
