// The rate governor: no request leaves that would exceed the budget.
//
// Budget: at most `cap` requests in any sliding window of `window` (+ `slack` for clock skew
// and latency between us and Tigo), where cap = min(--tigo.rate-limit, X-Rate-Limit-Limit last
// seen). While the last X-Rate-Limit-Reset has not run out, X-Rate-Limit-Remaining also binds:
// the requests sent or in flight since that answer may not exceed it (it accounts for other
// clients of the same account). A 429 blocks everything until Retry-After (or Reset), never longer
// than kMaxHeaderWait; 5xx and transport errors block for an exponential backoff with jitter,
// capped, reset by a success.
//
// Thread-safe. Every granted acquire() must be followed by exactly one of on_answer(),
// on_transport_error() or on_abandoned(), so in-flight requests are known.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>

#include "tigo/rate_headers.hpp"

namespace tigo {

// Time source of the governor; tests inject a fake one.
class GovernorClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~GovernorClock() = default;
  virtual time_point now() const = 0;
  // Sleeps until `t` or until `stop` is requested, whichever comes first.
  virtual void sleep_until(time_point t, std::stop_token stop) = 0;
};

// std::chrono::steady_clock, sleeping on a condition variable that a stop request wakes.
std::shared_ptr<GovernorClock> steady_governor_clock();

struct GovernorOptions {
  double requests_per_minute = 100;  // --tigo.rate-limit
  std::chrono::milliseconds window{60'000};
  std::chrono::milliseconds slack{1'000};  // added to the window: latency and clock skew
  std::chrono::milliseconds backoff_base{1'000};
  std::chrono::milliseconds backoff_cap{120'000};
  double jitter = 0.5;  // backoff is d * (1 - jitter * U[0,1)): spread, never above the cap
  std::chrono::milliseconds default_429_wait{60'000};  // 429 without Retry-After or Reset
  std::uint64_t seed = 0;                              // 0: random
};

// What the governor knows, for metrics and the scheduler's planning.
struct GovernorState {
  double cap_per_minute = 0;           // min(option, header limit)
  std::optional<double> header_limit;  // last X-Rate-Limit-Limit
  std::optional<double> header_remaining;
  std::optional<double> header_reset_seconds;
  std::size_t sent_in_window = 0;  // grants in the current sliding window
  std::size_t in_flight = 0;
  int consecutive_failures = 0;
  std::optional<std::chrono::steady_clock::duration> blocked_for;  // 429 wait or backoff left
  std::uint64_t rate_limited = 0;                                  // 429s seen
};

enum class AcquireResult { granted, cancelled, deadline };

class Governor {
 public:
  using time_point = GovernorClock::time_point;

  explicit Governor(GovernorOptions options = {},
                    std::shared_ptr<GovernorClock> clock = steady_governor_clock());

  // Blocks until one request may leave, then counts it as sent. Returns cancelled when `stop`
  // is requested and deadline when `deadline` passes first; nothing is counted then.
  AcquireResult acquire(std::stop_token stop = {}, std::optional<time_point> deadline = {});

  // The granted request got an answer with this status and headers (bounded again here, as
  // bounded() does, whatever their origin).
  void on_answer(int status, const RateHeaders& headers);
  // The granted request failed in transport (no answer).
  void on_transport_error();
  // The granted request was abandoned by its caller (a stop): no answer, and no fault of the
  // API's, so no backoff.
  void on_abandoned();

  // How long from now until a request could be granted (0 if now).
  std::chrono::steady_clock::duration wait_time() const;
  // Requests per minute the governor currently plans with (cap, lowered by headers and while
  // backing off); the scheduler stretches intervals to fit it.
  double requests_per_minute() const;
  GovernorState state() const;

 private:
  // Time until a grant is allowed at `now`, 0 if allowed. Caller holds mutex_.
  // Prunes the window (hence the mutable members below).
  std::chrono::steady_clock::duration wait_locked(time_point now) const;
  double cap_locked() const;
  void finish_locked();
  std::chrono::steady_clock::duration backoff_locked();

  GovernorOptions options_;
  std::shared_ptr<GovernorClock> clock_;
  mutable std::mutex mutex_;
  mutable std::deque<time_point> sent_;  // grant times inside the sliding window
  std::size_t in_flight_ = 0;
  std::optional<double> header_limit_;
  std::optional<double> header_remaining_;
  std::optional<double> header_reset_seconds_;
  // Server-side window as the last headers described it.
  mutable std::optional<time_point> server_reset_at_;
  double server_remaining_ = 0;
  std::size_t used_since_headers_ = 0;  // grants (and in-flight at that answer) since
  time_point blocked_until_{};
  int consecutive_failures_ = 0;
  std::uint64_t rate_limited_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace tigo
