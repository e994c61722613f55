// The mapping file: its forms (our panels list, taptap-mqtt's MODULES), and what it refuses.
#include "fusion/mapping.hpp"

#include <catch2/catch.hpp>

namespace {
const local::Address kA = 0x04C05B40009A57A2;  // barcode 4-9A57A2L
}

TEST_CASE("mapping file: panels by barcode, address or bus ids, with their system and labels",
          "[fusion][mapping]") {
  const auto m = fusion::parse_mapping(R"(
system: 1003
system_name: Home
timezone: Europe/Berlin
panels:
  - barcode: 4-9a57a2l
    panel: A1
    string: A
    inverter: Inverter 1
    mppt: MPPT 1
  - address: 04:C0:5B:40:00:9A:57:A3
    panel: A2
    system: 7
  - gateway: 4609
    node: 12
    panel: B1
)");
  REQUIRE(m);
  CHECK(m->system_id == 1003);
  CHECK(m->system_name == "Home");
  CHECK(m->timezone == "Europe/Berlin");
  REQUIRE(m->panels.size() == 3);
  CHECK(m->panels[0].address == kA);
  CHECK(m->panels[0].system_id == 1003);
  CHECK(m->panels[0].string == "A");
  CHECK(m->panels[0].inverter == "Inverter 1");
  CHECK(m->panels[1].address == kA + 1);
  CHECK(m->panels[1].system_id == 7);
  CHECK(m->panels[2].gateway == 4609);
  CHECK(m->panels[2].node == 12);
  CHECK_FALSE(m->panels[2].address);
  // find: by address first, then by bus ids.
  CHECK(m->find(kA, 1, 1) == &m->panels[0]);
  CHECK(m->find(std::nullopt, 4609, 12) == &m->panels[2]);
  CHECK(m->find(kA + 5, 4609, 12) == &m->panels[2]);
  CHECK(m->find(kA + 5, 4609, 13) == nullptr);
}

TEST_CASE("mapping file: taptap-mqtt's MODULES value as is", "[fusion][mapping]") {
  const auto m = fusion::parse_mapping("system: 1003\nmodules: \"A:01:4-9A57A2L, A:02:, :C1:" +
                                       local::format_barcode(kA + 1).value() + "\"\n");
  REQUIRE(m);
  REQUIRE(m->panels.size() == 2);  // A02 has no barcode yet: it names no node
  CHECK(m->panels[0].panel == "A01");
  CHECK(m->panels[0].string == "A");
  CHECK(m->panels[0].address == kA);
  CHECK(m->panels[0].system_id == 1003);
  CHECK(m->panels[1].panel == "C1");
  CHECK(m->panels[1].string.empty());
  CHECK(m->panels[1].address == kA + 1);
}

TEST_CASE("mapping file: an empty file maps nothing", "[fusion][mapping]") {
  const auto m = fusion::parse_mapping("");
  REQUIRE(m);
  CHECK(m->panels.empty());
  CHECK(m->system_id == 0);
}

TEST_CASE("mapping file: each mistake refused with what and where", "[fusion][mapping]") {
  const std::pair<const char*, const char*> cases[] = {
      {"panels: [{barcode: 4-9A57A2M, panel: A1}]", "not a Tigo barcode"},
      {"panels: [{address: 04:C0:5B, panel: A1}]", "not 8 bytes"},
      {"panels: [{gateway: 4609, panel: A1}]", "gateway and node go together"},
      {"panels: [{panel: A1}]", "needs a barcode"},
      {"panels: [{node: 0, gateway: 1, panel: A1}]", "node must be an integer from 1"},
      {"panels: [{barcode: 4-9A57A2L}]", "panel is missing"},
      {"panels: [{barcode: 4-9A57A2L, panel: A1, colour: red}]", "unknown key \"colour\""},
      {"panels: [{barcode: 4-9A57A2L, panel: A1}, {barcode: 4-9A57A2L, panel: A2}]",
       "mapped twice"},
      {"panels: [{node: 2, gateway: 1, panel: A1}, {node: 3, gateway: 1, panel: A1}]",
       "panel \"A1\" of system 0 is mapped twice"},
      {"modules: \"A01\"", "is not STRING:NAME:BARCODE"},
      {"modules: \"A::4-9A57A2L\"", "the panel name is empty"},
      {"system: -1", "system must be an integer"},
      {"system: [1]", "system must be a string"},
      {"panels: {a: 1}", "panels must be a list"},
      {"what: 1", "unknown key \"what\""},
      {"panels: [", "not YAML"},
  };
  for (const auto& [yaml, message] : cases) {
    INFO(yaml);
    const auto m = fusion::parse_mapping(yaml);
    REQUIRE_FALSE(m);
    CHECK_THAT(m.error().message, Catch::Contains(message));
  }
}

TEST_CASE("mapping file: a file that cannot be read says which", "[fusion][mapping]") {
  const auto m = fusion::load_mapping("/nonexistent/mapping.yaml");
  REQUIRE_FALSE(m);
  CHECK_THAT(m.error().message, Catch::Contains("/nonexistent/mapping.yaml"));
}
