// The simulator's request and query parsing: a GET of /api/v3/<input> with a valid bearer token,
// answered by the simulator's own routes and handlers (Server::answer_raw: cpp-httplib's request
// parsing, the handlers' parameter checks) without a socket. Seeds name real endpoints and the
// fleet's system; the input may also carry header lines after a CRLF.
#include <chrono>
#include <climits>
#include <memory>
#include <string>

#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/server.hpp"
#include "targets.hpp"

namespace fuzz {
namespace {

struct Simulator {
  // One system of 4 panels (system_id 1001) at a fixed instant: a day in June.
  sim::Fleet fleet{sim::FleetOptions{1, 1, 4, {"America/Los_Angeles"}}};
  sim::Clock clock{std::chrono::sys_days{std::chrono::year{2026} / 6 / 21} + std::chrono::hours{19},
                   0.0};
  sim::Server server{fleet, clock, options()};

  static sim::ServerOptions options() {
    sim::ServerOptions o;
    o.rate_limit = INT_MAX;  // every input is answered, never 429
    o.max_sessions = 64;
    return o;
  }

  // A fresh token for each input: an input may log the previous one out.
  std::string login() {
    const std::string answer = server.answer_raw(
        "GET /api/v3/users/login HTTP/1.1\r\nHost: sim\r\n"
        "Authorization: Basic ZGVtbzpkZW1v\r\n\r\n");  // demo:demo
    const auto at = answer.find("\"auth\":\"");
    require(at != std::string::npos, "login refused: " + answer.substr(0, 200));
    const auto start = at + 8;
    return answer.substr(start, answer.find('"', start) - start);
  }
};

}  // namespace

void run_sim_query(std::string_view input) {
  static Simulator sim;
  const std::string token = sim.login();
  std::string request = "GET /api/v3/";
  request.append(input);
  request += " HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  const std::string answer = sim.server.answer_raw(request);
  require(answer.starts_with("HTTP/1.1 "), "no status line in the answer");
  // Without faults the simulator answers 500 only when a handler threw (cpp-httplib catches it).
  require(!answer.starts_with("HTTP/1.1 500"), "a handler threw: " + answer.substr(0, 400));
}

}  // namespace fuzz
