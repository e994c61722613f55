#include "util/listen_address.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace util {

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return make_error("listen address \"" + std::string(text) + "\" needs host:port");
  }
  ListenAddress a;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  // Brackets only around a whole IPv6 host: "[[]]" or "[]" would name another host when written
  // back (found by fuzz_listen_address).
  if ((bracketed && host.empty()) || host.find_first_of("[]") != std::string_view::npos)
    return make_error("listen address \"" + std::string(text) + "\" has a bad host");
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

std::string host_port(std::string_view host, int port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out.push_back('[');
  out.append(host);
  if (v6) out.push_back(']');
  return out.append(":").append(std::to_string(port));
}

void set_exclusive_listen_options(int socket) {
  const int yes = 1;
  setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

std::string bind_failure_reason(const std::string& host, int error_number) {
  if (error_number != 0) return std::strerror(error_number);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), "0", &hints, &found);
  if (found) freeaddrinfo(found);
  return rc != 0 ? gai_strerror(rc) : "unknown reason";
}

}  // namespace util
