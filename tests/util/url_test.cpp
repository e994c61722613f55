#include "util/url.hpp"

#include <catch2/catch.hpp>

TEST_CASE("base URLs", "[util][url]") {
  auto b = util::parse_base_url("https://api2.tigoenergy.com/api/v3/");
  REQUIRE(b.ok());
  CHECK(b->https);
  CHECK(b->host == "api2.tigoenergy.com");
  CHECK(b->scheme_host_port == "https://api2.tigoenergy.com");
  CHECK(b->path_prefix == "/api/v3/");
  auto local = util::parse_base_url("http://127.0.0.1:8080/api/v3");
  REQUIRE(local.ok());
  CHECK(local->host == "127.0.0.1");
  CHECK(local->path_prefix == "/api/v3/");
  CHECK_FALSE(util::parse_base_url("ftp://x/").ok());
  CHECK_FALSE(util::parse_base_url("https://user:pw@host/").ok());
}
