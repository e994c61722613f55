#include "web/rate_limiter.hpp"

#include <algorithm>

namespace web {

RateLimiter::RateLimiter(RateLimit limit, Clock::time_point now)
    : limit_(limit), tokens_(limit.burst), last_(now) {}

bool RateLimiter::allow(Clock::time_point now) {
  if (!limit_.enabled()) return true;
  std::lock_guard lock(mutex_);
  if (now > last_) {
    const std::chrono::duration<double> elapsed = now - last_;
    const std::chrono::duration<double> interval = limit_.interval;
    tokens_ = std::min<double>(limit_.burst, tokens_ + elapsed / interval);
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace web
