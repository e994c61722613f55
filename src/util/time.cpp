#include "util/time.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <exception>

namespace util {
namespace {

// Exactly `digits` decimal digits: from_chars alone would take a sign ("-066" as a year).
bool read_int(std::string_view& s, size_t digits, int& out) {
  if (s.size() < digits) return false;
  for (size_t k = 0; k < digits; ++k)
    if (s[k] < '0' || s[k] > '9') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + digits, out);
  if (ec != std::errc{} || ptr != s.data() + digits) return false;
  s.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_iso8601(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_int(s, 4, y) || !expect(s, '-') || !read_int(s, 2, mo) || !expect(s, '-') ||
      !read_int(s, 2, d))
    return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  std::chrono::sys_seconds base{date::sys_days{ymd}.time_since_epoch()};
  if (s.empty()) return base;
  if (!(expect(s, 'T') || expect(s, ' '))) return std::nullopt;
  if (!read_int(s, 2, h) || !expect(s, ':') || !read_int(s, 2, mi)) return std::nullopt;
  if (!s.empty() && s.front() == ':' && (s.remove_prefix(1), !read_int(s, 2, sec)))
    return std::nullopt;
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  if (!s.empty() && (s.front() == '.' || s.front() == ',')) {
    s.remove_prefix(1);
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') s.remove_prefix(1);
  }
  int offset_min = 0;
  if (!s.empty()) {
    if (s == "Z" || s == "z") {
      s = {};
    } else if (s.front() == '+' || s.front() == '-') {
      const int sign = s.front() == '-' ? -1 : 1;
      s.remove_prefix(1);
      int oh = 0, om = 0;
      if (!read_int(s, 2, oh)) return std::nullopt;
      if (!s.empty() && s.front() == ':') s.remove_prefix(1);
      if (!s.empty() && !read_int(s, 2, om)) return std::nullopt;
      if (!s.empty() || oh > 23 || om > 59) return std::nullopt;
      offset_min = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  return base + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{sec} -
         std::chrono::minutes{offset_min};
}

std::string format_iso8601_utc(std::chrono::sys_seconds t) { return date::format("%FT%TZ", t); }

void preload_time_zones(const std::vector<std::string>& names) {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  for (const auto& name : names) {
    try {
      (void)date::locate_zone(name)->get_info(now);
    } catch (const std::exception&) {
    }
  }
}

std::string format_iso8601_in_zone(std::chrono::sys_seconds t, std::string_view tz) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(tz);
  } catch (const std::exception&) {
    return {};
  }
  // An offset is written in whole minutes, but local mean time (before a zone's standard time)
  // has seconds (+10:36:20): the wall time written is that of the offset written, so that the
  // text still denotes `t`.
  const auto offset_min =
      std::chrono::duration_cast<std::chrono::minutes>(zone->get_info(t).offset);
  const auto local = date::local_seconds{(t + offset_min).time_since_epoch()};
  const auto off_min = offset_min.count();
  const long abs_min = off_min < 0 ? -off_min : off_min;
  char offset[40];
  std::snprintf(offset, sizeof offset, "%c%02ld:%02ld", off_min < 0 ? '-' : '+', abs_min / 60,
                abs_min % 60);
  return date::format("%FT%T", local) + offset;
}

namespace {

const date::time_zone* find_zone(std::string_view tz) {
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

bool is_known_zone(std::string_view tz) { return find_zone(tz) != nullptr; }

std::optional<std::chrono::sys_seconds> local_to_utc_in_zone(
    std::chrono::local_seconds local, std::string_view tz,
    std::optional<std::chrono::sys_seconds> previous) {
  const auto* zone = find_zone(tz);
  if (zone == nullptr) return std::nullopt;
  const date::local_seconds wall{local.time_since_epoch()};
  const date::local_info info = zone->get_info(wall);
  // `first` is the only period, the earlier of two, or the one before a gap.
  const std::chrono::sys_seconds first{local.time_since_epoch() - info.first.offset};
  if (!previous || first > *previous || info.result != date::local_info::ambiguous) return first;
  const std::chrono::sys_seconds second{local.time_since_epoch() - info.second.offset};
  return second > *previous ? second : first;
}

std::optional<std::chrono::local_days> local_day_in_zone(std::chrono::sys_seconds t,
                                                         std::string_view tz) {
  const auto* zone = find_zone(tz);
  if (zone == nullptr) return std::nullopt;
  const auto wall = t + zone->get_info(t).offset;
  return std::chrono::local_days{std::chrono::floor<std::chrono::days>(wall).time_since_epoch()};
}

std::chrono::nanoseconds boot_elapsed() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

}  // namespace util
