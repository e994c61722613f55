// Where bus lines come from, each source on its own thread: a command the exporter starts and
// supervises (`taptap observe --tcp 192.168.1.20 --port 502`: its stdout read line by line, its
// stderr logged, restarted with back-off when it exits, crashes or falls silent, stopped with
// SIGTERM then SIGKILL), a TCP connection or a Unix socket (reconnected with back-off), or a file
// descriptor such as stdin (read to its end). Lines longer than max_line_bytes are skipped whole
// and counted, never buffered; a partial last line at an exit or disconnect is dropped and
// counted as partial (the producer was cut off, not wrong), not as malformed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "local/bus_state.hpp"
#include "local/taptap_event.hpp"

namespace local {

struct SourceSpec {
  enum class Kind { command, tcp, unix_socket, fd };
  Kind kind = Kind::command;
  std::vector<std::string> argv;  // command: no shell; argv[0] is looked up in PATH
  std::string host;               // tcp
  int port = 0;                   // tcp
  std::string path;               // unix_socket
  int fd = 0;                     // fd: read to its end, not closed (stdin by default)
  std::string name;               // in logs; empty: derived ("taptap", "tcp:host:port", ...)

  static SourceSpec command(std::vector<std::string> argv);
  static SourceSpec tcp(std::string host, int port);
  static SourceSpec unix_socket(std::string path);
  static SourceSpec stdin_fd(int fd = 0);
  std::string display_name() const;
};

struct SourceOptions {
  std::size_t max_line_bytes = kMaxLineBytes;
  // After an exit, a crash, a failed start or a lost connection: wait, doubling each time up to
  // the maximum; back to the start once a run lasted healthy_after.
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_max{60'000};
  std::chrono::milliseconds healthy_after{60'000};
  // No line for this long: the command is restarted, the connection reopened (0: never). A hung
  // taptap prints nothing; at night the bus is quiet too, so set it above the longest quiet.
  std::chrono::milliseconds silence_restart{0};
  std::chrono::milliseconds stop_grace{5'000};  // SIGTERM, then SIGKILL
  std::chrono::milliseconds connect_timeout{5'000};
};

struct SourceStats {
  std::uint64_t starts = 0;    // commands started, connections made
  std::uint64_t failures = 0;  // starts or connects that failed (no such program, refused)
  std::uint64_t ends = 0;      // exits, crashes and disconnects (stop() included)
  std::uint64_t silence_restarts = 0;
  std::uint64_t lines = 0;
  std::uint64_t oversized_lines = 0;
  std::uint64_t partial_lines = 0;
  std::uint64_t stderr_lines = 0;
  bool connected = false;               // a command running, a connection open
  int pid = 0;                          // the running command's process id, 0 when none
  std::optional<int> last_exit_status;  // a command's exit code, or -signal when killed
  // The back-off waits planned so far, oldest first (the last 32).
  std::vector<std::chrono::milliseconds> backoffs;
};

struct LineHandlers {
  std::function<void(std::string_view line, ReceiveTime received)> line;
  std::function<void()> oversized;
  std::function<void()> partial;
  std::function<void(bool connected)> connection;
};

// Bytes in, lines out: at most max_line_bytes kept; a longer line is skipped to its newline.
class LineSplitter {
 public:
  enum class Dropped { nothing, partial, oversized };

  explicit LineSplitter(std::size_t max_line_bytes) : max_(max_line_bytes) {}

  // Calls on_line(std::string_view) for each complete line (without "\n" or "\r\n") and
  // on_oversized() for each line skipped.
  template <class OnLine, class OnOversized>
  void feed(std::string_view bytes, OnLine&& on_line, OnOversized&& on_oversized) {
    while (!bytes.empty()) {
      const auto newline = bytes.find('\n');
      const std::string_view piece = bytes.substr(0, newline);
      const bool complete = newline != std::string_view::npos;
      if (!skipping_ && buffer_.size() + piece.size() > max_) {
        skipping_ = true;
        buffer_.clear();
      }
      if (!complete) {
        if (!skipping_) buffer_.append(piece);
        return;
      }
      bytes.remove_prefix(newline + 1);
      if (skipping_) {
        skipping_ = false;
        on_oversized();
        continue;
      }
      std::string_view line = piece;
      if (!buffer_.empty()) {
        buffer_.append(piece);
        line = buffer_;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      on_line(line);
      buffer_.clear();
    }
  }

  // The end of the stream: what an unfinished line was, now dropped.
  Dropped finish() {
    const Dropped d = skipping_         ? Dropped::oversized
                      : buffer_.empty() ? Dropped::nothing
                                        : Dropped::partial;
    buffer_.clear();
    skipping_ = false;
    return d;
  }

 private:
  std::size_t max_;
  std::string buffer_;
  bool skipping_ = false;
};

class LineSource {
 public:
  LineSource(SourceSpec spec, SourceOptions options, LineHandlers handlers);
  ~LineSource();  // stop()
  LineSource(const LineSource&) = delete;
  LineSource& operator=(const LineSource&) = delete;

  void start();  // the reading thread; once
  void stop();   // ends the thread: the command stopped and reaped, the connection closed
  SourceStats stats() const;
  const std::string& name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace local
