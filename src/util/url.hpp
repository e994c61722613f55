// Base URLs of HTTP APIs, split into what an HTTP client needs: the client uses them, and the
// configuration validates a URL with the same rules before anything connects.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace util {

struct BaseUrl {
  std::string scheme_host_port;  // "http://127.0.0.1:8080"
  std::string path_prefix;       // "/api/v3/"
  bool https = false;
  std::string host;
};

// Error text names the URL's problem, never secrets.
Result<BaseUrl> parse_base_url(std::string_view url);

}  // namespace util
