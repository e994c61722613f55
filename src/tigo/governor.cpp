#include "tigo/governor.hpp"

#include <algorithm>
#include <cmath>

namespace tigo {
namespace {

using std::chrono::steady_clock;

class SteadyGovernorClock final : public GovernorClock {
 public:
  time_point now() const override { return steady_clock::now(); }
  void sleep_until(time_point t, std::stop_token stop) override {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_until(lock, stop, t, [] { return false; });
  }
};

// A header's wait in seconds as a duration, bounded as the header parsers bound it.
steady_clock::duration seconds_to_duration(double s) {
  const auto bounded = bounded_wait_seconds(s);
  if (!bounded) return steady_clock::duration::zero();
  return std::chrono::duration_cast<steady_clock::duration>(
      std::chrono::duration<double>(*bounded));
}

// Longest single sleep: state may change meanwhile (another thread's answer), so re-check.
constexpr auto kMaxSleep = std::chrono::seconds{1};

}  // namespace

std::shared_ptr<GovernorClock> steady_governor_clock() {
  return std::make_shared<SteadyGovernorClock>();
}

Governor::Governor(GovernorOptions options, std::shared_ptr<GovernorClock> clock)
    : options_(options),
      clock_(std::move(clock)),
      rng_(options.seed != 0 ? options.seed : std::random_device{}()) {}

double Governor::cap_locked() const {
  double cap = options_.requests_per_minute;
  if (header_limit_ && *header_limit_ > 0) cap = std::min(cap, *header_limit_);
  return std::max(cap, 0.0);
}

steady_clock::duration Governor::wait_locked(time_point now) const {
  const auto span = options_.window + options_.slack;
  while (!sent_.empty() && sent_.front() + span <= now) sent_.pop_front();
  if (server_reset_at_ && now >= *server_reset_at_) server_reset_at_.reset();

  steady_clock::duration wait = steady_clock::duration::zero();
  if (now < blocked_until_) wait = blocked_until_ - now;

  const double per_window =
      cap_locked() * std::chrono::duration<double>(options_.window).count() / 60.0;
  const auto cap = static_cast<std::size_t>(std::max(1.0, std::floor(per_window + 1e-9)));
  if (sent_.size() >= cap) {
    // The oldest grant that must leave the window before one more fits.
    const auto frees_at = sent_[sent_.size() - cap] + span;
    wait = std::max(wait, frees_at - now);
  }
  if (server_reset_at_ && static_cast<double>(used_since_headers_) >= server_remaining_) {
    wait = std::max(wait, *server_reset_at_ - now);
  }
  return wait;
}

AcquireResult Governor::acquire(std::stop_token stop, std::optional<time_point> deadline) {
  while (true) {
    time_point until;
    {
      std::lock_guard lock(mutex_);
      if (stop.stop_requested()) return AcquireResult::cancelled;
      const auto now = clock_->now();
      const auto wait = wait_locked(now);
      if (wait <= steady_clock::duration::zero()) {
        sent_.push_back(now);
        ++in_flight_;
        ++used_since_headers_;
        return AcquireResult::granted;
      }
      if (deadline && *deadline <= now) return AcquireResult::deadline;
      until = now + std::min<steady_clock::duration>(wait, kMaxSleep);
      if (deadline) until = std::min(until, *deadline);
    }
    clock_->sleep_until(until, stop);
  }
}

void Governor::finish_locked() {
  if (in_flight_ > 0) --in_flight_;
}

steady_clock::duration Governor::backoff_locked() {
  const int n = std::min(consecutive_failures_, 30);
  const auto base_ms = static_cast<double>(options_.backoff_base.count());
  const auto cap_ms = static_cast<double>(options_.backoff_cap.count());
  const double d = std::min(cap_ms, base_ms * std::pow(2.0, n - 1));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double jittered = d * (1.0 - std::clamp(options_.jitter, 0.0, 1.0) * u(rng_));
  return std::chrono::duration_cast<steady_clock::duration>(
      std::chrono::duration<double, std::milli>(jittered));
}

void Governor::on_answer(int status, const RateHeaders& headers) {
  const RateHeaders h = bounded(headers);
  std::lock_guard lock(mutex_);
  finish_locked();
  const auto now = clock_->now();
  if (h.limit) header_limit_ = h.limit;
  if (h.remaining) header_remaining_ = h.remaining;
  if (h.reset_seconds) header_reset_seconds_ = h.reset_seconds;
  if (h.remaining) {
    // Requests still in flight may not have been counted by the server yet: count them as used.
    server_remaining_ = std::max(0.0, *h.remaining);
    server_reset_at_ = now +
                       (h.reset_seconds ? seconds_to_duration(*h.reset_seconds)
                                        : steady_clock::duration(options_.window)) +
                       options_.slack;
    used_since_headers_ = in_flight_;
  }
  if (status == 429) {
    ++rate_limited_;
    const auto asked = rate_limited_wait_seconds(h);
    const steady_clock::duration wait =
        asked ? seconds_to_duration(*asked) : steady_clock::duration(options_.default_429_wait);
    blocked_until_ = std::max(blocked_until_, now + wait);
    server_remaining_ = 0;
    server_reset_at_ = blocked_until_;
    used_since_headers_ = in_flight_;
  } else if (status >= 500) {
    ++consecutive_failures_;
    blocked_until_ = std::max(blocked_until_, now + backoff_locked());
  } else {
    consecutive_failures_ = 0;
  }
}

void Governor::on_transport_error() {
  std::lock_guard lock(mutex_);
  finish_locked();
  ++consecutive_failures_;
  blocked_until_ = std::max(blocked_until_, clock_->now() + backoff_locked());
}

void Governor::on_abandoned() {
  std::lock_guard lock(mutex_);
  finish_locked();
}

steady_clock::duration Governor::wait_time() const {
  std::lock_guard lock(mutex_);
  return wait_locked(clock_->now());
}

double Governor::requests_per_minute() const {
  std::lock_guard lock(mutex_);
  return cap_locked();
}

GovernorState Governor::state() const {
  std::lock_guard lock(mutex_);
  const auto now = clock_->now();
  GovernorState s;
  s.cap_per_minute = cap_locked();
  s.header_limit = header_limit_;
  s.header_remaining = header_remaining_;
  s.header_reset_seconds = header_reset_seconds_;
  const auto span = options_.window + options_.slack;
  s.sent_in_window = static_cast<std::size_t>(
      std::count_if(sent_.begin(), sent_.end(), [&](time_point t) { return t + span > now; }));
  s.in_flight = in_flight_;
  s.consecutive_failures = consecutive_failures_;
  if (now < blocked_until_) s.blocked_for = blocked_until_ - now;
  s.rate_limited = rate_limited_;
  return s;
}

}  // namespace tigo
