// The CCA's local API (--cca-listen): shapes as public clients read them, values from the same
// model as the cloud without its upload lag, energy rows, and the lock and password (401).
// Real HTTP on 127.0.0.1.
#include "sim/cca.hpp"

#include <date/tz.h>
#include <httplib.h>
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "sim_fixture.hpp"
#include "util/time.hpp"

using namespace simtest;

namespace {

// The cloud simulator with one system's CCA beside it, on the same fleet and clock.
struct CcaSim {
  RunningSim sim;
  sim::CcaServer cca;
  std::unique_ptr<httplib::Client> client;
  CcaSim(sim::CcaOptions options, sys_seconds at, int systems = 3)
      : sim(plain(), systems, at), cca(sim.fleet, sim.clock, with_port0(std::move(options))) {
    REQUIRE(cca.bind().ok());
    cca.start();
    client = std::make_unique<httplib::Client>(cca.base_url());
    client->set_read_timeout(20);
  }
  static sim::CcaOptions with_port0(sim::CcaOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
    return client->Get(path, headers);
  }
  std::string ok(const std::string& path, const httplib::Headers& headers = {}) {
    auto res = get(path, headers);
    REQUIRE(res);
    INFO(path << " -> " << res->status << " " << res->body.substr(0, 300));
    REQUIRE(res->status == 200);
    CHECK(res->get_header_value("Content-Type").rfind("application/json", 0) == 0);
    return res->body;
  }
};

std::string text(simdjson::dom::element e) { return std::string(std::string_view(e)); }

const std::vector<std::string> kEndpoints = {"/cgi-bin/summary_config", "/cgi-bin/summary_jsconfig",
                                             "/cgi-bin/summary_data?date=2026-06-21",
                                             "/cgi-bin/summary_energy"};

}  // namespace

TEST_CASE("CCA summary_config: system, inverters and strings with panel labels, as the layout",
          "[sim][cca]") {
  const auto at = at_utc(2026, 6, 21, 18);
  for (const std::int64_t system : {1001, 1002, 1004}) {
    sim::CcaOptions o;
    o.system_id = system;
    CcaSim c(o, at, 4);
    const auto body = c.ok("/cgi-bin/summary_config");
    simdjson::dom::parser p;
    std::map<std::string, simdjson::dom::element> by_id;
    std::vector<std::string> string_ids;
    for (auto n : p.parse(body).get_array()) {
      by_id[text(n["id"])] = n;
      if (n["type"].get_int64().value() == 3) string_ids.push_back(text(n["id"]));
    }
    const auto& root = by_id.at(std::to_string(system));
    CHECK(root["type"].get_int64().value() == 1);
    CHECK(text(root["label"]) == c.sim.fleet.system(static_cast<std::size_t>(system - 1001)).name);
    // Every string is reached from the root, through an inverter when the system has them.
    std::vector<std::string> reached;
    for (auto child : root["children"].get_array()) {
      const auto& n = by_id.at(text(child));
      if (n["type"].get_int64().value() == 3) {
        reached.push_back(text(child));
        continue;
      }
      CHECK(n["type"].get_int64().value() == 4);
      for (auto s : n["children"].get_array()) reached.push_back(text(s));
    }
    CHECK(reached == string_ids);
    // The layout's strings and panel labels, in order.
    std::map<std::string, std::vector<std::string>> labels;  // string object id -> panels
    for (const auto& panel : layout_panels(c.sim.ok("systems/layout?id=" + std::to_string(system))))
      labels[std::to_string(panel.string_object_id)].push_back(panel.label);
    REQUIRE(labels.size() == string_ids.size());
    for (const auto& id : string_ids) {
      std::vector<std::string> children;
      for (auto l : by_id.at(id)["children"].get_array()) children.push_back(text(l));
      CHECK(children == labels.at(id));
      CHECK(text(by_id.at(id)["label"]).rfind("String ", 0) == 0);
    }
  }
}

TEST_CASE("CCA summary_data: the cloud's minutes, in local time, without the upload lag",
          "[sim][cca]") {
  const auto at = at_utc(2026, 6, 21, 18, 30);
  sim::CcaOptions o;
  o.system_id = 1004;  // Sao Paulo, healthy: mid-afternoon
  CcaSim c(o, at, 4);
  const auto* zone = date::locate_zone(c.sim.fleet.system(3).timezone);
  const auto today = date::format("%F", zone->to_local(at));
  CHECK(c.ok("/cgi-bin/summary_jsconfig") == "{\"sDate\":\"" + today + "\"}");

  std::map<std::string, std::string> bodies;
  for (const char* temp : {"pin", "vin", "rssi"})
    bodies[temp] = c.ok("/cgi-bin/summary_data?date=" + today + "&temp=" + temp);
  CHECK(c.ok("/cgi-bin/summary_data?date=" + today) == bodies["pin"]);
  CHECK(c.ok("/cgi-bin/summary_data?date=" + today + "&temp=iin") == bodies["pin"]);
  // The newest minute is the last whole one: the cloud has nothing that recent yet.
  simdjson::dom::parser p;
  const auto pin = p.parse(bodies["pin"]);
  CHECK(text(pin["lastData"]) == date::format("%F %T", zone->to_local(at)) + ".000");
  auto segments = pin["dataset"].get_array();
  REQUIRE(segments.size() == 1);
  auto rows = segments.at(0)["data"].get_array();
  REQUIRE(rows.size() > 60);
  const auto newest = text(rows.at(rows.size() - 1)["t"]);
  CHECK(newest == date::format("%R", zone->to_local(at - minutes{1})));
  const auto sources = c.sim.ok("sources/system?system_id=1004");
  simdjson::dom::parser sp;
  const auto last_min =
      util::parse_iso8601(text(sp.parse(sources)["sources"].at(0)["sets"].at(0)["last_min"]));
  REQUIRE(last_min);
  CHECK(*last_min < at - minutes{10});

  // An hour before, as the cloud serves it two hours later.
  const auto minute = at - hours{1};
  const auto hhmm = date::format("%R", zone->to_local(minute));
  std::map<std::string, std::map<std::string, double>> cca;  // temp -> label -> value
  for (const auto& [temp, body] : bodies) {
    simdjson::dom::parser bp;
    const auto segment = bp.parse(body)["dataset"].at(0);
    std::vector<std::string> order;
    for (auto l : segment["order"].get_array()) order.push_back(text(l));
    CHECK(order.size() == 24);
    for (auto row : segment["data"].get_array()) {
      if (text(row["t"]) != hhmm) continue;
      auto d = row["d"].get_array();
      REQUIRE(d.size() == order.size());
      for (std::size_t i = 0; i < order.size(); ++i)
        cca[temp][order[i]] = static_cast<double>(d.at(i).get_int64().value());
    }
  }
  REQUIRE(cca["pin"].size() == 24);
  c.sim.clock.set(at + hours{1});
  const auto window = "&start=" + site(zone, minute) + "&end=" + site(zone, minute + minutes{1}) +
                      "&level=min&header=key&sensors=false";
  for (const auto& [param, temp, scale, tolerance] :
       std::vector<std::tuple<std::string, std::string, double, double>>{
           {"Pin", "pin", 1.0, 0.5}, {"Vin", "vin", 10.0, 1e-9}, {"RSSI", "rssi", 1.0, 0}}) {
    const auto csv = parse_csv(c.sim.ok("data/aggregate?system_id=1004&param=" + param + window));
    REQUIRE(!csv.rows.empty());
    REQUIRE(csv.rows[0][0].find(hhmm) != std::string::npos);
    for (std::size_t col = 1; col < csv.header.size(); ++col) {
      // "04C05B....panels.A1_Pin" -> "A1"
      const auto& key = csv.header[col];
      const auto dot = key.rfind('.');
      const auto label = key.substr(dot + 1, key.rfind('_') - dot - 1);
      INFO(param << " " << label << " cloud " << csv.rows[0][col]);
      CHECK(std::abs(cca[temp].at(label) - std::stod(csv.rows[0][col]) * scale) <= tolerance);
    }
  }
}

TEST_CASE("CCA summary_energy: 12 days of Wh, today's as the cloud's summary", "[sim][cca]") {
  const auto at = at_utc(2026, 6, 21, 22, 15);  // after sunset in Sao Paulo
  sim::CcaOptions o;
  o.system_id = 1004;
  CcaSim c(o, at, 4);
  simdjson::dom::parser p;
  auto rows = p.parse(c.ok("/cgi-bin/summary_energy")).get_array();
  REQUIRE(rows.size() == 12);
  const auto* zone = date::locate_zone(c.sim.fleet.system(3).timezone);
  const auto today = date::floor<date::days>(zone->to_local(at));
  for (std::size_t i = 0; i < 12; ++i) {
    CHECK(text(rows.at(i).at(0)) ==
          date::format("%F", today - date::days{11 - static_cast<int>(i)}));
    CHECK(rows.at(i).at(1).get_int64().value() > 1000);  // even a winter day
  }
  simdjson::dom::parser sp;
  const double daily =
      sp.parse(c.sim.ok("data/summary?system_id=1004"))["summary"]["daily_energy_dc"].get_double();
  CHECK(std::abs(static_cast<double>(rows.at(11).at(1).get_int64().value()) - daily) <= 0.51);
}

TEST_CASE("CCA: a dead optimizer leaves the order, starting a new dataset segment", "[sim][cca]") {
  const sim::Fleet fleet({1, 10, 24, {}});
  sim::SystemContext dead;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    auto ctx = sim::make_context(fleet, fleet.system(i));
    if (ctx.fault.kind == sim::FaultKind::DeadOptimizer) dead = ctx;
  }
  REQUIRE(dead.fault.kind == sim::FaultKind::DeadOptimizer);
  // The onset's day when it came in daylight (the day splits), else the next (dead all day).
  const bool lit_at_onset = sim::plane_irradiance_w_m2(dead.spec, dead.fault.onset) > 0;
  const auto day = date::floor<date::days>(dead.zone->to_local(dead.fault.onset)) +
                   date::days{lit_at_onset ? 0 : 1};
  sim::CcaOptions o;
  o.system_id = dead.spec.system_id;
  CcaSim c(o, sim::midnight_in(dead.spec.timezone, day + date::days{1}), 10);
  const auto label = dead.topo.panels[static_cast<std::size_t>(dead.fault.panel)].label;
  simdjson::dom::parser p;
  auto segments =
      p.parse(c.ok("/cgi-bin/summary_data?date=" + date::format("%F", day)))["dataset"].get_array();
  INFO("onset " << util::format_iso8601_utc(dead.fault.onset) << " lit " << lit_at_onset);
  REQUIRE(segments.size() == (lit_at_onset ? 2u : 1u));
  const auto order = [&](std::size_t i) {
    std::vector<std::string> out;
    for (auto l : segments.at(i)["order"].get_array()) out.push_back(text(l));
    return out;
  };
  if (lit_at_onset) {
    const auto first = order(0);
    CHECK(first.size() == 24);
    CHECK(std::find(first.begin(), first.end(), label) != first.end());
  }
  const auto last = order(segments.size() - 1);
  CHECK(last.size() == 23);
  CHECK(std::find(last.begin(), last.end(), label) == last.end());
}

TEST_CASE("CCA: password and lock answer 401 as firmware 4.0.4 does, a bad date 400",
          "[sim][cca]") {
  const auto at = at_utc(2026, 6, 21, 18);
  const httplib::Headers right{httplib::make_basic_authentication_header("Tigo", "s3cret")};
  const httplib::Headers wrong{httplib::make_basic_authentication_header("Tigo", "$olar")};
  const httplib::Headers other{httplib::make_basic_authentication_header("admin", "s3cret")};
  SECTION("with a password") {
    sim::CcaOptions o;
    o.password = "s3cret";
    CcaSim c(o, at);
    for (const auto& path : kEndpoints) {
      INFO(path);
      for (const auto* headers : {static_cast<const httplib::Headers*>(nullptr), &wrong, &other}) {
        auto res = headers ? c.get(path, *headers) : c.get(path);
        REQUIRE(res);
        CHECK(res->status == 401);
        CHECK(res->get_header_value("WWW-Authenticate").rfind("Basic", 0) == 0);
        CHECK(res->body.find("s3cret") == std::string::npos);
      }
      c.ok(path, right);
    }
    auto bad = c.get("/cgi-bin/summary_data?date=2026-13-01", right);
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(c.ok("/cgi-bin/summary_data?date=2026-06-21&temp=bogus", right).find("\"dataset\":[]") !=
          std::string::npos);
  }
  SECTION("locked") {
    sim::CcaOptions o;
    o.password = "s3cret";
    o.locked = true;
    CcaSim c(o, at);
    for (const auto& path : kEndpoints) {
      auto res = c.get(path, right);
      REQUIRE(res);
      CHECK(res->status == 401);
    }
  }
  SECTION("without a password, open") {
    CcaSim c(sim::CcaOptions{}, at);
    for (const auto& path : kEndpoints) c.ok(path);
  }
}
