// Listening sockets and client addresses for the web server's event loop.
#include "util/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

TEST_CASE("listen_tcp: a free port, non-blocking, and exclusive", "[util][socket]") {
  auto first = util::listen_tcp("127.0.0.1", 0);
  REQUIRE(first.ok());
  const int port = util::bound_port(*first);
  CHECK(port > 0);
  CHECK((fcntl(*first, F_GETFL) & O_NONBLOCK) != 0);
  auto second = util::listen_tcp("127.0.0.1", port);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message == "Address already in use");
  auto bad = util::listen_tcp("no-such-host.invalid", 0);
  REQUIRE_FALSE(bad.ok());
  CHECK_FALSE(bad.error().message.empty());
  close(*first);
}

TEST_CASE("peer_address: numeric, IPv4-mapped IPv6 as IPv4", "[util][socket]") {
  sockaddr_storage storage{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(storage);
  v4.sin_family = AF_INET;
  v4.sin_port = htons(4711);
  inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
  int port = 0;
  CHECK(util::peer_address(storage, port) == "127.0.0.2");
  CHECK(port == 4711);

  storage = {};
  auto& v6 = reinterpret_cast<sockaddr_in6&>(storage);
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(80);
  inet_pton(AF_INET6, "::ffff:10.1.2.3", &v6.sin6_addr);
  CHECK(util::peer_address(storage, port) == "10.1.2.3");
  CHECK(port == 80);
  inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
  CHECK(util::peer_address(storage, port) == "2001:db8::1");

  storage = {};
  storage.ss_family = AF_UNIX;
  CHECK(util::peer_address(storage, port).empty());
  CHECK(port == -1);
}

TEST_CASE("raise_open_files_limit never lowers the limit", "[util][socket]") {
  rlimit before{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  const std::size_t now = util::raise_open_files_limit(16);
  CHECK(now >= 16);
  rlimit after{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_cur);
}
