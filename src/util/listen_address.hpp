// "host:port", ":port" (all interfaces) and "[v6]:port" listen addresses.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace util {

struct ListenAddress {
  std::string host;  // "0.0.0.0" for ":9980"
  int port = 0;      // 0: pick a free port
};

Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace util
