#include "support/slow_clients.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace testing {
namespace {

using Clock = std::chrono::steady_clock;

// A socket from `source` connecting (non-blocking) to 127.0.0.1:port, or -1. One server that
// accepts slowly must not stall every other connection of the attack.
int connect_from(const std::string& source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
      inet_pton(AF_INET, "127.0.0.1", &to.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& text) {
  return send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

}  // namespace

struct SlowClients::Conn {
  SlowMode mode = SlowMode::silent;
  std::string source;
  int fd = -1;
  bool connecting = false;
  Clock::time_point
      next;  // next line (slowloris), connect attempt (closed) or give-up (connecting)
  int lines = 0;
  bool answered = false;
};

SlowClients::SlowClients(SlowClientsOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

SlowClients::~SlowClients() {
  stop_ = true;
  thread_.join();
}

std::uint64_t SlowClients::closed_by_server(SlowMode mode) const {
  return closed_[static_cast<std::size_t>(mode)];
}

void SlowClients::run() {
  std::vector<Conn> conns;
  std::size_t source = 0;
  const auto add = [&](SlowMode mode, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      Conn c;
      c.mode = mode;
      c.source = options_.sources[source++ % options_.sources.size()];
      conns.push_back(std::move(c));
    }
  };
  add(SlowMode::slowloris, options_.slowloris);
  add(SlowMode::idle, options_.idle);
  add(SlowMode::silent, options_.silent);
  // Connections start spread over the first line interval, as a real attacker's would.
  const auto start = Clock::now();
  for (std::size_t i = 0; i < conns.size(); ++i)
    conns[i].next = start + options_.line_interval * static_cast<long>(i) /
                                static_cast<long>(std::max<std::size_t>(conns.size(), 1)) / 4;

  const std::string request_line = "GET " + options_.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  std::vector<pollfd> polls;
  char buf[65536];
  const auto drop = [&](Conn& c) {
    close(c.fd);
    c.fd = -1;
    c.connecting = false;
    ++closed_[static_cast<std::size_t>(c.mode)];
    c.next = Clock::now() + options_.reconnect_pause;
  };
  while (!stop_) {
    const auto now = Clock::now();
    std::size_t open = 0;
    for (auto& c : conns) {
      if (c.fd < 0) {
        if (now < c.next) continue;
        c.fd = connect_from(c.source, options_.port);
        c.lines = 0;
        c.answered = false;
        if (c.fd < 0) {
          ++closed_[static_cast<std::size_t>(c.mode)];
          c.next = now + options_.reconnect_pause;
          continue;
        }
        c.connecting = true;
        c.next = now + std::chrono::seconds{5};  // then given up as refused
      } else if (c.connecting) {
        if (now >= c.next) drop(c);
      } else if (c.mode == SlowMode::slowloris && now >= c.next) {
        send_all(c.fd, "X-Slow-" + std::to_string(c.lines++) + ": 1\r\n");
        c.next = now + options_.line_interval;
      }
      open += c.fd >= 0 && !c.connecting;
    }
    open_ = open;
    polls.clear();
    for (const auto& c : conns)
      if (c.fd >= 0)
        polls.push_back({c.fd, static_cast<short>(c.connecting ? POLLOUT : POLLIN), 0});
    poll(polls.data(), polls.size(), 50);
    std::size_t k = 0;
    for (auto& c : conns) {
      if (c.fd < 0) continue;
      const pollfd& p = polls[k++];
      if ((p.revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) == 0) continue;
      if (c.connecting) {
        int error = 0;
        socklen_t len = sizeof error;
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
          drop(c);
          continue;
        }
        c.connecting = false;
        ++connects_;
        c.next = Clock::now() + options_.line_interval;
        if (c.mode == SlowMode::slowloris) send_all(c.fd, request_line);
        if (c.mode == SlowMode::idle) send_all(c.fd, request_line + "\r\n");
        continue;
      }
      const auto n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (c.mode == SlowMode::idle && !c.answered &&
            std::string_view(buf, static_cast<std::size_t>(n)).starts_with("HTTP/1.1 ")) {
          c.answered = true;
          ++idle_answers_;
        }
        continue;  // answers are read and dropped, never left to fill the socket
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      drop(c);
    }
  }
  for (auto& c : conns)
    if (c.fd >= 0) close(c.fd);
}

}  // namespace testing
