// The resolver's, the socket's and OpenSSL's own words for a request that got no answer.
// cpp-httplib 0.11 reports only an enum (Connection, SSLConnection, ...); these functions find
// out what happened, so logs and the status page say "Connection refused", not "Connection".
#pragma once

#include <chrono>
#include <string>

namespace tigo {

// After a failed connect: resolves `host` again (getaddrinfo, as httplib did) and, when it
// resolves, connects to each address once more (within `limit` in all) to learn the socket's
// reason. "name does not resolve: Name or service not known", "connect to 127.0.0.1:1:
// Connection refused", "connect to 192.0.2.1:443: timed out after 2s"; when the second attempt
// succeeds, says so.
std::string explain_connect_failure(const std::string& host, int port,
                                    std::chrono::milliseconds limit);

// The oldest error in this thread's OpenSSL error queue as text ("wrong version number"), or
// empty. The queue is then cleared. Call ERR_clear_error() before the request.
std::string take_openssl_error();

// X509_verify_cert_error_string of a verify result ("self-signed certificate").
std::string verify_result_text(long verify_result);

}  // namespace tigo
