// A logged-in client of a running simulator, for tests that compare the exporter's output with
// what the API itself answers. Header-only.
#pragma once

#include <httplib.h>

#include <catch2/catch.hpp>
#include <string>

#include "tigo/json_parse.hpp"

namespace testing {

struct SimApi {
  httplib::Client http;
  std::string token;
  // `api`: the simulator's base URL, http://HOST:PORT/api/v3/.
  explicit SimApi(const std::string& api, const std::string& user = "demo",
                  const std::string& password = "demo")
      : http(api.substr(0, api.find("/api/v3/"))) {
    auto res =
        http.Get("/api/v3/users/login",
                 httplib::Headers{httplib::make_basic_authentication_header(user, password)});
    REQUIRE(res);
    REQUIRE(res->status == 200);
    token = tigo::parse_login(res->body)->token;
  }
  // GET of a path below /api/v3/; REQUIREs a 200.
  std::string get(const std::string& path) {
    auto res = http.Get("/api/v3/" + path, httplib::Headers{{"Authorization", "Bearer " + token}});
    REQUIRE(res);
    INFO(path << " -> " << res->status);
    REQUIRE(res->status == 200);
    return res->body;
  }
};

}  // namespace testing
