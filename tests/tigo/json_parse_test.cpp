#include "tigo/json_parse.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "util/time.hpp"

namespace {

std::string sample(const std::string& name) {
  std::ifstream in(std::string(TIGO_SAMPLES_DIR) + "/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("login answer of the real API (PyTigo sample)") {
  auto login =
      tigo::parse_login(sample("BlindBadgerStudios_PyTigo_tests_test_api_parsing_LOGIN_JSON.json"));
  REQUIRE(login.ok());
  CHECK(login->user_id == 7);
  CHECK(login->token == "token-abc");
  CHECK(login->user_type == "Basic");
  CHECK(login->expires == util::parse_iso8601("2026-09-30T04:18:00Z"));
}

TEST_CASE("login without a token is an error") {
  auto login = tigo::parse_login(R"({"user":{"user_id":1,"auth":null}})");
  REQUIRE_FALSE(login.ok());
  CHECK(login.error().message.find("auth") != std::string::npos);
}

TEST_CASE("systems list with numbers as strings, nulls and extra fields") {
  auto page = tigo::parse_systems(
      sample("BlindBadgerStudios_PyTigo_tests_test_api_parsing_SYSTEMS_JSON.json"));
  REQUIRE(page.ok());
  REQUIRE(page->systems.size() == 1);
  const auto& s = page->systems[0];
  CHECK(s.system_id == 424242);
  CHECK(s.name == "Example Site");
  CHECK(s.external_id.empty());
  CHECK(s.latitude == Approx(35.0));
  CHECK(s.longitude == Approx(-100.0));
  CHECK(s.timezone == "America/Chicago");
  CHECK(s.power_rating_w == Approx(12000));
  CHECK(s.turn_on_date == util::parse_iso8601("2024-09-24"));
  CHECK_FALSE(page->meta.has_value());
}

TEST_CASE("systems paging envelope as the live API sends it") {
  auto page = tigo::parse_systems(
      R"({"systems":[{"system_id":1,"name":"A","zip":12345}],"_meta":{"totalCount":51,"pageCount":2,"currentPage":1,"perPage":50}})");
  REQUIRE(page.ok());
  REQUIRE(page->meta.has_value());
  CHECK(page->meta->page_count == 2);
  CHECK(page->meta->total_count == 51);
  CHECK(page->systems[0].zip == "12345");
}

TEST_CASE("summary of the real API (PyTigo sample)") {
  auto s = tigo::parse_summary(
      sample("BlindBadgerStudios_PyTigo_tests_test_api_parsing_SUMMARY_JSON.json"));
  REQUIRE(s.ok());
  CHECK(s->lifetime_energy_wh == Approx(40918712.12));
  CHECK(s->ytd_energy_wh == Approx(4114728.35));
  CHECK(s->daily_energy_wh == Approx(105885.47));
  CHECK(s->last_power_w == Approx(1));
  CHECK(s->updated_on == util::parse_iso8601("2026-04-01T02:28:00Z"));
}

TEST_CASE("summary with null fields keeps them missing, not zero") {
  auto s = tigo::parse_summary(R"({"summary":{"lifetime_energy_dc":"12.5","last_power_dc":null}})");
  REQUIRE(s.ok());
  CHECK(s->lifetime_energy_wh == Approx(12.5));
  CHECK_FALSE(s->last_power_w.has_value());
  CHECK_FALSE(s->daily_energy_wh.has_value());
}

TEST_CASE("the document's error body") {
  auto e = tigo::parse_error(sample("tigo-rest-api-v3-pdf_error-401.json"));
  REQUIRE(e.ok());
  CHECK(e->status == 401);
  CHECK(e->name == "Unauthorized");
}

TEST_CASE("malformed answers fail with a message naming the endpoint") {
  for (const char* bad : {"", "{", "[]", "{\"summary\":[]}", "<html>502</html>", "{\"summary\":"}) {
    INFO(bad);
    auto s = tigo::parse_summary(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.rfind("data/summary", 0) == 0);
  }
  auto sys = tigo::parse_systems(R"({"systems":[{"name":"no id"}]})");
  REQUIRE_FALSE(sys.ok());
  CHECK(sys.error().message.find("system_id") != std::string::npos);
}
