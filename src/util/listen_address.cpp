#include "util/listen_address.hpp"

#include <charconv>

namespace util {

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return make_error("listen address \"" + std::string(text) + "\" needs host:port");
  }
  ListenAddress a;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  a.host = std::string(host);
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || a.port < 0 ||
      a.port > 65535) {
    return make_error("listen address \"" + std::string(text) + "\" has a bad port");
  }
  return a;
}

std::vector<std::string> bind_hosts(const ListenAddress& a) {
  if (a.host.empty()) return {"::", "0.0.0.0"};
  return {a.host};
}

}  // namespace util
