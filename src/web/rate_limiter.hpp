// rate_limit of --web.config.file: one token bucket for all requests, as the exporter-toolkit's
// (Go's rate.Limiter): `burst` tokens at start, one more every `interval`; a request without a
// token is answered 429.
#pragma once

#include <chrono>
#include <mutex>

#include "web/web_config.hpp"

namespace web {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimit limit, Clock::time_point now = Clock::now());

  // Takes a token if there is one.
  bool allow(Clock::time_point now = Clock::now());
  const RateLimit& limit() const { return limit_; }

 private:
  const RateLimit limit_;
  std::mutex mutex_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace web
