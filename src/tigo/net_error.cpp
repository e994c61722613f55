#include "tigo/net_error.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "util/duration.hpp"
#include "util/listen_address.hpp"

namespace tigo {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string numeric_address(const addrinfo& ai) {
  char host[NI_MAXHOST] = {};
  char serv[NI_MAXSERV] = {};
  if (getnameinfo(ai.ai_addr, ai.ai_addrlen, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "?";
  return util::host_port(host, std::atoi(serv));
}

// One non-blocking connect with a deadline: 0 when it connected, else the errno (ETIMEDOUT
// when the deadline passed first).
int try_connect(const addrinfo& ai, std::chrono::steady_clock::time_point deadline) {
  const int fd =
      ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) return errno;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return ETIMEDOUT;
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }
}

}  // namespace

std::string explain_connect_failure(const std::string& host, int port,
                                    std::chrono::milliseconds limit) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    const std::string why = rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc);
    return "name does not resolve: " + host + ": " + why;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string reasons;
  for (const addrinfo* ai = found; ai; ai = ai->ai_next) {
    const int err = try_connect(*ai, deadline);
    if (err == 0)
      return "connect to " + util::host_port(host, port) +
             " failed (a second attempt just now succeeded)";
    if (!reasons.empty()) reasons += "; ";
    reasons +=
        "connect to " + numeric_address(*ai) + ": " +
        (err == ETIMEDOUT ? "timed out after " + util::format_duration(limit) : errno_text(err));
    if (err == ETIMEDOUT) break;  // the time for all of them is spent
  }
  return reasons.empty() ? "connect to " + util::host_port(host, port) + " failed" : reasons;
}

std::string take_openssl_error() {
  const unsigned long code = ERR_get_error();  // the oldest: the cause, not its consequences
  ERR_clear_error();
  if (code == 0) return {};
  if (const char* reason = ERR_reason_error_string(code)) return reason;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string verify_result_text(long verify_result) {
  return X509_verify_cert_error_string(verify_result);
}

}  // namespace tigo
