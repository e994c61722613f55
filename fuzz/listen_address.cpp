// --web.listen-address: what parses prints back (host_port, as logs and URLs write it) to the
// same address.
#include "util/listen_address.hpp"

#include <string>

#include "targets.hpp"

namespace fuzz {

void run_listen_address(std::string_view input) {
  const auto address = util::parse_listen_address(input);
  if (!address) return;
  require(address->port >= 0 && address->port <= 65535, "port out of range");
  require(!util::bind_hosts(*address).empty(), "no host to bind");
  const std::string printed = util::host_port(address->host, address->port);
  const auto again = util::parse_listen_address(printed);
  require(again.ok() && again->host == address->host && again->port == address->port,
          "\"" + printed + "\" does not read back as the same address");
}

}  // namespace fuzz
