// GET /sim/faults: the ground truth of the planted faults that end-to-end tests derive their
// expected alerts from. Checked against the fleet model and against what the API's own objects
// and layout endpoints say about the same panels and strings.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "sim/alerts.hpp"
#include "sim/model.hpp"
#include "sim/solar.hpp"
#include "sim_fixture.hpp"
#include "util/time.hpp"

using namespace simtest;

namespace {

// The instant of a local mean solar hour at a longitude on a date.
sys_seconds solar_at(double longitude, sys_days day, double hour) {
  return sys_seconds{day} + seconds{static_cast<std::int64_t>((hour - longitude / 15.0) * 3600)};
}

std::string get_faults(RunningSim& sim) {
  auto res = sim.client->Get("/sim/faults");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type").rfind("application/json", 0) == 0);
  return res->body;
}

std::string text(simdjson::dom::element e) { return std::string(std::string_view(e)); }

// Labels of an object as the API describes it: objects/system gives the panel's, its string's
// and its inverter's labels (parent chain); systems/layout gives the MPPT holding the string.
struct ApiLabels {
  std::string inverter, mppt, string, panel;
};

ApiLabels api_labels(RunningSim& sim, std::int64_t system_id, std::int64_t string_object,
                     std::int64_t panel_object) {
  ApiLabels out;
  const auto objects = sim.ok("objects/system?system_id=" + std::to_string(system_id));
  simdjson::dom::parser p;
  std::map<std::int64_t, std::pair<std::string, std::int64_t>> by_id;  // label, parent
  std::map<std::int64_t, std::int64_t> type_of;
  for (simdjson::dom::element o : p.parse(objects)["objects"].get_array()) {
    const std::int64_t id = o["id"].get_int64();
    by_id[id] = {text(o["label"]), o["parent_id"].get_int64()};
    type_of[id] = o["object_type_id"].get_int64();
  }
  if (panel_object >= 0) out.panel = by_id.at(panel_object).first;
  REQUIRE(type_of.at(string_object) == 3);
  out.string = by_id.at(string_object).first;
  const auto parent = by_id.at(string_object).second;
  if (type_of.at(parent) == 4) out.inverter = by_id.at(parent).first;
  const auto layout = sim.ok("systems/layout?id=" + std::to_string(system_id));
  simdjson::dom::parser p2;
  for (simdjson::dom::element inv : p2.parse(layout)["system"]["inverters"].get_array())
    for (simdjson::dom::element m : inv["mppts"].get_array())
      for (simdjson::dom::element s : m["strings"].get_array())
        if (s["object_id"].get_int64().value() == string_object) out.mppt = text(m["label"]);
  return out;
}

}  // namespace

TEST_CASE("/sim/faults: every system's planted fault, its labels, sun and Tigo alerts", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  // The clock at 15:30 mean solar time of the shaded system on the March equinox: its panel is
  // in the afternoon shadow.
  sim::SystemContext shaded;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    auto c = sim::make_context(fleet, fleet.system(i));
    if (c.fault.kind == sim::FaultKind::ShadedPanel) shaded = c;
  }
  REQUIRE(shaded.fault.kind == sim::FaultKind::ShadedPanel);
  const sys_days equinox{year{2026} / 3 / 21};
  const auto now = solar_at(shaded.spec.longitude, equinox, 15.5);
  sim::ServerOptions plain;
  plain.quirks = sim::Quirks::none();
  RunningSim sim(plain, 10, now);

  const auto body = get_faults(sim);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(body);
  CHECK(text(doc["time"]) == util::format_iso8601_utc(now));
  simdjson::dom::array systems = doc["systems"].get_array();
  REQUIRE(systems.size() == 10);

  std::map<std::string, int> kinds;
  const sim::PowerModel model(fleet);
  std::size_t index = 0;
  for (simdjson::dom::element s : systems) {
    const auto c = sim::make_context(fleet, fleet.system(index++));
    const auto& f = c.fault;
    const std::int64_t id = s["system_id"].get_int64();
    INFO("system " << id);
    REQUIRE(id == c.spec.system_id);
    const std::string kind = text(s["fault"]);
    ++kinds[kind];
    CHECK(kind == sim::fault_name(f.kind));
    CHECK(text(s["timezone"]) == c.spec.timezone);
    CHECK(s["active"].get_bool().value() == f.active(now));
    CHECK(s["longitude"].get_double().value() == Approx(c.spec.longitude).margin(1e-6));
    CHECK(s["latitude"].get_double().value() == Approx(c.spec.latitude).margin(1e-6));
    CHECK(s["solar_hour"].get_double().value() ==
          Approx(sim::mean_solar_hour(c.spec.longitude, now)).margin(0.001));
    CHECK(s["sun_elevation_deg"].get_double().value() ==
          Approx(sim::solar::sun_position(c.spec.latitude, c.spec.longitude, now).elevation_deg)
              .margin(0.01));
    CHECK(s["irradiance_w_m2"].get_double().value() ==
          Approx(model.irradiance_w_m2(c.spec, now)).margin(0.1));
    CHECK(s["gateway"]["source_id"].get_int64().value() == c.topo.gateway.source_id);
    CHECK(text(s["gateway"]["serial"]) == c.topo.gateway.mac);

    // Tigo alerts: the same codes, counts and newest times as alerts/system answers.
    std::map<int, std::pair<int, sys_seconds>> want;
    for (const auto& a : sim::system_alerts(c, now)) {
      auto& [n, last] = want[a.type->unique_id];
      ++n;
      last = std::max(last, a.generated);
    }
    std::map<int, std::pair<int, sys_seconds>> got;
    for (simdjson::dom::element a : s["alerts"].get_array()) {
      const auto t = util::parse_iso8601(std::string_view(a["last_generated"]));
      REQUIRE(t);
      got[static_cast<int>(a["unique_id"].get_int64().value())] = {
          static_cast<int>(a["count"].get_int64().value()), *t};
    }
    CHECK(got == want);

    if (f.kind == sim::FaultKind::None) {
      CHECK(s["onset"].is_null());
      CHECK_FALSE(s["active"].get_bool().value());
      CHECK(s["panel"].error() == simdjson::NO_SUCH_FIELD);
      CHECK(s["string"].error() == simdjson::NO_SUCH_FIELD);
      CHECK(got.empty());
      continue;
    }
    CHECK(text(s["onset"]) == util::format_iso8601_utc(f.onset));
    // Onsets lie between mid 2025 and early 2026, so in March 2026 every fault is active.
    CHECK(s["active"].get_bool().value());

    if (f.kind == sim::FaultKind::ShadedPanel || f.kind == sim::FaultKind::DeadOptimizer) {
      simdjson::dom::element panel = s["panel"];
      const auto& pn = c.topo.panels[static_cast<std::size_t>(f.panel)];
      CHECK(panel["object_id"].get_int64().value() == pn.object_id);
      const auto api =
          api_labels(sim, id, c.topo.strings[static_cast<std::size_t>(pn.string_index)].object_id,
                     pn.object_id);
      CHECK(text(panel["panel"]) == api.panel);
      CHECK(text(panel["string"]) == api.string);
      CHECK(text(panel["inverter"]) == api.inverter);
      CHECK(text(panel["mppt"]) == api.mppt);
      CHECK(text(panel["panel"]) == pn.label);
      CHECK(text(panel["string"]).rfind("String ", 0) == 0);
      CHECK(text(panel["inverter"]).empty() == !c.topo.has_inverters);
    }
    if (f.kind == sim::FaultKind::WeakString) {
      simdjson::dom::element st = s["string"];
      const auto& node = c.topo.strings[static_cast<std::size_t>(f.string)];
      CHECK(st["object_id"].get_int64().value() == node.object_id);
      const auto api = api_labels(sim, id, node.object_id, -1);
      CHECK(text(st["string"]) == api.string);
      CHECK(text(st["inverter"]) == api.inverter);
      CHECK(text(st["mppt"]) == api.mppt);
      CHECK(text(st["string"]) == "String " + node.letter);
      CHECK(s["panel"].error() == simdjson::NO_SUCH_FIELD);
    }
    switch (f.kind) {
      case sim::FaultKind::ShadedPanel:
        // 15:30 solar: inside the 14:30-17:30 shadow; today's alert comes at 17:30 solar, so
        // the newest is an earlier sunny afternoon's.
        CHECK(s["solar_hour"].get_double().value() == Approx(15.5).margin(0.01));
        CHECK(s["in_shadow"].get_bool().value());
        CHECK(s["sun_elevation_deg"].get_double().value() > 10);
        REQUIRE(got.count(300));
        CHECK(got[300].first > 10);  // one each sunny afternoon since the onset
        // At 17:30 solar time, or at dusk when the light goes first.
        CHECK(sim::mean_solar_hour(c.spec.longitude, got[300].second) >= 15.0);
        CHECK(sim::mean_solar_hour(c.spec.longitude, got[300].second) <= 17.5);
        CHECK(now - got[300].second >= hours{21});
        break;
      case sim::FaultKind::DeadOptimizer:
        CHECK(got.size() == 1);
        CHECK(got[210].first == 1);
        CHECK(got[210].second > f.onset);  // after an hour of light
        CHECK(got[210].second - f.onset < hours{48});
        break;
      case sim::FaultKind::WeakString:
        CHECK(got.size() == 1);
        CHECK(got[301].first == 1);
        CHECK(sim::mean_solar_hour(c.spec.longitude, got[301].second) == Approx(16.0).margin(0.01));
        CHECK(got[301].second > f.onset);
        break;
      case sim::FaultKind::GatewayStall:
        CHECK(got.size() == 1);
        CHECK(got[102] == std::make_pair(1, f.onset + hours{1}));
        break;
      case sim::FaultKind::PvOff:
        CHECK(got.size() == 2);
        CHECK(got[420].first == 1);
        CHECK(got[420].second >= f.onset);  // at once by day, at dawn by night
        CHECK(got[420].second - f.onset < hours{24});
        CHECK(got[106] == std::make_pair(1, got[420].second + minutes{5}));
        break;
      case sim::FaultKind::None:
        break;
    }
  }
  CHECK(kinds == std::map<std::string, int>{{"none", 5},
                                            {"shaded_panel", 1},
                                            {"dead_optimizer", 1},
                                            {"weak_string", 1},
                                            {"gateway_stall", 1},
                                            {"pv_off", 1}});
}

TEST_CASE(
    "/sim/faults: before the onset a fault is inactive and has raised nothing, out of "
    "the afternoon a shaded panel is not in shadow",
    "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  sim::SystemContext shaded;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    auto c = sim::make_context(fleet, fleet.system(i));
    if (c.fault.kind == sim::FaultKind::ShadedPanel) shaded = c;
  }
  REQUIRE(shaded.fault.kind == sim::FaultKind::ShadedPanel);
  const sys_days noon_day{year{2026} / 3 / 21};
  const auto noon = solar_at(shaded.spec.longitude, noon_day, 12.0);
  {
    RunningSim sim({}, 10, noon);
    simdjson::dom::parser p;
    for (simdjson::dom::element s : p.parse(get_faults(sim))["systems"].get_array()) {
      if (text(s["fault"]) != "shaded_panel") continue;
      CHECK(s["active"].get_bool().value());
      CHECK_FALSE(s["in_shadow"].get_bool().value());
      CHECK(s["solar_hour"].get_double().value() == Approx(12.0).margin(0.01));
    }
  }
  // 1 January 2025: before every onset (mid 2025 on).
  RunningSim early({}, 10, at_utc(2025, 1, 1, 12));
  simdjson::dom::parser p;
  int faulty = 0;
  for (simdjson::dom::element s : p.parse(get_faults(early))["systems"].get_array()) {
    CHECK_FALSE(s["active"].get_bool().value());
    CHECK(s["alerts"].get_array().size() == 0);
    if (text(s["fault"]) == "shaded_panel") CHECK_FALSE(s["in_shadow"].get_bool().value());
    if (text(s["fault"]) != "none") ++faulty;
  }
  CHECK(faulty == 5);
  // Outside the API: no token needed, nothing charged against the rate limit.
  auto stats = early.client->Get("/sim/stats");
  REQUIRE(stats);
  CHECK(stats->body.find("\"requests_total\":0,") != std::string::npos);
}
