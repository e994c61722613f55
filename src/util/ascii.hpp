// Text rules of the protocols we speak (HTTP header names and tokens, media types, CSV headers):
// ASCII only, whatever the locale. Bytes >= 0x80 (UTF-8) compare as themselves.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace util {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
  return out;
}

// ASCII case-insensitive equality (HTTP header names, tokens, media types).
constexpr bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// Without leading and trailing spaces and tabs (HTTP's optional whitespace, CSV cell padding).
constexpr std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace util
