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

TEST_CASE("answer_raw answers a request from memory as over a socket", "[sim]") {
  RunningSim sim({}, 3);
  const auto token = sim.login();
  auto res = sim.get("/api/v3/systems?limit=2", token);
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const std::string raw = sim.server.answer_raw(
      "GET /api/v3/systems?limit=2 HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer " + token +
      "\r\n\r\n");
  CHECK(raw.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(raw.ends_with("\r\n\r\n" + res->body));
  CHECK(sim.server.answer_raw("GET /api/v3/systems HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 401"));
  CHECK(sim.server.answer_raw("garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
}

TEST_CASE("a page far past the end is empty, whatever its number (found by fuzz_sim_query)",
          "[sim]") {
  RunningSim sim({}, 3);
  const auto token = sim.login();
  // (page - 1) * limit overflowed int64 for pages like these (UB; the paging of every list).
  for (const std::string query :
       {"systems?page=8179300070273843182&limit=2", "systems?page=9223372036854775807&limit=1000",
        "systems?page=4611686018427387905&limit=2&sort=-name",
        "alerts/system?system_id=1001&page=9223372036854775807&limit=1000"}) {
    INFO(query);
    auto res = sim.get("/api/v3/" + query, token);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.find("[]") != std::string::npos);
  }
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

TEST_CASE("accounts flag: systems= gives an account the only systems it sees", "[sim]") {
  auto a =
      sim::parse_accounts("u:p:systems=1001+1003,v:q:r:basic:systems=1002,w:x:systems=2:basic");
  REQUIRE(a.ok());
  REQUIRE(a->size() == 3);
  CHECK((*a)[0].password == "p");
  CHECK((*a)[0].premium);
  CHECK((*a)[0].systems == std::vector<std::int64_t>{1001, 1003});
  CHECK((*a)[1].password == "q:r");
  CHECK_FALSE((*a)[1].premium);
  CHECK((*a)[1].systems == std::vector<std::int64_t>{1002});
  CHECK((*a)[2].password == "x");
  CHECK_FALSE((*a)[2].premium);
  CHECK((*a)[2].systems == std::vector<std::int64_t>{2});
  CHECK(sim::parse_accounts("u:p").value()[0].systems.empty());
  for (const char* bad : {"u:p:systems=", "u:p:systems=x", "u:p:systems=1001++1002",
                          "u:p:systems=1001+-2", "u:p:systems=1001,1002"}) {
    INFO(bad);
    auto r = sim::parse_accounts(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("systems=") != std::string::npos);
  }

  // Over HTTP: the other systems answer 403 in every form, the list holds only its own.
  sim::ServerOptions o;
  o.accounts = *sim::parse_accounts("demo:demo,own:pw:systems=1003+1001");
  RunningSim sim(o, 4);
  const auto token = sim.login("own", "pw");
  auto list = tigo::parse_systems(sim.get("/api/v3/systems", token)->body);
  REQUIRE(list.ok());
  REQUIRE(list->systems.size() == 2);
  CHECK(list->systems[0].system_id == 1001);
  CHECK(list->systems[1].system_id == 1003);
  for (const char* path : {"systems/1002", "systems/view?id=1002", "systems/layout?id=1002",
                           "data/summary?system_id=1002", "alerts/system?system_id=1002"}) {
    INFO(path);
    auto res = sim.get(std::string("/api/v3/") + path, token);
    REQUIRE(res);
    CHECK(res->status == 403);
    auto err = tigo::parse_error(res->body);
    REQUIRE(err.ok());
    CHECK(err->status == 403);
  }
  CHECK(sim.get("/api/v3/data/summary?system_id=1003", token)->status == 200);
  CHECK(sim.get("/api/v3/data/summary?system_id=1002", sim.login())->status == 200);
}

TEST_CASE("X-System-Config-Update on every answer naming a system the caller sees", "[sim]") {
  const auto now = simtest::at_utc(2026, 6, 21, 18);
  sim::ServerOptions o;
  o.accounts = *sim::parse_accounts("demo:demo,own:pw:systems=1001+1002");
  RunningSim sim(o, 3, now);
  const auto spec = sim.fleet.system(1);
  const auto want = sim::api_time(spec.config_updated, spec.timezone, sim::Quirks{});
  const auto at = util::parse_iso8601(want);
  REQUIRE(at.has_value());
  CHECK(*at > sys_seconds{spec.turn_on});
  CHECK(*at < now);
  CHECK(want.size() == 25);  // 2025-03-04T10:21:33-08:00
  for (const std::string path :
       {"systems/1002", "systems/view?id=1002", "systems/view?id=1002&include=panels",
        "systems/layout?id=1002", "objects/system?system_id=1002", "sources/system?system_id=1002",
        "data/summary?system_id=1002", "alerts/system?system_id=1002",
        "data/aggregate?system_id=1002&start=2026-06-21T10:00:00&end=2026-06-21T10:10:00",
        "data/combined?system_id=1002&level=day",
        // Still a system the caller sees: the 400 names another parameter.
        "data/aggregate?system_id=1002&start=yesterday&end=2026-06-21T10:10:00"}) {
    INFO(path);
    const auto res = sim.call(path);
    CHECK(res.get_header_value("X-System-Config-Update") == want);
  }
  // Systems differ; none for answers naming no system or one the caller may not see.
  const auto other = sim.call("systems/1001").get_header_value("X-System-Config-Update");
  CHECK_FALSE(other.empty());
  CHECK(other != want);
  for (const std::string path : {"systems", "objects/types", "users/1", "alerts/types",
                                 "systems/1009", "data/summary?system_id=1009"}) {
    INFO(path);
    CHECK_FALSE(sim.call(path).has_header("X-System-Config-Update"));
  }
  const auto own = sim.login("own", "pw");
  CHECK_FALSE(sim.get("/api/v3/systems/1003", own)->has_header("X-System-Config-Update"));
  CHECK(sim.get("/api/v3/systems/1002", own)->get_header_value("X-System-Config-Update") == want);

  // Never after the simulated now: a clock before the last change shows the clock.
  RunningSim early(o, 3, *at - hours{1});
  CHECK(early.call("systems/1002").get_header_value("X-System-Config-Update") ==
        sim::api_time(*at - hours{1}, spec.timezone, sim::Quirks{}));
}

TEST_CASE("POST login is GET login: same session cap, same user type", "[sim]") {
  sim::ServerOptions o;
  o.quirks.get_only_login = false;
  o.max_sessions = 3;
  o.accounts = *sim::parse_accounts("demo:demo,cheap:pw:basic");
  RunningSim sim(o);
  auto post_login = [&](const std::string& user, const std::string& pw) {
    httplib::Headers h{httplib::make_basic_authentication_header(user, pw)};
    auto res = sim.client->Post("/api/v3/users/login", h, "", "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    auto login = tigo::parse_login(res->body);
    REQUIRE(login.ok());
    return *login;
  };
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) tokens.push_back(post_login("demo", "demo").token);
  CHECK(sim.get("/api/v3/systems", tokens[0])->status == 401);  // forgotten past the cap
  CHECK(sim.get("/api/v3/systems", tokens[1])->status == 401);
  for (int i = 2; i < 5; ++i) CHECK(sim.get("/api/v3/systems", tokens[i])->status == 200);
  CHECK(post_login("demo", "demo").user_type == "Installer");
  CHECK(post_login("cheap", "pw").user_type == "Basic");
}

TEST_CASE("a POST without Content-Length answers at once, like the rest of the API", "[sim]") {
  const std::string request =
      "POST /api/v3/users/login HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic "
      "ZGVtbzpkZW1v\r\nConnection: close\r\n\r\n";
  SECTION("login") {
    sim::ServerOptions o;
    o.quirks.get_only_login = false;
    RunningSim sim(o);
    const auto t0 = steady_clock::now();
    const auto answer = sim.raw(request);
    CHECK(steady_clock::now() - t0 < seconds{2});  // not after the read timeout
    INFO(answer);
    CHECK(answer.rfind("HTTP/1.1 200 ", 0) == 0);
    CHECK(answer.find("X-Rate-Limit-Limit: 100\r\n") != std::string::npos);
    auto login = tigo::parse_login(answer.substr(answer.find("\r\n\r\n") + 4));
    REQUIRE(login.ok());
    CHECK(sim.get("/api/v3/systems", login->token)->status == 200);
  }
  SECTION("login is GET only, or any other path") {
    RunningSim sim;
    const std::string other =
        "DELETE /api/v3/systems HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (const std::string& r : {request, other}) {
      const auto t0 = steady_clock::now();
      const auto answer = sim.raw(r);
      CHECK(steady_clock::now() - t0 < seconds{2});
      INFO(answer);
      CHECK(answer.rfind("HTTP/1.1 404 ", 0) == 0);
      CHECK(answer.find("X-Rate-Limit-Limit: 100\r\n") != std::string::npos);
      auto err = tigo::parse_error(answer.substr(answer.find("\r\n\r\n") + 4));
      REQUIRE(err.ok());
      CHECK(err->status == 404);
    }
  }
}
