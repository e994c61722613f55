#include "tigo/rate_headers.hpp"

#include <date/date.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace tigo {
namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A number that std::from_chars matched but found beyond double's range is left unconverted;
// its sign, and whether its magnitude is above or below 1, say what it was: +-inf or +-0.
double beyond_range(std::string_view number) {
  const bool negative = !number.empty() && number.front() == '-';
  if (negative) number.remove_prefix(1);
  const auto e = number.find_first_of("eE");
  const std::string_view mantissa = number.substr(0, e);
  const auto point = mantissa.find('.');
  const std::string_view whole = mantissa.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view{} : mantissa.substr(point + 1);
  // The power of ten of the first significant digit, then the exponent added (saturating: an
  // exponent of a million digits is no bigger a number for our purpose).
  long long magnitude = 0;
  if (const auto lead = whole.find_first_not_of('0'); lead != std::string_view::npos) {
    magnitude = static_cast<long long>(whole.size() - lead) - 1;
  } else if (const auto first = fraction.find_first_not_of('0'); first != std::string_view::npos) {
    magnitude = -static_cast<long long>(first) - 1;
  } else {
    return 0.0;  // all zeros: never out of range, but zero all the same
  }
  if (e != std::string_view::npos) {
    std::string_view exp = number.substr(e + 1);
    const bool exp_negative = !exp.empty() && exp.front() == '-';
    if (!exp.empty() && (exp.front() == '-' || exp.front() == '+')) exp.remove_prefix(1);
    long long value = 0;
    for (char c : exp) value = std::min(value * 10 + (c - '0'), 1'000'000'000LL);
    magnitude += exp_negative ? -value : value;
  }
  const double size = magnitude >= 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return negative ? -size : size;
}

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

// Reads an HTTP-date from left to right; every step fails (false, nullopt) without consuming.
class DateScanner {
 public:
  explicit DateScanner(std::string_view s) : s_(s) {}
  bool done() const { return s_.empty(); }
  bool peek(char c) const { return !s_.empty() && s_.front() == c; }
  bool skip(char c) {
    if (!peek(c)) return false;
    s_.remove_prefix(1);
    return true;
  }
  bool skip(std::string_view word) {
    if (s_.substr(0, word.size()) != word) return false;
    s_.remove_prefix(word.size());
    return true;
  }
  std::string_view letters() {
    std::size_t n = 0;
    while (n < s_.size() && ((s_[n] >= 'A' && s_[n] <= 'Z') || (s_[n] >= 'a' && s_[n] <= 'z'))) ++n;
    const auto out = s_.substr(0, n);
    s_.remove_prefix(n);
    return out;
  }
  // Exactly `n` digits.
  std::optional<int> digits(std::size_t n) {
    if (s_.size() < n) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!is_digit(s_[i])) return std::nullopt;
      value = value * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(n);
    return value;
  }
  // "hh:mm:ss"
  std::optional<std::chrono::seconds> time_of_day() {
    const auto h = digits(2);
    if (!h || !skip(':')) return std::nullopt;
    const auto m = digits(2);
    if (!m || !skip(':')) return std::nullopt;
    const auto s = digits(2);
    if (!s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;  // 60: a leap second
    return std::chrono::hours{*h} + std::chrono::minutes{*m} + std::chrono::seconds{*s};
  }
  std::optional<unsigned> month() {
    const auto name = letters();
    for (std::size_t i = 0; i < kMonths.size(); ++i)
      if (name == kMonths[i]) return static_cast<unsigned>(i + 1);
    return std::nullopt;
  }

 private:
  std::string_view s_;
};

template <std::size_t N>
bool one_of(std::string_view word, const std::array<std::string_view, N>& names) {
  return std::find(names.begin(), names.end(), word) != names.end();
}

std::optional<std::chrono::sys_seconds> make_time(int year, std::optional<unsigned> month, int day,
                                                  std::optional<std::chrono::seconds> time) {
  if (!month || !time) return std::nullopt;
  const date::year_month_day ymd{date::year{year}, date::month{*month},
                                 date::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return date::sys_days{ymd} + *time;
}

}  // namespace

std::optional<double> parse_header_number(std::string_view text) {
  text = trim_ows(text);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return std::nullopt;  // garbage, or nothing numeric
  if (ec == std::errc::result_out_of_range) return beyond_range(text);
  if (ec != std::errc{}) return std::nullopt;
  return value;
}

std::optional<double> bounded_count(double value) {
  if (std::isnan(value) || value < 0) return std::nullopt;
  return std::min(value, kMaxHeaderCount);
}

std::optional<double> bounded_wait_seconds(double seconds) {
  if (std::isnan(seconds) || seconds < 0) return std::nullopt;
  return std::min(seconds, static_cast<double>(kMaxHeaderWait.count()));
}

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text) {
  DateScanner in(trim_ows(text));
  const auto weekday = in.letters();
  if (in.skip(',')) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    if (!in.skip(' ')) return std::nullopt;
    const auto day = in.digits(2);
    if (!day) return std::nullopt;
    std::optional<std::chrono::sys_seconds> t;
    if (one_of(weekday, kDays) && in.skip(' ')) {
      const auto month = in.month();
      if (!in.skip(' ')) return std::nullopt;
      const auto year = in.digits(4);
      if (!year || !in.skip(' ')) return std::nullopt;
      t = make_time(*year, month, *day, in.time_of_day());
    } else if (one_of(weekday, kLongDays) && in.skip('-')) {
      const auto month = in.month();
      if (!in.skip('-')) return std::nullopt;
      const auto year = in.digits(2);
      if (!year || !in.skip(' ')) return std::nullopt;
      t = make_time(*year + (*year >= 69 ? 1900 : 2000), month, *day, in.time_of_day());
    }
    if (!t || !in.skip(" GMT") || !in.done()) return std::nullopt;
    return t;
  }
  // asctime "Sun Nov  6 08:49:37 1994": the day is two digits or a space and one digit.
  if (!one_of(weekday, kDays) || !in.skip(' ')) return std::nullopt;
  const auto month = in.month();
  if (!in.skip(' ')) return std::nullopt;
  const auto day = in.skip(' ') ? in.digits(1) : in.digits(2);
  if (!day || !in.skip(' ')) return std::nullopt;
  const auto time = in.time_of_day();
  if (!in.skip(' ')) return std::nullopt;
  const auto year = in.digits(4);
  if (!year || !in.done()) return std::nullopt;
  return make_time(*year, month, *day, time);
}

std::optional<double> parse_retry_after(std::string_view text,
                                        std::chrono::system_clock::time_point now) {
  if (const auto seconds = parse_header_number(text)) return bounded_wait_seconds(*seconds);
  const auto date = parse_http_date(text);
  if (!date) return std::nullopt;
  // In seconds: a far date less `now` in the clock's nanoseconds would overflow.
  const auto left =
      static_cast<double>((*date - std::chrono::floor<std::chrono::seconds>(now)).count());
  return bounded_wait_seconds(std::max(left, 0.0));
}

RateHeaders read_rate_headers(const RateHeaderText& text,
                              std::chrono::system_clock::time_point now) {
  const auto number = [](const std::optional<std::string_view>& t) {
    return t ? parse_header_number(*t) : std::nullopt;
  };
  RateHeaders h;
  h.limit = number(text.limit);
  h.remaining = number(text.remaining);
  h.reset_seconds = number(text.reset);
  if (text.retry_after) h.retry_after_seconds = parse_retry_after(*text.retry_after, now);
  return bounded(h);
}

RateHeaders bounded(const RateHeaders& h) {
  const auto with = [](const std::optional<double>& v, auto bound) {
    return v ? bound(*v) : std::nullopt;
  };
  RateHeaders out;
  out.limit = with(h.limit, bounded_count);
  out.remaining = with(h.remaining, bounded_count);
  out.reset_seconds = with(h.reset_seconds, bounded_wait_seconds);
  out.retry_after_seconds = with(h.retry_after_seconds, bounded_wait_seconds);
  return out;
}

std::optional<double> rate_limited_wait_seconds(const RateHeaders& h) {
  const RateHeaders b = bounded(h);
  if (b.retry_after_seconds && *b.retry_after_seconds > 0) return b.retry_after_seconds;
  if (b.reset_seconds && *b.reset_seconds > 0) return b.reset_seconds;
  return std::nullopt;
}

}  // namespace tigo
