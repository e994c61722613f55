// "host:port", ":port" (all interfaces) and "[v6]:port" listen addresses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace util {

struct ListenAddress {
  std::string host;  // empty for ":9980": every interface
  int port = 0;      // 0: pick a free port
};

Result<ListenAddress> parse_listen_address(std::string_view text);

// Hosts to try binding, in order: for every interface IPv6 first (dual-stack on Linux, so IPv4
// and IPv6-only clusters both reach it), then IPv4 where the kernel has no IPv6.
std::vector<std::string> bind_hosts(const ListenAddress& a);

// host:port as URLs and logs write it: an IPv6 host in brackets ("[::1]:9980"), so the port
// cannot be read as part of the address; ":9980" for every interface.
std::string host_port(std::string_view host, int port);

// Socket options for a listening socket: SO_REUSEADDR only, so a restart binds past TIME_WAIT,
// but never SO_REUSEPORT: a second server on a busy port must fail, not share its connections.
void set_exclusive_listen_options(int socket);

// Why binding `host` failed, in the system's words: strerror of the bind's errno, or the
// resolver's message when the host did not resolve (errno 0).
std::string bind_failure_reason(const std::string& host, int error_number);

}  // namespace util
