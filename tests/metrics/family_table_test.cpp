// The family table is what /metrics serves: every family rendered (the fleet's and the
// self-metrics') is a row with the same TYPE and HELP, and every row is rendered; the panel rows
// come from the panel-param table.
#include "metrics/family_table.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>

#include "metrics/collector.hpp"
#include "metrics/reference.hpp"
#include "metrics/self_metrics.hpp"

namespace {

struct Announced {
  std::string type, help;
};

// `# TYPE` and `# HELP` lines of a text exposition, by family.
std::map<std::string, Announced> announced(const std::string& text) {
  std::map<std::string, Announced> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const bool type = line.rfind("# TYPE ", 0) == 0, help = line.rfind("# HELP ", 0) == 0;
    if (!type && !help) continue;
    const auto space = line.find(' ', 7);
    auto& a = out[line.substr(7, space - 7)];
    (type ? a.type : a.help) = line.substr(space + 1);
  }
  return out;
}

}  // namespace

TEST_CASE("family table: /metrics announces exactly its rows, with their TYPE and HELP",
          "[metrics][families]") {
  refresh::Snapshot snap;  // families are announced even without series; the user's with one
  snap.user = refresh::User{"7", "Installer", "Sun & Co"};
  // The local families are announced when a local source is configured.
  snap.local_sources.push_back(refresh::LocalSourceStatus{});
  std::string fleet;
  metrics::render_fleet(snap, fleet);
  auto served = announced(fleet);
  // prometheus-cpp announces a family only once it has a series: one call gives them all one.
  metrics::SelfMetrics self({"1", "r", "c"});
  self.on_call("data/summary", "200", 0.1);
  for (auto& [name, a] : announced(self.render())) served[name] = a;
  CHECK(served.size() == metrics::kFamilyCount);
  for (const auto& f : metrics::kFamilies) {
    INFO(f.name);
    REQUIRE(served.count(std::string(f.name)));
    CHECK(served.at(std::string(f.name)).type == metrics::type_name(f.type));
    CHECK(served.at(std::string(f.name)).help == f.help);
  }
}

TEST_CASE("family table: panel value rows are the panel-param table's", "[metrics][families]") {
  for (const auto& p : tigo::kPanelParams) {
    INFO(p.api_name);
    const auto* f = metrics::find_family(p.family);
    REQUIRE(f != nullptr);
    CHECK(f->help == p.help);
    CHECK(f->unit == p.unit);
    CHECK(f->api_param == p.api_name);
    CHECK(f->backfilled);
    CHECK(tigo::panel_param_from_api(p.api_name) == p.param);
  }
  CHECK(tigo::spec(tigo::PanelParam::temperature).api_name == "Temp");
  CHECK(tigo::spec(tigo::PanelParam::temperature).optional);
  CHECK_FALSE(tigo::panel_param_from_api("Pout").has_value());
  CHECK(metrics::find_family("tigo_no_such_family") == nullptr);
}

TEST_CASE("family table: the reference lists every row once, markers included",
          "[metrics][families]") {
  const auto md = metrics::families_markdown();
  for (const auto& f : metrics::kFamilies) {
    INFO(f.name);
    const auto row = "| `" + std::string(f.name) + "` | " + std::string(metrics::type_name(f.type));
    const auto at = md.find(row);
    REQUIRE(at != std::string::npos);
    CHECK(md.find(row, at + 1) == std::string::npos);
    const auto line = md.substr(at, md.find('\n', at) - at);
    CHECK(line.find(f.help) != std::string::npos);
    CHECK((line.find("**Absent**") != std::string::npos) == !f.absent.empty());
  }
  CHECK(
      md.find("| `tigo_panel_temperature_celsius` | gauge | celsius | `system_id`, `object_id`") !=
      std::string::npos);
  CHECK(md.find("data/aggregate level=min param=RSSI") != std::string::npos);
}
