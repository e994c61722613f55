#include "util/listen_address.hpp"

#include <catch2/catch.hpp>

TEST_CASE("listen addresses: host:port, :port, [v6]:port, and bad ones", "[util]") {
  auto any = util::parse_listen_address(":9980");
  REQUIRE(any.ok());
  CHECK(any->host.empty());
  CHECK(any->port == 9980);
  CHECK(util::bind_hosts(*any) == std::vector<std::string>{"::", "0.0.0.0"});

  auto v4 = util::parse_listen_address("127.0.0.1:0");
  REQUIRE(v4.ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 0);
  CHECK(util::bind_hosts(*v4) == std::vector<std::string>{"127.0.0.1"});

  auto v6 = util::parse_listen_address("[::1]:9100");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9100);

  for (const char* bad : {"9980", "host:", "host:http", ":65536", ":-1"})
    CHECK_FALSE(util::parse_listen_address(bad).ok());
}

TEST_CASE("listen addresses: brackets only around a whole host (found by fuzz_listen_address)",
          "[util]") {
  for (const char* bad : {"[[]]:998", "[]:998", "[::1:80", "::1]:80", "a[b]:80"}) {
    const auto r = util::parse_listen_address(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("bad host") != std::string::npos);
  }
}

TEST_CASE("host:port for URLs and logs brackets an IPv6 host", "[util]") {
  CHECK(util::host_port("::1", 18220) == "[::1]:18220");
  CHECK(util::host_port("fe80::1%eth0", 80) == "[fe80::1%eth0]:80");
  CHECK(util::host_port("127.0.0.1", 9980) == "127.0.0.1:9980");
  CHECK(util::host_port("localhost", 9980) == "localhost:9980");
  CHECK(util::host_port("", 9980) == ":9980");
  // What parse_listen_address reads back.
  const auto back = util::parse_listen_address(util::host_port("::1", 18220));
  REQUIRE(back.ok());
  CHECK(back->host == "::1");
  CHECK(back->port == 18220);
}
