// Simulated time: real time, a fixed instant, or real time accelerated from a start instant.
#pragma once

#include <chrono>
#include <optional>

namespace sim {

class Clock {
 public:
  // start: the simulated instant at construction (default: now). speed 0 freezes time there.
  explicit Clock(std::optional<std::chrono::sys_seconds> start = std::nullopt, double speed = 1.0)
      : real_start_(std::chrono::system_clock::now()),
        sim_start_(start ? std::chrono::system_clock::time_point(*start) : real_start_),
        speed_(speed) {}

  std::chrono::sys_seconds now() const {
    const auto real_elapsed = std::chrono::system_clock::now() - real_start_;
    const auto sim_elapsed = std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::duration<double>(real_elapsed) * speed_);
    return std::chrono::floor<std::chrono::seconds>(sim_start_ + sim_elapsed);
  }
  double speed() const { return speed_; }

 private:
  std::chrono::system_clock::time_point real_start_;
  std::chrono::system_clock::time_point sim_start_;
  double speed_;
};

}  // namespace sim
