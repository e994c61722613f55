// The simulator's answers against the fixtures in the real API's recorded shapes (tests/data,
// README.md there names the recording each one reproduces): every field of a sample is in the
// simulator's answer with the same JSON type, recursively. The simulator may add fields (clients
// must ignore unknown ones); JSON has one number type, so integer and fraction are the same type.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/model.hpp"
#include "sim_fixture.hpp"

using namespace simtest;
using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TIGO_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fields the simulator may send as null where a sample has a value (the `nulls` quirk: "optional
// fields null", docs/SIMULATOR.md). A null in a sample only says the field is optional, so any
// value of the simulator's matches it.
const std::set<std::string> kNullable = {"external_id", "power_rating_ac", "decommissioned",
                                         "street2",     "avatar",          "datasource"};

const char* type_name(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "bool";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "?";
}

// Where the simulator's answer departs from the sample's shape, one line each.
void compare(element want, element got, const std::string& path, const std::string& key,
             std::vector<std::string>& out) {
  const std::string w = type_name(want.type()), g = type_name(got.type());
  if (w == "null") return;
  if (g == "null" && kNullable.count(key)) return;
  if (w != g) {
    out.push_back(path + ": sample has " + w + ", simulator " + g);
    return;
  }
  if (w == "object") {
    for (auto [k, v] : want.get_object()) {
      element mine;
      const std::string name(k);
      if (got[k].get(mine) != simdjson::SUCCESS) {
        out.push_back(path + "." + name + ": missing in the simulator");
        continue;
      }
      compare(v, mine, path + "." + name, name, out);
    }
  } else if (w == "array") {
    // Each element of the sample against the simulator's element most like it: lists mix
    // shapes (the System object and a Panel object in objects/system).
    std::size_t i = 0;
    for (element v : want.get_array()) {
      std::vector<std::string> best;
      bool found = false;
      for (element mine : got.get_array()) {
        std::vector<std::string> diff;
        compare(v, mine, path + "[" + std::to_string(i) + "]", key, diff);
        if (!found || diff.size() < best.size()) best = std::move(diff);
        found = true;
        if (best.empty()) break;
      }
      if (!found) out.push_back(path + ": empty in the simulator, the sample has elements");
      out.insert(out.end(), best.begin(), best.end());
      ++i;
    }
  }
}

std::vector<std::string> differences(const std::string& want_text, const std::string& answer) {
  simdjson::dom::parser p1, p2;
  element want, got;
  REQUIRE(p1.parse(want_text).get(want) == simdjson::SUCCESS);
  INFO("simulator: " << answer.substr(0, 2000));
  REQUIRE(p2.parse(answer).get(got) == simdjson::SUCCESS);
  std::vector<std::string> diff;
  compare(want, got, "$", "", diff);
  return diff;
}

void check_like(const std::string& sample_name, const std::string& answer) {
  INFO(sample_name);
  const auto diff = differences(fixture(sample_name), answer);
  std::string all;
  for (const auto& d : diff) all += d + "\n";
  INFO(all);
  CHECK(diff.empty());
}

}  // namespace

TEST_CASE("the simulator's answers have every field of the recorded shapes, same JSON types",
          "[sim]") {
  // Quirks on (the default): the fixtures have the real API's shapes. A fleet with a system of
  // every planted fault, at a time when they have raised alerts.
  RunningSim sim({}, 10, at_utc(2026, 6, 21, 18));
  // A system with the inverter level (the layout fixture has one) and with alerts.
  std::string id;
  for (std::size_t i = 0; i < sim.fleet.size() && id.empty(); ++i) {
    const auto c = sim::make_context(sim.fleet, sim.fleet.system(i));
    const auto text = std::to_string(c.spec.system_id);
    const auto body = sim.ok("alerts/system?system_id=" + text);
    if (c.topo.has_inverters && body.find("\"alert_id\"") != std::string::npos) id = text;
  }
  REQUIRE_FALSE(id.empty());

  httplib::Headers basic{httplib::make_basic_authentication_header("demo", "demo")};
  auto login = sim.client->Get("/api/v3/users/login", basic);
  REQUIRE(login);
  check_like("login.json", login->body);
  check_like("user.json", sim.ok("users/1"));
  check_like("systems.json", sim.ok("systems"));
  check_like("layout.json", sim.ok("systems/layout?id=" + id));
  check_like("objects.json", sim.ok("objects/system?system_id=" + id));
  check_like("object_types.json", sim.ok("objects/types"));
  check_like("sources.json", sim.ok("sources/system?system_id=" + id));
  check_like("sources_subset.json", sim.ok("sources/system?system_id=" + id));
  check_like("summary.json", sim.ok("data/summary?system_id=" + id));
  check_like("alerts.json", sim.ok("alerts/system?system_id=" + id));
  check_like("alerts_empty_page.json", sim.ok("alerts/system?system_id=" + id));
  check_like("alert_types.json", sim.ok("alerts/types"));
  check_like("alert_types_no_description.json", sim.ok("alerts/types"));
  // The document's own error example (not a live answer, but the shape every error shares).
  check_like("error_401.json", sim.get("/api/v3/systems", "made-up")->body);
  // Last: it ends the session. (alert-subs/list is undocumented: the simulator does not serve it.)
  check_like("logout.json", sim.ok("users/logout"));
}

TEST_CASE("the sample shape comparison finds missing fields and type changes at any depth",
          "[sim]") {
  const std::string want = R"({"a":1,"b":"x","c":null,"d":[{"e":true},{"f":[1.5],"g":{}}]})";
  CHECK(differences(want, R"({"a":2.5,"b":"y","c":{},"d":[{"f":[2],"g":{}},{"e":false}],"z":0})")
            .empty());
  CHECK(differences(want, R"({"a":"1","b":"y","c":1,"d":[{"e":true},{"f":[1],"g":{}}]})") ==
        std::vector<std::string>{"$.a: sample has number, simulator string"});
  CHECK(differences(want, R"({"a":1,"d":[{"e":true},{"f":["1"],"g":{}}]})") ==
        std::vector<std::string>{"$.b: missing in the simulator", "$.c: missing in the simulator",
                                 "$.d[1].f[0]: sample has number, simulator string"});
  CHECK(differences(want, R"({"a":1,"b":"x","c":null,"d":[]})") ==
        std::vector<std::string>{"$.d: empty in the simulator, the sample has elements",
                                 "$.d: empty in the simulator, the sample has elements"});
  CHECK(differences(R"({"external_id":"E","name":"n"})", R"({"external_id":null,"name":null})") ==
        std::vector<std::string>{"$.name: sample has string, simulator null"});
}

TEST_CASE("without the real API's quirks the systems list departs from the recorded shape",
          "[sim]") {
  RunningSim sim(plain());
  const auto diff = differences(fixture("systems.json"), sim.ok("systems"));
  CHECK(std::find(diff.begin(), diff.end(),
                  "$.systems[0].latitude: sample has string, simulator number") != diff.end());
}
