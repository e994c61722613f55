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

}  // namespace util
