// A simulator running in-process on 127.0.0.1:0 with a fixed clock, and helpers to call it.
#pragma once

#include <arpa/inet.h>
#include <date/tz.h>
#include <httplib.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/server.hpp"

namespace simtest {

using namespace std::chrono;

inline sys_seconds at_utc(int y, unsigned m, unsigned d, int h, int min = 0) {
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours{h} + minutes{min};
}

// Server options with the real API's quirks off, for tests of the plain shapes.
inline sim::ServerOptions plain() {
  sim::ServerOptions o;
  o.quirks = sim::Quirks::none();
  return o;
}

// Site-local wall time as the data endpoints take it, "2026-06-21T10:00:00".
inline std::string site(const date::time_zone* zone, sys_seconds t) {
  return date::format("%FT%T", zone->to_local(t));
}

struct RunningSim {
  sim::Fleet fleet;
  sim::Clock clock;
  sim::Server server;
  std::unique_ptr<httplib::Client> client;
  std::string token;

  // zones: the fleet's only zones (FleetOptions::zones); empty: around the globe.
  explicit RunningSim(sim::ServerOptions options = {}, int systems = 3,
                      sys_seconds at = at_utc(2026, 6, 21, 18), int panels = 24,
                      std::uint64_t seed = 1, std::vector<std::string> zones = {})
      : fleet({seed, systems, panels, std::move(zones)}),
        clock(at, 0.0),
        server(fleet, clock, with_port0(options)) {
    REQUIRE(server.bind().ok());
    server.start();
    client = std::make_unique<httplib::Client>(host());
    client->set_connection_timeout(5);
    client->set_read_timeout(10);
  }
  static sim::ServerOptions with_port0(sim::ServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  std::string host() const {
    const std::string url = server.base_url();
    return url.substr(0, url.find("/api/v3/"));
  }
  std::string login(const std::string& user = "demo", const std::string& pw = "demo") {
    httplib::Headers h{httplib::make_basic_authentication_header(user, pw)};
    auto res = client->Get("/api/v3/users/login", h);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    simdjson::dom::parser p;
    std::string_view auth;
    REQUIRE(p.parse(res->body)["user"]["auth"].get(auth) == simdjson::SUCCESS);
    return std::string(auth);
  }
  httplib::Result get(const std::string& path, const std::string& tok) {
    return client->Get(path, httplib::Headers{{"Authorization", "Bearer " + tok}});
  }
  // GET with the fixture's own token (logging in on first use); REQUIREs an answer.
  httplib::Response call(const std::string& path) {
    if (token.empty()) token = login();
    auto res = get("/api/v3/" + path, token);
    REQUIRE(res);
    return *res;
  }
  int port() const { return std::stoi(host().substr(host().rfind(':') + 1)); }
  // Sends `request` as is on a new connection and returns every byte received until the server
  // closes it (or 10 s pass): for what an HTTP client library would not send or would hide.
  std::string raw(const std::string& request) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    timeval timeout{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      FAIL("cannot connect to the simulator");
    }
    CHECK(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
      out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
  }
  std::string ok(const std::string& path) {
    auto res = call(path);
    INFO(path << " -> " << res.status << " " << res.body.substr(0, 300));
    REQUIRE(res.status == 200);
    return res.body;
  }
};

// A panel as systems/layout lists it.
struct LayoutPanel {
  std::int64_t object_id = 0;
  std::string label, serial;
  std::int64_t string_object_id = 0;
};

// Every panel of a systems/layout answer in order, whether its strings hang off inverters and
// MPPTs or off the system itself.
inline std::vector<LayoutPanel> layout_panels(const std::string& body) {
  std::vector<LayoutPanel> out;
  simdjson::dom::parser p;
  const simdjson::dom::element system = p.parse(body)["system"];
  auto add_string = [&](simdjson::dom::element s) {
    for (simdjson::dom::element panel : s["panels"].get_array())
      out.push_back({panel["object_id"].get_int64(), std::string(std::string_view(panel["label"])),
                     std::string(std::string_view(panel["serial"])), s["object_id"].get_int64()});
  };
  for (simdjson::dom::element inv : system["inverters"].get_array())
    for (simdjson::dom::element m : inv["mppts"].get_array())
      for (simdjson::dom::element s : m["strings"].get_array()) add_string(s);
  simdjson::dom::array strings;
  if (system["strings"].get(strings) == simdjson::SUCCESS)
    for (simdjson::dom::element s : strings) add_string(s);
  return out;
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

inline Csv parse_csv(const std::string& body) {
  Csv out;
  std::istringstream in(body);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::size_t pos = 0;
    while (true) {
      const auto comma = line.find(',', pos);
      cells.push_back(line.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (first) {
      out.header = cells;
      first = false;
    } else {
      out.rows.push_back(cells);
    }
  }
  return out;
}

}  // namespace simtest
