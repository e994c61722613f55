// The rate headers of an answer (src/tigo/rate_headers.*): up to four lines, the values of
// X-Rate-Limit-Limit, -Remaining, -Reset and Retry-After (fewer lines: the others absent). Every
// number that comes out is finite and within its bound, an HTTP-date reads back as itself, and
// the governor, told of a 429 with these headers, waits no longer than a header may ask.
#include "tigo/rate_headers.hpp"

#include <date/date.h>

#include <cmath>
#include <string>
#include <vector>

#include "targets.hpp"
#include "tigo/governor.hpp"

namespace fuzz {
namespace {

// 2026-06-21T12:00:00Z.
const std::chrono::sys_seconds kNow =
    date::sys_days{date::year{2026} / 6 / 21} + std::chrono::hours{12};

// Time stands still; a governor is only asked how long it would wait.
class StillClock final : public tigo::GovernorClock {
 public:
  time_point now() const override { return time_point{} + std::chrono::hours{1000}; }
  void sleep_until(time_point, std::stop_token) override {}
};

void require_within(const std::optional<double>& v, double max, const std::string& what) {
  if (!v) return;
  require(std::isfinite(*v) && *v >= 0 && *v <= max,
          what + " out of [0, " + std::to_string(max) + "]: " + std::to_string(*v));
}

void check_value(std::string_view text) {
  const double max_wait = static_cast<double>(tigo::kMaxHeaderWait.count());
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (const auto n = tigo::parse_header_number(text))
    require_within(tigo::bounded_count(*n), tigo::kMaxHeaderCount, "a count " + quoted);
  require_within(tigo::parse_retry_after(text, kNow), max_wait, "Retry-After " + quoted);
  if (const auto date = tigo::parse_http_date(text)) {
    // An HTTP-date reads back as the same instant when written in the preferred form.
    const std::string again = date::format("%a, %d %b %Y %H:%M:%S GMT", *date);
    require(tigo::parse_http_date(again) == date,
            "HTTP-date " + quoted + " written as \"" + again + "\" reads back differently");
  }
}

}  // namespace

void run_rate_headers(std::string_view input) {
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; lines.size() < 4 && start <= input.size();) {
    const auto end = std::min(input.find('\n', start), input.size());
    lines.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  for (const auto line : lines) check_value(line);

  tigo::RateHeaderText text;
  std::optional<std::string_view>* fields[] = {&text.limit, &text.remaining, &text.reset,
                                               &text.retry_after};
  for (std::size_t i = 0; i < lines.size(); ++i) *fields[i] = lines[i];
  const auto h = tigo::read_rate_headers(text, kNow);
  const double max_wait = static_cast<double>(tigo::kMaxHeaderWait.count());
  require_within(h.limit, tigo::kMaxHeaderCount, "X-Rate-Limit-Limit");
  require_within(h.remaining, tigo::kMaxHeaderCount, "X-Rate-Limit-Remaining");
  require_within(h.reset_seconds, max_wait, "X-Rate-Limit-Reset");
  require_within(h.retry_after_seconds, max_wait, "Retry-After");
  require_within(tigo::rate_limited_wait_seconds(h), max_wait, "a 429's wait");

  // What the client does with them: the governor's wait after a 429, and its plan.
  tigo::GovernorOptions o;
  o.seed = 1;
  tigo::Governor governor(o, std::make_shared<StillClock>());
  require(governor.acquire() == tigo::AcquireResult::granted, "a fresh governor refused");
  governor.on_answer(429, h);
  const auto longest =
      std::max<std::chrono::steady_clock::duration>(tigo::kMaxHeaderWait, o.default_429_wait) +
      o.slack;
  require(governor.wait_time() <= longest, "the governor waits longer than a header may ask");
  const double cap = governor.requests_per_minute();
  require(std::isfinite(cap) && cap >= 0 && cap <= o.requests_per_minute,
          "the governor plans with " + std::to_string(cap) + " requests a minute");
}

}  // namespace fuzz
