// Whole-call deadlines for the client's requests. cpp-httplib's timeouts apply to each connect,
// read and write, so a server that sends a byte now and then keeps a request alive forever; a
// DeadlineWatch runs an action (the client shuts the request's socket down) when a request
// outlives its deadline, from one thread for all requests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace tigo {

class DeadlineWatch {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // `repeat`: after a deadline, the action runs again this often until its watch ends (a socket
  // shut down while a connect could not see it yet is shut down again).
  explicit DeadlineWatch(std::chrono::milliseconds repeat = std::chrono::milliseconds{100});
  ~DeadlineWatch();
  DeadlineWatch(const DeadlineWatch&) = delete;
  DeadlineWatch& operator=(const DeadlineWatch&) = delete;

  // Ends its watch when destroyed: the action has then finished and never runs again.
  class Watch {
   public:
    Watch(DeadlineWatch& owner, std::uint64_t id) : owner_(&owner), id_(id) {}
    Watch(Watch&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}
    Watch& operator=(Watch&&) = delete;
    ~Watch() {
      if (owner_) owner_->end(id_);
    }

   private:
    DeadlineWatch* owner_;
    std::uint64_t id_;
  };

  // Runs `action` on the watch's thread at `deadline` (and every `repeat` after it) until the
  // returned Watch is destroyed. The action must be quick and must not start or end a watch.
  [[nodiscard]] Watch watch(time_point deadline, std::function<void()> action);

 private:
  struct Entry {
    time_point due;
    std::function<void()> action;
  };

  void end(std::uint64_t id);
  void run(std::stop_token stop);

  const std::chrono::milliseconds repeat_;
  std::mutex mutex_;  // guards entries_ and next_id_; held while an action runs
  std::condition_variable_any changed_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 0;
  std::jthread thread_;  // last: started once the members it uses exist
};

}  // namespace tigo
