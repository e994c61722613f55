// Slow and idle clients against an HTTP server on loopback, as an attacker (or an unlucky network)
// would hold them open: "slowloris" sends one more header line every interval and never ends
// its request, "idle" sends one whole request, reads the answer and keeps the connection open,
// "silent" connects and sends nothing. A connection the server closes is opened again (after a
// short pause), so the number held stays what was asked for. Used by the e2e test and by
// bench/slow_clients.sh.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace testing {

enum class SlowMode : std::size_t { slowloris = 0, idle = 1, silent = 2 };

struct SlowClientsOptions {
  int port = 0;                                   // on 127.0.0.1
  std::vector<std::string> sources{"127.0.0.1"};  // source addresses, in turn
  std::size_t slowloris = 0, idle = 0, silent = 0;
  std::chrono::milliseconds line_interval{2000};  // slowloris: one header line this often
  std::chrono::milliseconds reconnect_pause{100};
  std::string path = "/metrics";
};

class SlowClients {
 public:
  explicit SlowClients(SlowClientsOptions options);
  ~SlowClients();  // stops and closes everything
  SlowClients(const SlowClients&) = delete;
  SlowClients& operator=(const SlowClients&) = delete;

  // Connections the server closed (or refused), by mode.
  std::uint64_t closed_by_server(SlowMode mode) const;
  std::uint64_t connects() const { return connects_; }
  std::size_t open_now() const { return open_; }  // connected at the last look
  // Idle clients whose answer began with "HTTP/1.1 " (each connection counts once).
  std::uint64_t idle_answers() const { return idle_answers_; }

 private:
  struct Conn;
  void run();

  SlowClientsOptions options_;
  std::atomic<bool> stop_{false};
  std::array<std::atomic<std::uint64_t>, 3> closed_{};
  std::atomic<std::uint64_t> connects_{0}, idle_answers_{0};
  std::atomic<std::size_t> open_{0};
  std::thread thread_;
};

}  // namespace testing
