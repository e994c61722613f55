#include "util/base64.hpp"

namespace util {

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  unsigned val = 0;
  int bits = -8;
  for (char c : text) {
    if (c == '=') break;
    int d;
    if (c >= 'A' && c <= 'Z') {
      d = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      d = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      d = c - '0' + 52;
    } else if (c == '+') {
      d = 62;
    } else if (c == '/') {
      d = 63;
    } else {
      return std::nullopt;
    }
    val = (val << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header) {
  if (!header.starts_with("Basic ")) return std::nullopt;
  auto decoded = base64_decode(header.substr(6));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

}  // namespace util
