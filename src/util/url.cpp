#include "util/url.hpp"

#include <charconv>

namespace util {

Result<BaseUrl> parse_base_url(std::string_view url) {
  BaseUrl b;
  std::string_view rest;
  if (url.starts_with("https://")) {
    b.https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return make_error("API URL must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return make_error("API URL needs a host (and no user info)");
  }
  // host, host:port, [v6] or [v6]:port; the port, when given, a number the client can use.
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("API URL has a '[' without ']'");
    b.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return make_error("API URL: text after ']'");
    if (!after.empty()) port = after.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    b.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (b.host.find(':') != std::string::npos)
      return make_error("API URL: an IPv6 host goes in brackets");
  }
  if (b.host.empty()) return make_error("API URL needs a host (and no user info)");
  if (authority.back() == ':' || !port.empty()) {
    int number = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || number < 1 ||
        number > 65535)
      return make_error("API URL has a bad port");
  }
  b.scheme_host_port =
      std::string(url.substr(0, url.size() - rest.size())) + std::string(authority);
  b.path_prefix = std::string(path);
  if (b.path_prefix.back() != '/') b.path_prefix += '/';
  return b;
}

}  // namespace util
