// Simulated time: real time, a fixed instant, or real time accelerated from a start instant.
#pragma once

#include <chrono>
#include <mutex>
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
    return std::chrono::floor<std::chrono::seconds>(now_precise());
  }
  // The simulated instant to the clock's resolution: what the bus stamps its reports with.
  std::chrono::system_clock::time_point now_precise() const {
    const std::lock_guard lock(mutex_);
    const auto real_elapsed = std::chrono::system_clock::now() - real_start_;
    const auto sim_elapsed = std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::duration<double>(real_elapsed) * speed_);
    return sim_start_ + sim_elapsed;
  }
  double speed() const { return speed_; }
  // Moves simulated time to t (it runs on from there at the same speed): tests step a frozen
  // clock through a simulated day while a server reads it.
  void set(std::chrono::sys_seconds t) {
    const std::lock_guard lock(mutex_);
    real_start_ = std::chrono::system_clock::now();
    sim_start_ = t;
  }

 private:
  mutable std::mutex mutex_;
  std::chrono::system_clock::time_point real_start_;
  std::chrono::system_clock::time_point sim_start_;
  double speed_;
};

}  // namespace sim
