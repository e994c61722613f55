// The rate headers of an answer (X-Rate-Limit-Limit, -Remaining, -Reset and Retry-After), read
// so that nothing a server sends can do harm: every number that comes out is finite and within
// the bounds below, and what is not a usable number is left out (nullopt). Pure functions; the
// client reads answers with them and the governor bounds whatever it is given with them.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace tigo {

// Longest wait a header may impose; a longer one (infinity, 1e300) is taken as this.
inline constexpr std::chrono::seconds kMaxHeaderWait{3600};
// Largest count (limit, remaining) taken from a header; a larger one is taken as this.
inline constexpr double kMaxHeaderCount = 1e9;

// X-Rate-Limit-* and Retry-After of one answer; unset when absent or unusable. Waits are in
// [0, kMaxHeaderWait] seconds, counts in [0, kMaxHeaderCount].
struct RateHeaders {
  std::optional<double> limit;
  std::optional<double> remaining;
  std::optional<double> reset_seconds;  // seconds to wait until the window resets (not an epoch)
  std::optional<double> retry_after_seconds;
};

// The headers' text as the answer had them; nullopt: the header was absent.
struct RateHeaderText {
  std::optional<std::string_view> limit;
  std::optional<std::string_view> remaining;
  std::optional<std::string_view> reset;
  std::optional<std::string_view> retry_after;
};

// A header's number: optional spaces or tabs, a decimal number as std::from_chars reads it
// ("7", "2.5", "1e3", "inf", "nan"), optional spaces or tabs, and nothing else; nullopt
// otherwise. A number beyond double's range is +-infinity (1e400) or +-0 (1e-400).
std::optional<double> parse_header_number(std::string_view text);

// A count or a wait in seconds, bounded: nullopt for NaN and negative values (no count or wait
// is negative), else at most kMaxHeaderCount or kMaxHeaderWait.
std::optional<double> bounded_count(double value);
std::optional<double> bounded_wait_seconds(double seconds);

// An HTTP-date in any of its three forms (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT",
// "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year 69-99 is 19xx, else 20xx) and asctime's
// "Sun Nov  6 08:49:37 1994". The weekday's name is required but not checked against the date.
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text);

// Retry-After: delay-seconds (a number, as parse_header_number) or an HTTP-date, as the wait
// from `now` (a date in the past: 0), bounded as bounded_wait_seconds.
std::optional<double> parse_retry_after(std::string_view text,
                                        std::chrono::system_clock::time_point now);

// All four headers of one answer: counts and the reset bounded as above, Retry-After relative to
// `now`.
RateHeaders read_rate_headers(const RateHeaderText& text,
                              std::chrono::system_clock::time_point now);

// `h` with every value bounded as read_rate_headers bounds them (for values from elsewhere).
RateHeaders bounded(const RateHeaders& h);

// The wait a 429 with these headers asks for: Retry-After, else X-Rate-Limit-Reset, whichever
// is first above 0; nullopt when neither says.
std::optional<double> rate_limited_wait_seconds(const RateHeaders& h);

}  // namespace tigo
