// Injected faults (`--faults`) and the simulator's own counters (`GET /sim/stats`).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace sim {

struct FaultOptions {
  double error_rate = 0;                 // share of answers replaced by a 5xx
  std::chrono::milliseconds latency{0};  // added to every API answer (+-50 % jitter)
  double malformed = 0;                  // body replaced by broken JSON / CSV (status kept)
  double truncated = 0;                  // body cut off after half, connection closed
  double drop_connection = 0;            // connection closed before any byte of the answer
  double expired_token = 0;              // a valid token answers 401 as if expired (and is dropped)
  double burst_429 = 0;                  // starts a 10 s burst of 429s for the account
  // The bus stream (--bus-listen), per line sent:
  double bus_garbage = 0;   // the line is garbage or JSON cut short
  double bus_drop = 0;      // a client's connection is closed
  double bus_reassign = 0;  // a node id moves to another optimizer (the next infra report says so)
  // Faults of the HTTP API's answers (the bus faults are the bus's own).
  bool any() const {
    return error_rate > 0 || latency.count() > 0 || malformed > 0 || truncated > 0 ||
           drop_connection > 0 || expired_token > 0 || burst_429 > 0;
  }
};

// "error_rate=0.05,latency=200ms,malformed=0.01,truncated=0.01,drop_connection=0.01,
//  expired_token=0.01,burst_429=0.01,bus_garbage=0.01,bus_drop=0.001,bus_reassign=0.001"
// (rates in [0, 1]).
util::Result<FaultOptions> parse_faults(std::string_view text);

// Requests by endpoint and status, faults by kind. Bounded: endpoints are the route names
// (unknown paths count as "other"), statuses a few dozen.
class Stats {
 public:
  void request(std::string_view endpoint, int status);
  void fault(std::string_view kind);
  std::uint64_t faults(std::string_view kind) const;
  std::string json(std::string_view sim_time) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<int, std::uint64_t>, std::less<>> requests_;
  std::map<std::string, std::uint64_t, std::less<>> faults_;
  std::uint64_t total_ = 0;
};

}  // namespace sim
