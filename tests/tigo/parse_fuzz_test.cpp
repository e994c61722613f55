// Deterministic mutation fuzzing of every parser: answers in the recorded shapes (tests/data) with
// bytes flipped, inserted, deleted and cut. Whatever the input: no crash, and an error names the
// endpoint.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "tigo/csv.hpp"
#include "tigo/json_parse.hpp"

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TIGO_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string mutate(std::string s, std::mt19937& rng) {
  static const std::string kAlphabet = "{}[],:\"0123456789.-+eE \n\r\t\\nulltruefalse/_";
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const std::size_t at = rng() % s.size();
    switch (rng() % 5) {
      case 0:
        s[at] = kAlphabet[rng() % kAlphabet.size()];
        break;
      case 1:
        s.insert(at, 1, kAlphabet[rng() % kAlphabet.size()]);
        break;
      case 2:
        s.erase(at, 1 + rng() % 8);
        break;
      case 3:
        s.resize(at);
        break;
      default:
        s[at] = static_cast<char>(rng() % 256);
        break;
    }
  }
  return s;
}

}  // namespace

TEST_CASE("mutated JSON answers never crash a parser", "[tigo][json][fuzz]") {
  struct Case {
    std::string endpoint;
    std::string file;
    std::function<std::optional<std::string>(std::string_view)> parse;  // error message
  };
  auto err = [](auto r) -> std::optional<std::string> {
    if (r.ok()) return std::nullopt;
    return r.error().message;
  };
  const std::vector<Case> cases = {
      {"users/login", "login.json", [&](auto b) { return err(tigo::parse_login(b)); }},
      {"users/get", "user.json", [&](auto b) { return err(tigo::parse_user(b)); }},
      {"systems", "systems.json", [&](auto b) { return err(tigo::parse_systems(b)); }},
      {"systems/layout", "layout.json", [&](auto b) { return err(tigo::parse_layout(b)); }},
      {"objects/system", "objects.json", [&](auto b) { return err(tigo::parse_objects(b)); }},
      {"objects/types", "object_types.json",
       [&](auto b) { return err(tigo::parse_object_types(b)); }},
      {"sources/system", "sources.json", [&](auto b) { return err(tigo::parse_sources(b)); }},
      {"alerts/system", "alerts.json", [&](auto b) { return err(tigo::parse_alerts(b)); }},
      {"alerts/types", "alert_types.json", [&](auto b) { return err(tigo::parse_alert_types(b)); }},
      {"data/summary", "summary.json", [&](auto b) { return err(tigo::parse_summary(b)); }},
  };
  std::mt19937 rng(20261123);
  for (const auto& c : cases) {
    const auto original = fixture(c.file);
    REQUIRE_FALSE(c.parse(original).has_value());
    int errors = 0;
    for (int i = 0; i < 2000; ++i) {
      const auto m = c.parse(mutate(original, rng));
      if (m) {
        ++errors;
        if (m->rfind(c.endpoint + ": ", 0) != 0) FAIL(c.endpoint << " said: " << *m);
      }
    }
    INFO(c.endpoint);
    CHECK(errors > 100);  // the mutations do break things
  }
}

TEST_CASE("mutated CSV answers never crash the reader", "[tigo][csv][fuzz]") {
  const std::vector<std::string> originals = {
      fixture("aggregate_header_id.csv"),
      fixture("aggregate_key_header_vin.csv"),
      "DATETIME, 1,2\r\n2016/08/16 08:00:00.000,1170, 35\r\n2016/08/16 08:01:00.000,1175, 36\r\n",
  };
  std::mt19937 rng(7);
  tigo::CsvOptions o;
  o.now = tigo::LocalTime{date::local_days{date::year{2026} / 4 / 1}.time_since_epoch()};
  o.keep_rows = true;
  std::size_t parsed = 0;
  for (const auto& original : originals) {
    for (int i = 0; i < 3000; ++i) {
      const auto body = mutate(original, rng);
      auto t = tigo::parse_csv(body, o, "data/aggregate");
      if (!t.ok()) {
        if (t.error().message.rfind("data/aggregate: ", 0) != 0) FAIL(t.error().message);
        continue;
      }
      ++parsed;
      if (t->rows.size() != t->accepted_rows) FAIL("rows kept differ from rows accepted");
      for (const auto& c : t->columns) {
        if (c.newest && !std::isfinite(c.newest->value)) FAIL("non-finite value kept");
      }
    }
  }
  CHECK(parsed > 1000);
}
