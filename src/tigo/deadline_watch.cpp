#include "tigo/deadline_watch.hpp"

#include <algorithm>
#include <utility>

namespace tigo {

DeadlineWatch::DeadlineWatch(std::chrono::milliseconds repeat)
    : repeat_(repeat), thread_([this](std::stop_token stop) { run(stop); }) {}

DeadlineWatch::~DeadlineWatch() {
  thread_.request_stop();  // wakes the wait (condition_variable_any with the stop token)
  thread_.join();
}

DeadlineWatch::Watch DeadlineWatch::watch(time_point deadline, std::function<void()> action) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    entries_.emplace(id, Entry{deadline, std::move(action)});
  }
  changed_.notify_one();
  return {*this, id};
}

void DeadlineWatch::end(std::uint64_t id) {
  std::lock_guard lock(mutex_);  // waits for a running action: none runs after this
  entries_.erase(id);
}

void DeadlineWatch::run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    auto next = time_point::max();
    for (auto& [id, entry] : entries_) {
      if (entry.due <= now) {
        entry.action();
        entry.due = now + repeat_;
      }
      next = std::min(next, entry.due);
    }
    // Until the earliest deadline, or a new watch (which may be due sooner).
    const auto seen = next_id_;
    const auto added = [this, seen] { return next_id_ != seen; };
    if (next == time_point::max()) {
      changed_.wait(lock, stop, added);
    } else {
      changed_.wait_until(lock, stop, next, added);
    }
  }
}

}  // namespace tigo
