// The fusion of the bus's readings into the cloud's snapshot: which reading a panel serves, with
// which labels, when a bus reading stops counting, and the energy integrated from it.
#include "fusion/fuser.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using namespace std::chrono;
using refresh::ReadingSource;
using tigo::PanelParam;

namespace {

// The bus starts at noon UTC on 2025-06-01; steady time is its own.
const local::ReceiveTime kStart{steady_clock::time_point{hours{1000}},
                                system_clock::time_point{sys_days{year{2025} / 6 / 1} + hours{12}}};
local::ReceiveTime at(seconds offset) { return {kStart.steady + offset, kStart.wall + offset}; }

std::string report(int gateway, int node, double voltage, double current, seconds offset) {
  const auto t = floor<seconds>(kStart.wall + offset);
  const auto tod = t - floor<days>(t);
  const hh_mm_ss<seconds> hms{tod};
  char line[400];
  std::snprintf(
      line, sizeof line,
      R"({"event_type":"power_report","gateway":%d,"node":%d,"timestamp":"2025-06-01T%02d:%02d:%02d.25+00:00","voltage_in":%g,"voltage_out":29.5,"current":%g,"dc_dc_duty_cycle":0.75,"temperature":31.5,"rssi":140})",
      gateway, node, static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()), voltage, current);
  return line;
}

std::string infrastructure(int gateway, int node, std::string_view address) {
  return R"({"event_type":"infrastructure_report","gateways":{},"nodes":{")" +
         std::to_string(gateway) + R"(":{")" + std::to_string(node) + R"(":{"address":")" +
         std::string(address) + R"("}}}})";
}

refresh::Panel panel(std::int64_t object_id, std::string label, std::string serial) {
  refresh::Panel p;
  p.object_id = object_id;
  p.label = std::move(label);
  p.serial = std::move(serial);
  p.inverter = "Inverter 1";
  p.mppt = "MPPT 1";
  p.string = "String A";
  return p;
}

// System 1001 (UTC): A1 by the 12-digit form, A2 by its barcode, A3 by the full address, A4 with
// no serial; every panel with a cloud power reading of 11:30.
refresh::Snapshot cloud() {
  refresh::Snapshot s;
  s.ready = true;
  s.generation = 7;
  refresh::SystemEntry e;
  e.system.system_id = 1001;
  e.system.name = "Roof";
  e.system.timezone = "UTC";
  e.panels = {panel(11, "A1", "04C05B9A57A2"),
              panel(12, "A2", local::format_barcode(0x04C05B40009A57A3).value()),
              panel(13, "A3", "04:C0:5B:40:00:9A:57:A4"), panel(14, "A4", "")};
  for (auto& p : e.panels) {
    p.readings[PanelParam::power] =
        refresh::Reading{200, floor<seconds>(kStart.wall - minutes{30})};
    p.reporting = true;
  }
  s.systems.push_back(std::move(e));
  return s;
}

fusion::BusInput input(const local::BusState& state, steady_clock::time_point now) {
  return {"bus", state.snapshot(now), {}};
}

const refresh::Panel& find(const refresh::Snapshot& s, std::int64_t system,
                           std::string_view label) {
  for (const auto& e : s.systems)
    if (e.system.system_id == system)
      for (const auto& p : e.panels)
        if (p.label == label) return p;
  FAIL("no panel " << label << " in system " << system);
  throw 0;
}

}  // namespace

TEST_CASE(
    "fusion: a node named by a panel's serial serves the bus's reading under the cloud's labels",
    "[fusion]") {
  local::BusState bus;
  bus.apply_line(infrastructure(4609, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  bus.apply_line(infrastructure(4609, 3, "04:C0:5B:40:00:9A:57:A3"), at(seconds{0}));
  bus.apply_line(infrastructure(4609, 4, "04:C0:5B:40:00:9A:57:A4"), at(seconds{0}));
  bus.apply_line(report(4609, 2, 30.5, 6.25, seconds{10}), at(seconds{10}));
  bus.apply_line(report(4609, 3, 31.0, 5.5, seconds{11}), at(seconds{11}));
  bus.apply_line(report(4609, 4, 29.0, 4.0, seconds{12}), at(seconds{12}));
  fusion::Fuser fuser({});
  const auto now = at(seconds{15});
  const auto out = fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);

  const auto& a1 = find(*out, 1001, "A1");
  CHECK(a1.source == ReadingSource::bus);
  CHECK(a1.object_id == 11);
  CHECK(a1.string == "String A");
  REQUIRE(a1.readings[PanelParam::power]);
  CHECK(a1.readings[PanelParam::power]->value == Approx(30.5 * 6.25));
  CHECK(a1.readings[PanelParam::power]->sample == floor<seconds>(kStart.wall + seconds{10}));
  CHECK(a1.readings[PanelParam::voltage]->value == 30.5);
  CHECK(a1.readings[PanelParam::current]->value == 6.25);
  CHECK(a1.readings[PanelParam::temperature]->value == 31.5);
  CHECK(a1.readings[PanelParam::rssi]->value == 140);
  REQUIRE(a1.voltage_out);
  CHECK(a1.voltage_out->value == 29.5);
  CHECK(a1.duty_cycle->value == 0.75);
  CHECK(a1.reporting);
  // The barcode and the full address name theirs too; a panel without a serial keeps the cloud's.
  CHECK(find(*out, 1001, "A2").readings[PanelParam::power]->value == Approx(31.0 * 5.5));
  CHECK(find(*out, 1001, "A3").readings[PanelParam::power]->value == Approx(29.0 * 4.0));
  CHECK(find(*out, 1001, "A4").source == ReadingSource::cloud);
  CHECK(find(*out, 1001, "A4").readings[PanelParam::power]->value == 200);
  CHECK_FALSE(find(*out, 1001, "A4").voltage_out);

  REQUIRE(out->local_sources.size() == 1);
  const auto& status = out->local_sources[0];
  CHECK(status.name == "bus");
  CHECK(status.nodes_matched == 3);
  CHECK(status.nodes_unmatched == 0);
  CHECK(status.nodes_heard == 3);
  CHECK(status.events[0] == std::pair<std::string, std::uint64_t>{"power_report", 3});
  CHECK(status.events[1] == std::pair<std::string, std::uint64_t>{"infrastructure_report", 3});
  CHECK(out->systems.size() == 1);  // nothing unmatched: no local system
  CHECK(out->ready);
  CHECK(out->generation == 1);
}

TEST_CASE("fusion: a bus reading counts only while it is fresh and newer than the cloud's minute",
          "[fusion]") {
  local::BusState bus;
  bus.apply_line(infrastructure(4609, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  bus.apply_line(infrastructure(4609, 3, "04:C0:5B:40:00:9A:57:A3"), at(seconds{0}));
  bus.apply_line(report(4609, 2, 30, 6, seconds{0}), at(seconds{0}));
  fusion::FuseOptions options;
  options.stale_after = seconds{120};
  fusion::Fuser fuser(options);

  SECTION("stale, and its gateway's other node is heard: the cloud's reading, not reporting") {
    bus.apply_line(report(4609, 3, 30, 6, seconds{200}), at(seconds{200}));
    const auto now = at(seconds{205});
    const auto out = fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);
    const auto& a1 = find(*out, 1001, "A1");
    CHECK(a1.source == ReadingSource::cloud);
    CHECK(a1.readings[PanelParam::power]->value == 200);
    CHECK_FALSE(a1.reporting);
    CHECK(find(*out, 1001, "A2").source == ReadingSource::bus);
  }
  SECTION("stale with the whole bus quiet (night): the cloud's rules, its reporting kept") {
    const auto now = at(seconds{300});
    const auto out = fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);
    const auto& a1 = find(*out, 1001, "A1");
    CHECK(a1.source == ReadingSource::cloud);
    CHECK(a1.reporting);
  }
  SECTION("a cloud minute newer than the bus's reading wins") {
    auto c = cloud();
    c.systems[0].panels[0].readings[PanelParam::power] =
        refresh::Reading{123, floor<seconds>(kStart.wall + seconds{60})};
    const auto now = at(seconds{5});
    const auto out = fuser.fuse(c, {input(bus, now.steady)}, now.steady, now.wall);
    CHECK(find(*out, 1001, "A1").readings[PanelParam::power]->value == 123);
    CHECK(find(*out, 1001, "A1").source == ReadingSource::cloud);
  }
}

TEST_CASE("fusion: unmatched nodes are served under the bus's names in system 0", "[fusion]") {
  local::BusState bus;
  bus.apply_line(infrastructure(4609, 9, "04:C0:5B:40:00:12:34:56"), at(seconds{0}));
  bus.apply_line(report(4609, 9, 30, 5, seconds{1}), at(seconds{1}));
  bus.apply_line(report(4610, 5, 32, 5, seconds{2}), at(seconds{2}));
  fusion::Fuser fuser({});
  const auto now = at(seconds{3});
  const auto out = fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);
  REQUIRE(out->systems.size() == 2);
  const auto& local_system = out->systems[0];  // ordered by id: 0 first
  CHECK(local_system.system.system_id == fusion::kLocalSystemId);
  CHECK(local_system.system.name == "Local bus");
  REQUIRE(local_system.panels.size() == 2);
  const auto barcode = local::format_barcode(0x04C05B4000123456).value();
  const auto& named = find(*out, 0, barcode);
  CHECK(named.serial == "04:C0:5B:40:00:12:34:56");
  CHECK(named.readings[PanelParam::power]->value == 150);
  CHECK(find(*out, 0, "4610.5").readings[PanelParam::power]->value == 160);
  CHECK(out->local_sources[0].nodes_unmatched == 2);
  CHECK(out->local_sources[0].nodes_matched == 0);
}

TEST_CASE("fusion: a serial that names two nodes, or a node two panels, is not guessed",
          "[fusion]") {
  auto c = cloud();
  c.systems[0].panels[3].serial = "04C05B9A57A2";  // A4 now claims A1's optimizer too
  local::BusState bus;
  bus.apply_line(infrastructure(4609, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  bus.apply_line(report(4609, 2, 30, 6, seconds{1}), at(seconds{1}));
  fusion::Fuser fuser({});
  const auto now = at(seconds{2});
  const auto out = fuser.fuse(c, {input(bus, now.steady)}, now.steady, now.wall);
  CHECK(find(*out, 1001, "A1").source == ReadingSource::cloud);
  CHECK(find(*out, 1001, "A4").source == ReadingSource::cloud);
  CHECK(out->local_sources[0].nodes_unmatched == 1);
}

TEST_CASE("fusion: the mapping file names panels of the cloud and of the site alone", "[fusion]") {
  fusion::FuseOptions options;
  options.mapping = fusion::parse_mapping(R"(
system: 7
system_name: Garage
panels:
  - {gateway: 4609, node: 20, system: 1001, panel: A4}
  - {gateway: 4609, node: 21, string: B, panel: B1}
  - {barcode: 4-9A57A2L, system: 1001, panel: A3}
)")
                        .value();
  local::BusState bus;
  bus.apply_line(report(4609, 20, 30, 2, seconds{1}), at(seconds{1}));
  bus.apply_line(report(4609, 21, 30, 3, seconds{1}), at(seconds{1}));
  // 9A57A2 is A1's serial; the mapping says it is A3, and the mapping wins.
  bus.apply_line(infrastructure(4609, 22, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  bus.apply_line(report(4609, 22, 30, 4, seconds{1}), at(seconds{1}));
  fusion::Fuser fuser(options);
  const auto now = at(seconds{2});
  const auto out = fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);
  CHECK(find(*out, 1001, "A4").readings[PanelParam::power]->value == 60);
  CHECK(find(*out, 1001, "A4").source == ReadingSource::bus);
  CHECK(find(*out, 1001, "A3").readings[PanelParam::power]->value == 120);
  CHECK(find(*out, 1001, "A1").source == ReadingSource::cloud);
  const auto& b1 = find(*out, 7, "B1");
  CHECK(b1.string == "B");
  CHECK(b1.readings[PanelParam::power]->value == 90);
  REQUIRE(out->systems.size() == 2);
  CHECK(out->systems[0].system.system_id == 7);
  CHECK(out->systems[0].system.name == "Garage");
  CHECK(out->local_sources[0].nodes_matched == 3);
}

TEST_CASE("fusion: two nodes for one panel: the one heard last", "[fusion]") {
  fusion::FuseOptions options;
  options.mapping = fusion::parse_mapping(
                        "panels:\n  - {gateway: 4609, node: 30, system: 1001, "
                        "panel: A1}\n")
                        .value();
  local::BusState bus;
  bus.apply_line(infrastructure(4609, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  bus.apply_line(report(4609, 2, 30, 6, seconds{1}), at(seconds{1}));
  bus.apply_line(report(4609, 30, 30, 1, seconds{5}), at(seconds{5}));
  fusion::Fuser fuser(options);
  const auto now = at(seconds{6});
  const auto out = fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);
  CHECK(find(*out, 1001, "A1").readings[PanelParam::power]->value == 30);
}

TEST_CASE("fusion: local only: ready at once, the site's panels from the bus", "[fusion]") {
  fusion::FuseOptions options;
  options.local_only = true;
  local::BusState bus;
  fusion::Fuser fuser(options);
  const auto now = at(seconds{1});
  auto out = fuser.fuse(refresh::Snapshot{}, {input(bus, now.steady)}, now.steady, now.wall);
  CHECK(out->ready);
  CHECK(out->systems.empty());
  bus.apply_line(report(4609, 2, 30, 6, seconds{1}), at(seconds{1}));
  out = fuser.fuse(refresh::Snapshot{}, {input(bus, now.steady)}, now.steady, now.wall);
  REQUIRE(out->systems.size() == 1);
  CHECK(out->systems[0].panels.at(0).label == "4609.2");
  CHECK(out->generation == 2);
}

TEST_CASE(
    "fusion: energy of the day integrated from the bus's readings, gaps left out, reset "
    "at site-local midnight",
    "[fusion]") {
  local::BusState bus;
  bus.apply_line(infrastructure(4609, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  fusion::Fuser fuser({});
  const auto step = [&](int second, double current) {
    bus.apply_line(report(4609, 2, 25, current, seconds{second}), at(seconds{second}));
    const auto now = at(seconds{second});
    return fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);
  };
  // 100 W for 600 s, every 20 s: 16.67 Wh.
  std::shared_ptr<const refresh::Snapshot> out;
  for (int s = 0; s <= 600; s += 20) out = step(s, 4);
  REQUIRE(find(*out, 1001, "A1").energy_today_wh);
  CHECK(*find(*out, 1001, "A1").energy_today_wh == Approx(100.0 * 600 / 3600));
  // A 300 s silence adds nothing; the next 20 s at 200 W after it add 1.67 Wh (trapezoid).
  step(900, 8);
  out = step(920, 8);
  CHECK(*find(*out, 1001, "A1").energy_today_wh == Approx(100.0 * 600 / 3600 + 200.0 * 20 / 3600));
  // Panels never heard on the bus have none.
  CHECK_FALSE(find(*out, 1001, "A4").energy_today_wh);

  // Kept across a restart: exported, imported into a new fuser, the same reading not counted twice.
  const auto saved = fuser.export_energy();
  REQUIRE(saved.size() == 1);
  fusion::Fuser restarted({});
  restarted.import_energy(saved);
  const auto now = at(seconds{920});
  out = restarted.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall);
  CHECK(*find(*out, 1001, "A1").energy_today_wh == Approx(100.0 * 600 / 3600 + 200.0 * 20 / 3600));

  // The next site-local day (UTC here) starts at 0, before and after its first reading.
  const auto tomorrow = at(hours{13});
  out = restarted.fuse(cloud(), {input(bus, tomorrow.steady)}, tomorrow.steady, tomorrow.wall);
  CHECK(*find(*out, 1001, "A1").energy_today_wh == 0);
}

TEST_CASE("fusion: a CCA's minute is served by panel label when it is the newest reading",
          "[fusion]") {
  auto snapshot = std::make_shared<local::CcaSnapshot>();
  snapshot->name = "cca:192.168.1.5:80";
  const auto minute = floor<seconds>(kStart.wall) - seconds{60};
  local::CcaPanel a1{"A1",
                     "",
                     "String A",
                     local::CcaPoint{250, minute},
                     local::CcaPoint{31.2, minute},
                     local::CcaPoint{180, minute}};
  local::CcaPanel stale{"A2", "", "String A", local::CcaPoint{99, minute - hours{1}}, {}, {}};
  local::CcaPanel extra{"Z9", "Inverter 2", "String Z", local::CcaPoint{77, minute}, {}, {}};
  snapshot->panels = {a1, stale, extra};
  snapshot->health.polls = 3;
  snapshot->health.last_success = floor<seconds>(kStart.wall);

  // A1's bus reading is newer than the CCA's minute: the bus wins there.
  local::BusState bus;
  fusion::Fuser fuser({});
  const auto now = at(seconds{5});
  auto out =
      fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall, {{snapshot, 1001}});
  const auto& p = find(*out, 1001, "A1");
  CHECK(p.source == ReadingSource::cca);
  CHECK(p.readings[PanelParam::power]->value == 250);
  CHECK(p.readings[PanelParam::power]->sample == minute);
  CHECK(p.readings[PanelParam::voltage]->value == 31.2);
  CHECK(p.readings[PanelParam::rssi]->value == 180);
  CHECK(p.reporting);
  // An hour-old CCA minute is not current; the cloud's (11:30) stays.
  CHECK(find(*out, 1001, "A2").source == ReadingSource::cloud);
  // A label the cloud does not list is served in the system as the CCA names it.
  CHECK(find(*out, 1001, "Z9").string == "String Z");
  CHECK(find(*out, 1001, "Z9").readings[PanelParam::power]->value == 77);
  REQUIRE(out->local_sources.size() == 2);
  const auto& status = out->local_sources[1];
  CHECK(status.kind == "cca");
  CHECK(status.connected);
  CHECK(status.nodes_matched == 2);
  CHECK(status.nodes_unmatched == 1);
  CHECK(status.nodes_heard == 2);

  // A bus reading newer than the CCA's minute wins.
  bus.apply_line(infrastructure(4609, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  bus.apply_line(report(4609, 2, 30, 6, seconds{4}), at(seconds{4}));
  out = fuser.fuse(cloud(), {input(bus, now.steady)}, now.steady, now.wall, {{snapshot, 1001}});
  CHECK(find(*out, 1001, "A1").source == ReadingSource::bus);
  CHECK(find(*out, 1001, "A1").readings[PanelParam::power]->value == 180);

  // Locked: not connected, its error kept.
  snapshot->health.locked = true;
  snapshot->health.last_error = "summary_jsconfig: 401";
  out = fuser.fuse(cloud(), {}, now.steady, now.wall, {{snapshot, 1001}});
  CHECK_FALSE(out->local_sources[0].connected);
  CHECK(out->local_sources[0].last_error == "summary_jsconfig: 401");
}

TEST_CASE("fusion: the energy of the day from whichever source covers more of it", "[fusion]") {
  local::BusState bus;
  bus.apply_line(infrastructure(4609, 2, "04:C0:5B:40:00:9A:57:A2"), at(seconds{0}));
  bus.apply_line(infrastructure(4609, 3, "04:C0:5B:40:00:9A:57:A3"), at(seconds{0}));
  fusion::Fuser fuser({});
  auto c = cloud();
  // The cloud's minutes cover 10 minutes of A1's day and 1 minute of A2's.
  c.systems[0].panels[0].energy_today_wh = 500;
  c.systems[0].panels[0].energy_covered_s = 600;
  c.systems[0].panels[1].energy_today_wh = 5;
  c.systems[0].panels[1].energy_covered_s = 60;
  std::shared_ptr<const refresh::Snapshot> out;
  for (int second = 0; second <= 120; second += 20) {
    bus.apply_line(report(4609, 2, 30, 6, seconds{second}), at(seconds{second}));
    bus.apply_line(report(4609, 3, 30, 6, seconds{second}), at(seconds{second}));
    const auto now = at(seconds{second});
    out = fuser.fuse(c, {input(bus, now.steady)}, now.steady, now.wall);
  }
  // The bus covers 120 s: more than A2's minute, less than A1's ten.
  CHECK(*find(*out, 1001, "A1").energy_today_wh == 500);
  CHECK(*find(*out, 1001, "A1").energy_covered_s == 600);
  CHECK(*find(*out, 1001, "A2").energy_today_wh == Approx(180.0 * 120 / 3600));
  CHECK(*find(*out, 1001, "A2").energy_covered_s == 120);
  CHECK_FALSE(find(*out, 1001, "A4").energy_today_wh);
}
