// Child processes for end-to-end tests: output captured to a file, always stopped (SIGTERM, then
// SIGKILL) when the owner goes away, and killed by the kernel if the test process dies first.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace testing {

class Process {
 public:
  // argv[0] is the program path. Output (stdout and stderr) goes to log_path.
  Process(std::vector<std::string> argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until the log matches `pattern`; returns the first capture group (or whole match).
  std::optional<std::string> wait_for_log(const std::regex& pattern,
                                          std::chrono::milliseconds timeout) const;
  std::string log() const;
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status (-signal if killed).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds{10});
  // Waits for the process to exit by itself.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> status_;
};

// Runs a program to completion (with a timeout) and returns {exit code, output}.
std::pair<int, std::string> run_to_completion(std::vector<std::string> argv,
                                              std::chrono::milliseconds timeout);

// A port that was free a moment ago on 127.0.0.1.
int free_loopback_port();

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace testing
