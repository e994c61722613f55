// The API URL (--tigo.api-url) as the config checks it and the client splits it.
#include "util/url.hpp"

#include <charconv>
#include <string>

#include "targets.hpp"

namespace fuzz {

void run_url(std::string_view input) {
  const auto url = util::parse_base_url(input);
  if (!url) return;
  const std::string scheme = url->https ? "https://" : "http://";
  require(!url->host.empty(), "a URL without a host accepted");
  require(url->scheme_host_port.starts_with(scheme), "scheme_host_port lost the scheme");
  require(url->scheme_host_port.size() > scheme.size(), "scheme_host_port without a host");
  require(url->path_prefix.starts_with("/") && url->path_prefix.ends_with("/"),
          "path prefix not between slashes: " + url->path_prefix);
  // The authority is the host, in brackets if it is IPv6, and an optional port of 1..65535.
  const std::string authority = url->scheme_host_port.substr(scheme.size());
  const bool v6 = authority.starts_with("[");
  require(v6 || url->host.find(':') == std::string::npos, "an IPv6 host without brackets");
  const std::string host_part = v6 ? "[" + url->host + "]" : url->host;
  require(authority.starts_with(host_part), "the authority does not start with the host");
  if (authority.size() > host_part.size()) {
    const std::string port = authority.substr(host_part.size());
    int number = 0;
    const auto [ptr, ec] = std::from_chars(port.data() + 1, port.data() + port.size(), number);
    require(port[0] == ':' && ec == std::errc{} && ptr == port.data() + port.size() &&
                number >= 1 && number <= 65535,
            "not a port of 1..65535: " + port);
  }
  // What it was split into reads back as the same.
  const auto again = util::parse_base_url(url->scheme_host_port + url->path_prefix);
  require(again.ok() && again->scheme_host_port == url->scheme_host_port &&
              again->path_prefix == url->path_prefix && again->host == url->host &&
              again->https == url->https,
          "scheme_host_port + path_prefix does not read back the same");
}

}  // namespace fuzz
