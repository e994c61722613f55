// The rate headers as a server may send them, good and bad: what comes out is finite and within
// its bounds, or nothing. And the governor, given unbounded values directly, bounds them too.
#include "tigo/rate_headers.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "tigo/governor.hpp"

using namespace std::chrono;
using tigo::kMaxHeaderCount;
using tigo::kMaxHeaderWait;

namespace {

constexpr double kMaxWait = static_cast<double>(kMaxHeaderWait.count());

// 2026-06-21T12:00:00Z, a Sunday.
const sys_seconds kNow = sys_days{year{2026} / 6 / 21} + hours{12};

std::optional<double> retry_after(std::string_view text) {
  return tigo::parse_retry_after(text, kNow);
}

}  // namespace

TEST_CASE("a header number is a decimal between optional spaces and nothing else",
          "[tigo][rate_headers]") {
  CHECK(tigo::parse_header_number("7") == 7.0);
  CHECK(tigo::parse_header_number("2.5") == 2.5);
  CHECK(tigo::parse_header_number("1e3") == 1000.0);
  CHECK(tigo::parse_header_number("  7") == 7.0);
  CHECK(tigo::parse_header_number("7  ") == 7.0);
  CHECK(tigo::parse_header_number(" \t7\t ") == 7.0);
  CHECK_FALSE(tigo::parse_header_number("").has_value());
  CHECK_FALSE(tigo::parse_header_number("   ").has_value());
  CHECK_FALSE(tigo::parse_header_number("abc").has_value());
  CHECK_FALSE(tigo::parse_header_number("7abc").has_value());
  CHECK_FALSE(tigo::parse_header_number("7 s").has_value());
  CHECK_FALSE(tigo::parse_header_number("0x10").has_value());
  CHECK_FALSE(tigo::parse_header_number("+7").has_value());
  CHECK_FALSE(tigo::parse_header_number("7\n").has_value());
}

TEST_CASE("a header number beyond double's range is infinite or zero by its magnitude",
          "[tigo][rate_headers]") {
  CHECK(tigo::parse_header_number("1e400") == std::numeric_limits<double>::infinity());
  CHECK(tigo::parse_header_number("-1e400") == -std::numeric_limits<double>::infinity());
  CHECK(tigo::parse_header_number("1e-400") == 0.0);
  CHECK(tigo::parse_header_number("100000e-310") == 1e-305);  // in range after all
  CHECK(tigo::parse_header_number("0.00001e-400") == 0.0);
  CHECK(tigo::parse_header_number("1" + std::string(400, '0')) ==
        std::numeric_limits<double>::infinity());
  CHECK(tigo::parse_header_number("0." + std::string(400, '0') + "1") == 0.0);
  CHECK(tigo::parse_header_number("1" + std::string(400, '0') + "e-1") ==
        std::numeric_limits<double>::infinity());
  CHECK(tigo::parse_header_number("1e99999999999999999999999") ==
        std::numeric_limits<double>::infinity());
}

TEST_CASE("Retry-After in seconds: inf is an hour", "[tigo][rate_headers]") {
  CHECK(retry_after("inf") == kMaxWait);
  CHECK(retry_after("infinity") == kMaxWait);
}

TEST_CASE("Retry-After in seconds: nan is no wait", "[tigo][rate_headers]") {
  CHECK_FALSE(retry_after("nan").has_value());
  CHECK_FALSE(retry_after("-nan").has_value());
}

TEST_CASE("Retry-After in seconds: a negative wait is no wait", "[tigo][rate_headers]") {
  CHECK_FALSE(retry_after("-5").has_value());
  CHECK_FALSE(retry_after("-inf").has_value());
  CHECK_FALSE(retry_after("-1e400").has_value());
  CHECK(retry_after("-0") == 0.0);
}

TEST_CASE("Retry-After in seconds: 1e300 is an hour", "[tigo][rate_headers]") {
  CHECK(retry_after("1e300") == kMaxWait);
  CHECK(retry_after("1e400") == kMaxWait);
}

TEST_CASE("Retry-After in seconds: 2^63 is an hour", "[tigo][rate_headers]") {
  CHECK(retry_after("9223372036854775808") == kMaxWait);
  CHECK(retry_after("18446744073709551616") == kMaxWait);
}

TEST_CASE("Retry-After: empty is no wait", "[tigo][rate_headers]") {
  CHECK_FALSE(retry_after("").has_value());
  CHECK_FALSE(retry_after(" ").has_value());
}

TEST_CASE("Retry-After: garbage is no wait", "[tigo][rate_headers]") {
  CHECK_FALSE(retry_after("abc").has_value());
  CHECK_FALSE(retry_after("5 seconds").has_value());
  CHECK_FALSE(retry_after("Sun, 21 Jun 2026 12:02:00").has_value());      // no GMT
  CHECK_FALSE(retry_after("Sun, 31 Jun 2026 12:02:00 GMT").has_value());  // no 31 June
  CHECK_FALSE(retry_after("Sun, 21 Jun 2026 24:00:00 GMT").has_value());
  CHECK_FALSE(retry_after("Sun, 21 Jun 2026 12:60:00 GMT").has_value());
  CHECK_FALSE(retry_after("Xyz, 21 Jun 2026 12:02:00 GMT").has_value());
  CHECK_FALSE(retry_after("Sun, 21 Foo 2026 12:02:00 GMT").has_value());
  CHECK_FALSE(retry_after("Sun, 21 Jun 2026 12:02:00 GMT trailing").has_value());
}

TEST_CASE("Retry-After: leading and trailing spaces are allowed", "[tigo][rate_headers]") {
  CHECK(retry_after("  120  ") == 120.0);
  CHECK(retry_after("\t120") == 120.0);
  CHECK(retry_after("  Sun, 21 Jun 2026 12:02:00 GMT  ") == 120.0);
}

TEST_CASE("Retry-After as an HTTP-date in the future is the wait until then",
          "[tigo][rate_headers]") {
  CHECK(retry_after("Sun, 21 Jun 2026 12:02:00 GMT") == 120.0);
  CHECK(retry_after("Sunday, 21-Jun-26 12:02:00 GMT") == 120.0);  // RFC 850
  CHECK(retry_after("Sun Jun 21 12:02:00 2026") == 120.0);        // asctime
  CHECK(retry_after("Wed Jul  1 12:00:00 2026") == kMaxWait);     // ten days: an hour at most
  CHECK(retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == kMaxWait);
}

TEST_CASE("Retry-After as an HTTP-date in the past is no wait at all", "[tigo][rate_headers]") {
  CHECK(retry_after("Sun, 21 Jun 2026 11:59:00 GMT") == 0.0);
  CHECK(retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == 0.0);
  CHECK(retry_after("Sunday, 06-Nov-94 08:49:37 GMT") == 0.0);
  CHECK(retry_after("Sun Nov  6 08:49:37 1994") == 0.0);
  CHECK(retry_after("Mon, 01 Jan 0000 00:00:00 GMT") == 0.0);
}

TEST_CASE("an HTTP-date reads in each of its three forms", "[tigo][rate_headers]") {
  const sys_seconds t = sys_days{year{1994} / 11 / 6} + hours{8} + minutes{49} + seconds{37};
  CHECK(tigo::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == t);
  CHECK(tigo::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == t);
  CHECK(tigo::parse_http_date("Sun Nov  6 08:49:37 1994") == t);
  CHECK(tigo::parse_http_date("Sunday, 06-Nov-68 08:49:37 GMT") ==
        sys_days{year{2068} / 11 / 6} + hours{8} + minutes{49} + seconds{37});
  // A leap second is the next day's first second.
  CHECK(tigo::parse_http_date("Wed, 31 Dec 2025 23:59:60 GMT") == sys_days{year{2026} / 1 / 1});
  CHECK_FALSE(tigo::parse_http_date("Sun, 06-Nov-94 08:49:37 GMT").has_value());  // short day
  CHECK_FALSE(tigo::parse_http_date("Sunday, 06 Nov 1994 08:49:37 GMT").has_value());
  CHECK_FALSE(tigo::parse_http_date("Sun Nov 6 08:49:37 1994").has_value());  // one space
  CHECK_FALSE(tigo::parse_http_date("Sun, 29 Feb 2026 08:49:37 GMT").has_value());
}

TEST_CASE("rate counts: negative and nan are left out, huge and inf are bounded",
          "[tigo][rate_headers]") {
  tigo::RateHeaderText text;
  text.limit = "1e300";
  text.remaining = "-3";
  text.reset = "inf";
  text.retry_after = "nan";
  auto h = tigo::read_rate_headers(text, kNow);
  CHECK(h.limit == kMaxHeaderCount);
  CHECK_FALSE(h.remaining.has_value());
  CHECK(h.reset_seconds == kMaxWait);
  CHECK_FALSE(h.retry_after_seconds.has_value());
  CHECK(tigo::rate_limited_wait_seconds(h) == kMaxWait);  // the reset, as Retry-After said nothing

  text = {};
  text.limit = "inf";
  text.remaining = "nan";
  text.reset = "-1";
  h = tigo::read_rate_headers(text, kNow);
  CHECK(h.limit == kMaxHeaderCount);
  CHECK_FALSE(h.remaining.has_value());
  CHECK_FALSE(h.reset_seconds.has_value());
  CHECK_FALSE(h.retry_after_seconds.has_value());
  CHECK_FALSE(tigo::rate_limited_wait_seconds(h).has_value());

  text = {};
  text.limit = "100";
  text.remaining = " 42 ";
  text.reset = "17";
  text.retry_after = "Sun, 21 Jun 2026 12:00:30 GMT";
  h = tigo::read_rate_headers(text, kNow);
  CHECK(h.limit == 100.0);
  CHECK(h.remaining == 42.0);
  CHECK(h.reset_seconds == 17.0);
  CHECK(h.retry_after_seconds == 30.0);
  CHECK(tigo::rate_limited_wait_seconds(h) == 30.0);
}

TEST_CASE("the governor bounds a 429's wait it is given directly", "[tigo][rate_headers]") {
  for (const double bad : {std::numeric_limits<double>::infinity(), 1e300, 9.3e18}) {
    INFO("Retry-After " << bad);
    tigo::GovernorOptions o;
    o.seed = 1;
    tigo::Governor gov(o);
    REQUIRE(gov.acquire() == tigo::AcquireResult::granted);
    tigo::RateHeaders h;
    h.retry_after_seconds = bad;
    h.remaining = -std::numeric_limits<double>::infinity();
    h.limit = std::numeric_limits<double>::quiet_NaN();
    gov.on_answer(429, h);
    const auto wait = gov.wait_time();
    CHECK(wait > kMaxHeaderWait - minutes{1});
    CHECK(wait <= kMaxHeaderWait);
    const auto s = gov.state();
    CHECK_FALSE(s.header_limit.has_value());
    CHECK_FALSE(s.header_remaining.has_value());
    CHECK(s.cap_per_minute == 100.0);
  }
  // NaN says nothing: the default wait of a 429 applies.
  tigo::GovernorOptions o;
  o.seed = 1;
  tigo::Governor gov(o);
  REQUIRE(gov.acquire() == tigo::AcquireResult::granted);
  tigo::RateHeaders h;
  h.retry_after_seconds = std::numeric_limits<double>::quiet_NaN();
  h.reset_seconds = -5;
  gov.on_answer(429, h);
  CHECK(gov.wait_time() > o.default_429_wait - seconds{5});
  CHECK(gov.wait_time() <= o.default_429_wait);
}
