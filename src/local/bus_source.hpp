// One bus source as the exporter runs it: a line source feeding a bus state. Start it, take
// snapshots (cheap enough every second with thousands of nodes), stop it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "local/bus_state.hpp"
#include "local/line_source.hpp"

namespace local {

class BusSource {
 public:
  explicit BusSource(SourceSpec spec, SourceOptions options = {}, BusLimits limits = {});
  ~BusSource();  // stop()
  BusSource(const BusSource&) = delete;
  BusSource& operator=(const BusSource&) = delete;

  void start();
  void stop();

  std::shared_ptr<const BusSnapshot> snapshot(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const {
    return state_.snapshot(now);
  }
  SourceStats source_stats() const { return source_.stats(); }
  std::uint64_t generation() const { return state_.generation(); }
  const std::string& name() const { return source_.name(); }
  // The learned node -> address map, for the state file; import before start().
  BusState& state() { return state_; }

 private:
  BusState state_;
  LineSource source_;
};

}  // namespace local
