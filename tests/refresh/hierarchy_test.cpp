#include "refresh/hierarchy.hpp"

#include <catch2/catch.hpp>

namespace {

tigo::Object obj(std::int64_t id, std::int64_t parent, std::int64_t type, std::string label,
                 std::string ds = "") {
  tigo::Object o;
  o.id = id;
  o.parent_id = parent;
  o.object_type_id = type;
  o.label = std::move(label);
  o.datasource = std::move(ds);
  return o;
}

tigo::Layout layout_with(std::vector<std::pair<std::string, std::int64_t>> panels) {
  tigo::Layout l;
  tigo::LayoutInverter inv;
  inv.label = "Inverter 1";
  tigo::LayoutMppt mppt;
  mppt.label = "MPPT 1";
  tigo::LayoutString str;
  str.label = "String A";
  for (auto& [label, object_id] : panels) {
    tigo::LayoutPanel p;
    p.label = label;
    p.object_id = object_id;
    p.serial = "SN-" + label;
    p.type = "TS4-A-O";
    str.panels.push_back(p);
  }
  mppt.strings.push_back(str);
  inv.mppts.push_back(mppt);
  l.inverters.push_back(inv);
  return l;
}

}  // namespace

TEST_CASE("full tree: inverter and string from ancestors, MPPT and serial from the layout",
          "[hierarchy]") {
  const std::vector<tigo::Object> objects = {
      obj(1, -1, 1, "Home"), obj(2, 1, 4, "Inv A"), obj(3, 2, 3, "A"),
      obj(4, 3, 2, "A1", "04C05B800ACE.panels.A1"), obj(5, 3, 2, "A2", "04C05B800ACE.panels.A2")};
  const auto layout = layout_with({{"A1", 4}, {"A2", 5}});
  const auto h = refresh::resolve_hierarchy(&objects, {{2, "Panel"}, {3, "String"}}, &layout);
  REQUIRE(h.panels.size() == 2);
  CHECK(h.panels[0].object_id == 4);
  CHECK(h.panels[0].inverter == "Inv A");
  CHECK(h.panels[0].string == "A");
  CHECK(h.panels[0].mppt == "MPPT 1");
  CHECK(h.panels[0].serial == "SN-A1");
  CHECK(h.panels[0].panel_type == "TS4-A-O");
  CHECK(h.panels[0].datasource == "04C05B800ACE.panels.A1");
  REQUIRE(h.objects.size() == 5);
  CHECK(h.objects[1].object_type == "Inverter");
  CHECK(h.objects[2].object_type == "String");
  REQUIRE(h.combined_objects.size() == 3);
  CHECK(h.combined_objects[0].object_id == 1);
}

TEST_CASE("missing levels: panels under strings under the system, no layout", "[hierarchy]") {
  const std::vector<tigo::Object> objects = {obj(10, -1, 1, "Site"), obj(11, 10, 3, "S1"),
                                             obj(12, 11, 2, "P1"), obj(13, 10, 2, "Loose")};
  const auto h = refresh::resolve_hierarchy(&objects, {}, nullptr);
  REQUIRE(h.panels.size() == 2);
  CHECK(h.panels[0].string == "S1");
  CHECK(h.panels[0].inverter.empty());
  CHECK(h.panels[0].mppt.empty());
  CHECK(h.panels[1].label == "Loose");
  CHECK(h.panels[1].string.empty());
}

TEST_CASE("a panel matched to the layout by label when ids are absent", "[hierarchy]") {
  const std::vector<tigo::Object> objects = {obj(1, -1, 1, "Home"), obj(3, 1, 3, "A"),
                                             obj(4, 3, 2, "A1")};
  const auto layout = layout_with({{"A1", 0}});
  const auto h = refresh::resolve_hierarchy(&objects, {}, &layout);
  REQUIRE(h.panels.size() == 1);
  CHECK(h.panels[0].inverter == "Inverter 1");  // the tree has no inverter: the layout's
  CHECK(h.panels[0].string == "A");             // the tree's string wins
  CHECK(h.panels[0].serial == "SN-A1");
}

TEST_CASE("only a layout: panels from it", "[hierarchy]") {
  const auto layout = layout_with({{"A1", 40}, {"A2", 41}, {"A3", 0}});
  const auto h = refresh::resolve_hierarchy(nullptr, {}, &layout);
  REQUIRE(h.panels.size() == 2);  // a panel without an object id cannot carry readings
  CHECK(h.panels[1].object_id == 41);
  CHECK(h.panels[1].string == "String A");
}

TEST_CASE("a cycle in the tree does not hang", "[hierarchy]") {
  const std::vector<tigo::Object> objects = {obj(1, 2, 3, "S"), obj(2, 1, 3, "T"),
                                             obj(3, 1, 2, "P")};
  const auto h = refresh::resolve_hierarchy(&objects, {}, nullptr);
  REQUIRE(h.panels.size() == 1);
  CHECK(h.panels[0].string == "S");
}
