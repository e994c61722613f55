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

TEST_CASE("base URLs need a host and a usable port (found by fuzz_url)", "[util][url]") {
  for (const char* bad : {"http://[/", "http://[::1/", "http://:80/", "http://[]:80/",
                          "http://host:/", "http://host:0/", "http://host:65536/", "http://host:x/",
                          "http://[::1]x/", "http://::1/"}) {
    INFO(bad);
    CHECK_FALSE(util::parse_base_url(bad).ok());
  }
  const auto v6 = util::parse_base_url("http://[::1]:8080/api/v3/");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->scheme_host_port == "http://[::1]:8080");
  const auto no_port = util::parse_base_url("https://[::1]/");
  REQUIRE(no_port.ok());
  CHECK(no_port->host == "::1");
}
