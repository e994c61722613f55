// Sockets for servers that run their own event loop: a non-blocking listening socket, the text of
// a client's address, and room for as many descriptors as the connections they admit.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string>

#include "util/result.hpp"

namespace util {

// A non-blocking listening TCP socket bound to host:port (port 0 picks a free one) with the
// options of set_exclusive_listen_options; "::" accepts IPv4 too (dual-stack). The error is the
// reason alone (bind_failure_reason): the caller names the address.
Result<int> listen_tcp(const std::string& host, int port);

// The local port of a bound socket; -1 on failure.
int bound_port(int socket);

// A peer's numeric address ("127.0.0.1", "::1"); an IPv4-mapped IPv6 address as plain IPv4, so a
// client counts as one whichever family the dual-stack socket saw. `port` receives its port.
std::string peer_address(const sockaddr_storage& address, int& port);

// Raises the soft limit of open files towards `wanted` (never above the hard limit, never
// lowers it); returns the soft limit in force afterwards.
std::size_t raise_open_files_limit(std::size_t wanted);

}  // namespace util
