// Injected faults (--faults), their counters in /sim/stats, quirks switches, auth and rate limit.
#include "sim/chaos.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <catch2/catch.hpp>
#include <thread>

#include "sim/model.hpp"
#include "sim/quirks.hpp"
#include "sim_fixture.hpp"
#include "util/time.hpp"

using namespace simtest;

namespace {

sim::ServerOptions with_faults(const char* text) {
  sim::ServerOptions o;
  auto f = sim::parse_faults(text);
  REQUIRE(f.ok());
  o.faults = *f;
  o.rate_limit = 100000;
  return o;
}

std::int64_t stat(RunningSim& sim, const char* section, const std::string& key,
                  const std::string& sub = "") {
  auto res = sim.client->Get("/sim/stats");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  simdjson::dom::parser p;
  simdjson::dom::element e = p.parse(res->body)[section];
  if (!key.empty()) e = e[key];
  if (!sub.empty()) e = e[sub];
  std::int64_t v = 0;
  REQUIRE(e.get_int64().get(v) == simdjson::SUCCESS);
  return v;
}

}  // namespace

TEST_CASE("fault option parsing", "[sim]") {
  auto f = sim::parse_faults(
      "error_rate=0.05,latency=200ms,malformed=0.01,truncated=0.02,"
      "drop_connection=0.03,expired_token=0.04,burst_429=0.5");
  REQUIRE(f.ok());
  CHECK(f->error_rate == 0.05);
  CHECK(f->latency == std::chrono::milliseconds{200});
  CHECK(f->truncated == 0.02);
  CHECK(f->burst_429 == 0.5);
  CHECK_FALSE(f->any() == false);
  CHECK_FALSE(sim::parse_faults("none").value().any());
  CHECK_FALSE(sim::parse_faults("error_rate=2").ok());
  CHECK_FALSE(sim::parse_faults("gremlins=0.1").ok());
  CHECK_FALSE(sim::parse_faults("latency=soon").ok());
}

TEST_CASE("error_rate answers 5xx and each is counted", "[sim]") {
  RunningSim sim(with_faults("error_rate=1"));
  std::string token;
  {
    // Login itself fails with a 5xx under error_rate=1.
    httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
    auto res = sim.client->Get("/api/v3/users/login", h);
    REQUIRE(res);
    CHECK(res->status >= 500);
    CHECK_FALSE(res->get_header_value("X-Rate-Limit-Limit").empty());
  }
  CHECK(stat(sim, "faults", "error_rate") == 1);
  CHECK(stat(sim, "faults_total", "") == 1);
}

TEST_CASE("error_rate at 0.3 hits about 30 percent, counted exactly", "[sim]") {
  RunningSim sim(with_faults("error_rate=0.3"));
  httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
  std::string token;
  for (int i = 0; i < 20 && token.empty(); ++i) {
    auto res = sim.client->Get("/api/v3/users/login", h);
    if (res && res->status == 200) {
      simdjson::dom::parser p;
      token = std::string(std::string_view(p.parse(res->body)["user"]["auth"]));
    }
  }
  REQUIRE_FALSE(token.empty());
  const auto before = stat(sim, "faults", "error_rate");
  int errors = 0;
  for (int i = 0; i < 200; ++i) {
    auto res = sim.get("/api/v3/objects/types", token);
    REQUIRE(res);
    if (res->status >= 500) ++errors;
  }
  CHECK(errors > 30);
  CHECK(errors < 90);
  CHECK(stat(sim, "faults", "error_rate") - before == errors);
  CHECK(stat(sim, "requests", "objects/types", "200") == 200 - errors);
}

TEST_CASE("malformed, truncated and dropped answers break the client and are counted", "[sim]") {
  SECTION("malformed") {
    RunningSim bad(with_faults("malformed=1"));
    httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
    auto res = bad.client->Get("/api/v3/users/login", h);
    REQUIRE(res);
    CHECK(res->status == 200);
    simdjson::dom::parser p;
    simdjson::dom::element e;
    CHECK(p.parse(res->body).get(e) != simdjson::SUCCESS);
    CHECK(stat(bad, "faults", "malformed") == 1);
  }
  SECTION("truncated") {
    RunningSim sim(with_faults("truncated=1"));
    httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
    auto res = sim.client->Get("/api/v3/users/login", h);
    CHECK((!res || res->body.find("user_agreement") == std::string::npos));
    CHECK(stat(sim, "faults", "truncated") == 1);
  }
  SECTION("dropped") {
    RunningSim sim(with_faults("drop_connection=1"));
    httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
    auto res = sim.client->Get("/api/v3/users/login", h);
    CHECK_FALSE(res);  // no status line at all
    CHECK(stat(sim, "faults", "drop_connection") == 1);
    // Not a byte of the answer: the connection closes before the status line.
    CHECK(sim.raw("GET /api/v3/users/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Authorization: Basic ZGVtbzpkZW1v\r\n\r\n") == "");
    CHECK(stat(sim, "faults", "drop_connection") == 2);
    // Counted as answered with nothing (status 0), never as the 200 that was not sent.
    CHECK(stat(sim, "requests", "users/login", "0") == 2);
    CHECK(stat(sim, "requests_total", "") == 2);
  }
}

TEST_CASE("expired_token and burst_429 and latency are injected and counted", "[sim]") {
  SECTION("expired token") {
    RunningSim sim(with_faults("expired_token=1"));
    const auto token = sim.login();
    auto res = sim.get("/api/v3/systems", token);
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->get_header_value("X-Rate-Limit-Limit") == "100000");
    CHECK(sim.get("/api/v3/systems", token)->status == 401);  // the session is gone
    CHECK(stat(sim, "faults", "expired_token") == 1);
  }
  SECTION("429 burst") {
    RunningSim sim(with_faults("burst_429=1"));
    httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
    auto res = sim.client->Get("/api/v3/users/login", h);
    REQUIRE(res);
    CHECK(res->status == 429);
    const int retry = std::stoi(res->get_header_value("Retry-After"));
    CHECK(retry >= 1);
    CHECK(retry <= 10);
    CHECK(res->get_header_value("X-Rate-Limit-Remaining") == "0");
    CHECK(stat(sim, "faults", "burst_429") == 1);
    CHECK(stat(sim, "requests", "users/login", "429") == 1);
  }
  SECTION("latency") {
    RunningSim sim(with_faults("latency=100ms"));
    const auto t0 = steady_clock::now();
    sim.login();
    CHECK(steady_clock::now() - t0 >= milliseconds{50});
    CHECK(stat(sim, "faults", "latency") == 1);
  }
}

TEST_CASE("stats count requests by endpoint and status", "[sim]") {
  RunningSim sim;
  sim.ok("systems");
  sim.ok("systems/list");
  CHECK(sim.call("data/summary").status == 400);
  CHECK(sim.call("bogus").status == 404);
  CHECK(stat(sim, "requests", "systems/list", "200") == 2);
  CHECK(stat(sim, "requests", "data/summary", "400") == 1);
  CHECK(stat(sim, "requests", "users/login", "200") == 1);
  CHECK(stat(sim, "requests", "other", "404") == 1);
  CHECK(stat(sim, "requests_total", "") == 5);
  CHECK(stat(sim, "faults_total", "") == 0);
}

TEST_CASE("quirks switches", "[sim]") {
  auto none = sim::parse_quirks("none");
  REQUIRE(none.ok());
  CHECK_FALSE(none->future_rows);
  CHECK_FALSE(none->numbers_as_strings);
  auto some = sim::parse_quirks("-future_rows,-millis");
  REQUIRE(some.ok());
  CHECK_FALSE(some->future_rows);
  CHECK_FALSE(some->millis);
  CHECK(some->nulls);
  auto only = sim::parse_quirks("none,nulls");
  REQUIRE(only.ok());
  CHECK(only->nulls);
  CHECK_FALSE(only->extra_fields);
  CHECK_FALSE(sim::parse_quirks("frogs").ok());
  CHECK_FALSE(sim::parse_quirks("nulls,none").ok());
  CHECK(sim::quirk_names().find("uneven_rows") != std::string::npos);

  sim::ServerOptions plain;
  plain.quirks = *none;
  RunningSim on({}, 4), off(plain, 4);
  const auto quirky = on.ok("systems");
  const auto clean = off.ok("systems");
  CHECK(quirky.find("\"latitude\":\"") != std::string::npos);
  CHECK(clean.find("\"latitude\":\"") == std::string::npos);
  CHECK(quirky.find("\"country_code\"") != std::string::npos);
  CHECK(clean.find("\"country_code\"") == std::string::npos);
  CHECK(quirky.find("\"_meta\"") != std::string::npos);
  CHECK(clean.find("\"_meta\"") == std::string::npos);
  CHECK(quirky.find("null") != std::string::npos);
  CHECK(clean.find("null") == std::string::npos);
  CHECK(on.call("data/combined?system_id=1001&level=min").status == 400);
  CHECK(off.call("data/combined?system_id=1001&level=min").status == 200);
  httplib::Headers h{httplib::make_basic_authentication_header("demo", "demo")};
  CHECK(on.client->Post("/api/v3/users/login", h, "", "text/plain")->status == 404);
  CHECK(off.client->Post("/api/v3/users/login", h, "", "text/plain")->status == 200);
}

TEST_CASE("CSV quirks: future rows, milliseconds, header-only short windows, Temp on some systems",
          "[sim]") {
  sim::ServerOptions plain;
  plain.quirks = sim::Quirks::none();
  RunningSim on({}, 24, at_utc(2026, 6, 21, 12)), off(plain, 24, at_utc(2026, 6, 21, 12));
  int future = 0, millis = 0, header_only = 0, temp = 0, no_temp = 0;
  const auto now = on.clock.now();
  for (std::size_t i = 0; i < on.fleet.size(); ++i) {
    const auto c = sim::make_context(on.fleet, on.fleet.system(i));
    const auto id = std::to_string(c.spec.system_id);
    auto local = [&](sys_seconds t) { return date::format("%FT%T", c.zone->to_local(t)); };
    const std::string wide =
        "data/aggregate?system_id=" + id + "&start=" + local(now - hours{3}) + "&end=" + local(now);
    const auto body = on.ok(wide);
    const auto csv = parse_csv(body);
    for (const auto& row : csv.rows) {
      const auto t = util::parse_iso8601(row[0].substr(0, 4) + "-" + row[0].substr(5, 2) + "-" +
                                         row[0].substr(8, 2) + "T" + row[0].substr(11));
      REQUIRE(t);
      // Wall time back to UTC via the zone's offset now.
      const auto utc = *t - c.zone->get_info(now).offset;
      if (utc > now) ++future;
      if (row[0].size() > 19) ++millis;
    }
    for (const auto& row : parse_csv(off.ok(wide)).rows) CHECK(row[0].size() == 19);
    const std::string narrow = "data/aggregate?system_id=" + id +
                               "&start=" + local(now - hours{1}) +
                               "&end=" + local(now - minutes{50});
    if (on.ok(narrow) == "Datetime\n" && off.ok(narrow) != "Datetime\n") ++header_only;
    const auto t = on.ok(wide + "&param=Temp");
    if (t == "Datetime\n") {
      ++no_temp;
    } else {
      ++temp;
    }
  }
  CHECK(future > 0);
  CHECK(millis > 0);
  CHECK(header_only > 0);
  CHECK(temp > 0);
  CHECK(no_temp > 0);
}

TEST_CASE("auth: 401 with rate headers for known accounts, 403 for other systems, 402 for basic",
          "[sim]") {
  sim::ServerOptions o;
  o.accounts = *sim::parse_accounts("demo:demo,cheap:pw:basic");
  o.accounts.push_back(sim::Account{"one", "pw", true, {1002}});
  o.token_ttl = seconds{1};
  RunningSim sim(o, 3);
  httplib::Headers wrong{httplib::make_basic_authentication_header("demo", "nope")};
  auto res = sim.client->Get("/api/v3/users/login", wrong);
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(res->get_header_value("X-Rate-Limit-Remaining") == "99");
  auto anon = sim.client->Get("/api/v3/systems");
  REQUIRE(anon);
  CHECK(anon->status == 401);
  CHECK_FALSE(anon->get_header_value("X-Rate-Limit-Reset").empty());

  const auto one = sim.login("one", "pw");
  CHECK(sim.get("/api/v3/data/summary?system_id=1002", one)->status == 200);
  auto forbidden = sim.get("/api/v3/data/summary?system_id=1001", one);
  CHECK(forbidden->status == 403);
  CHECK(forbidden->body.find("\"status\":403") != std::string::npos);
  CHECK(sim.get("/api/v3/systems/1001", one)->status == 403);
  const auto listed = sim.get("/api/v3/systems", one)->body;
  CHECK(listed.find("\"system_id\":1002") != std::string::npos);
  CHECK(listed.find("\"system_id\":1001") == std::string::npos);

  const auto cheap = sim.login("cheap", "pw");
  for (const char* path :
       {"data/summary?system_id=1001",
        "data/aggregate?system_id=1001&start=2026-06-21T10:00:00&end=2026-06-21T11:00:00",
        "data/combined?system_id=1001"}) {
    auto r = sim.get(std::string("/api/v3/") + path, cheap);
    CHECK(r->status == 402);
    CHECK(r->body.find("\"status\":402") != std::string::npos);
  }
  CHECK(sim.get("/api/v3/objects/system?system_id=1001", cheap)->status == 200);

  // Token TTL of one second: the token expires; the 401 still carries the account's headers.
  std::this_thread::sleep_for(milliseconds{1100});
  auto expired = sim.get("/api/v3/systems", one);
  REQUIRE(expired);
  CHECK(expired->status == 401);
  CHECK_FALSE(expired->get_header_value("X-Rate-Limit-Remaining").empty());
}
