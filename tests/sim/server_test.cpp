// The simulator over real HTTP on a loopback port.
#include "sim/server.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>

#include "sim/model.hpp"
#include "sim/responses.hpp"
#include "sim_fixture.hpp"
#include "tigo/json_parse.hpp"
#include "util/time.hpp"

using namespace std::chrono;

using simtest::RunningSim;

TEST_CASE("login by basic auth answers a bearer token with expiry", "[sim]") {
  RunningSim sim;
  httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
  auto res = sim.client->Get("/api/v3/users/login", h);
  REQUIRE(res);
  CHECK(res->status == 200);
  auto login = tigo::parse_login(res->body);
  REQUIRE(login.ok());
  CHECK(login->token.size() > 40);
  REQUIRE(login->expires.has_value());
  const auto until = *login->expires - system_clock::now();
  CHECK(until > hours{23});
  CHECK(until < hours{25});
  CHECK(res->body.find("\"refresh_token\"") != std::string::npos);
  CHECK(res->get_header_value("X-Rate-Limit-Limit") == "100");
}

TEST_CASE("wrong password and missing token answer 401 with the document's body", "[sim]") {
  RunningSim sim;
  httplib::Headers bad{httplib::make_basic_authentication_header("demo", "nope")};
  auto res = sim.client->Get("/api/v3/users/login", bad);
  REQUIRE(res);
  CHECK(res->status == 401);
  auto err = tigo::parse_error(res->body);
  REQUIRE(err.ok());
  CHECK(err->status == 401);
  CHECK(err->name == "Unauthorized");
  auto no_token = sim.client->Get("/api/v3/systems");
  REQUIRE(no_token);
  CHECK(no_token->status == 401);
  CHECK(sim.get("/api/v3/systems", "made-up")->status == 401);
}

TEST_CASE("a logged-out token is refused", "[sim]") {
  RunningSim sim;
  const auto token = sim.login();
  CHECK(sim.get("/api/v3/systems", token)->status == 200);
  auto out = sim.get("/api/v3/users/logout", token);
  REQUIRE(out);
  CHECK(out->body == "{\"status\":200,\"message\":\"Logged out user\"}");
  CHECK(sim.get("/api/v3/systems", token)->status == 401);
}

TEST_CASE("systems list pages with the Yii2 _meta envelope, both URL forms", "[sim]") {
  RunningSim sim({}, 7);
  const auto token = sim.login();
  auto res = sim.get("/api/v3/systems?limit=3&page=3", token);
  REQUIRE(res);
  REQUIRE(res->status == 200);
  auto page = tigo::parse_systems(res->body);
  REQUIRE(page.ok());
  REQUIRE(page->meta.has_value());
  CHECK(page->meta->total_count == 7);
  CHECK(page->meta->page_count == 3);
  CHECK(page->meta->current_page == 3);
  REQUIRE(page->systems.size() == 1);
  CHECK(page->systems[0].system_id == 1007);
  auto all = tigo::parse_systems(sim.get("/api/v3/systems/list", token)->body);
  REQUIRE(all.ok());
  CHECK(all->systems.size() == 7);
  const auto& s = all->systems[0];
  CHECK(s.system_id == 1001);
  CHECK_FALSE(s.timezone.empty());
  CHECK(s.latitude.has_value());
  CHECK(s.power_rating_w > 0);
  CHECK(s.turn_on_date.has_value());
  CHECK(sim.get("/api/v3/systems?page=0", token)->status == 400);
}

TEST_CASE("summary is the model's value at the last whole minute", "[sim]") {
  RunningSim sim;
  const auto token = sim.login();
  const auto t = sim.clock.now();
  for (std::int64_t id : {1001, 1002, 1003}) {
    auto res = sim.get("/api/v3/data/summary?system_id=" + std::to_string(id), token);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    auto s = tigo::parse_summary(res->body);
    REQUIRE(s.ok());
    const auto spec = sim.fleet.system(static_cast<std::size_t>(id - 1001));
    const sim::PowerModel model(sim.fleet);
    // A gateway that stopped checking in freezes the summary at its last minute.
    const auto ctx = sim::make_context(sim.fleet, spec);
    auto at = sys_seconds{floor<minutes>(t)};
    if (ctx.fault.kind == sim::FaultKind::GatewayStall && ctx.fault.active(t))
      at = std::min(at, sys_seconds{floor<minutes>(ctx.fault.onset)});
    CHECK(s->last_power_w == Approx(model.system_power_w(spec, at)).margin(0.0006));
    CHECK(s->updated_on == at);
    CHECK(*s->lifetime_energy_wh >= *s->ytd_energy_wh);
    CHECK(*s->ytd_energy_wh >= *s->daily_energy_wh);
    CHECK(*s->lifetime_energy_wh > 1000);
  }
}

TEST_CASE("same seed and time give byte-identical bodies", "[sim]") {
  RunningSim a, b;
  const auto ta = a.login(), tb = b.login();
  for (const char* path : {"/api/v3/systems", "/api/v3/data/summary?system_id=1002"}) {
    CHECK(a.get(path, ta)->body == b.get(path, tb)->body);
  }
}

TEST_CASE("bad parameters: 400 names the parameter, unknown system 404", "[sim]") {
  RunningSim sim;
  const auto token = sim.login();
  auto missing = sim.get("/api/v3/data/summary", token);
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(missing->body.find("system_id") != std::string::npos);
  CHECK(sim.get("/api/v3/data/summary?system_id=abc", token)->status == 400);
  CHECK(sim.get("/api/v3/data/summary?system_id=99", token)->status == 404);
}

TEST_CASE("accounts without premium get 402 on data endpoints", "[sim]") {
  sim::ServerOptions o;
  o.accounts = *sim::parse_accounts("demo:demo,cheap:pw:basic");
  RunningSim sim(o);
  const auto token = sim.login("cheap", "pw");
  CHECK(sim.get("/api/v3/systems", token)->status == 200);
  CHECK(sim.get("/api/v3/data/summary?system_id=1001", token)->status == 402);
}

TEST_CASE("rate limit: headers on every answer, 429 with Retry-After past the budget", "[sim]") {
  sim::ServerOptions o;
  o.rate_limit = 5;
  RunningSim sim(o);
  const auto token = sim.login();  // 1 of 5
  for (int i = 2; i <= 5; ++i) {
    auto res = sim.get("/api/v3/systems", token);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("X-Rate-Limit-Remaining") == std::to_string(5 - i));
  }
  auto over = sim.get("/api/v3/systems", token);
  REQUIRE(over);
  CHECK(over->status == 429);
  const int reset = std::stoi(over->get_header_value("X-Rate-Limit-Reset"));
  CHECK(reset >= 1);
  CHECK(reset <= 60);
  CHECK(over->get_header_value("Retry-After") == over->get_header_value("X-Rate-Limit-Reset"));
}

TEST_CASE("login is GET only", "[sim]") {
  RunningSim sim;
  httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
  auto res = sim.client->Post("/api/v3/users/login", h, "", "application/json");
  REQUIRE(res);
  CHECK(res->status == 404);
}

TEST_CASE("accounts flag parsing", "[sim]") {
  auto a = sim::parse_accounts("u:p,v:q:r:basic");
  REQUIRE(a.ok());
  REQUIRE(a->size() == 2);
  CHECK((*a)[1].password == "q:r");
  CHECK_FALSE((*a)[1].premium);
  CHECK_FALSE(sim::parse_accounts("nopassword").ok());
}
