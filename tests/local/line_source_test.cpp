// Line sources with real processes (/bin/sh scripts that print, exit, crash, hang, print garbage
// or a 1 MiB line) and real sockets on loopback: lines arrive, restarts back off, nothing is
// left running.
#include "local/line_source.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "local/bus_source.hpp"

using namespace std::chrono;

namespace {

// Everything a source handed over, from its thread.
struct Collector {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::vector<steady_clock::time_point> times;
  int oversized = 0;
  int partial = 0;
  std::vector<bool> connections;

  local::LineHandlers handlers() {
    return {[this](std::string_view line, local::ReceiveTime received) {
              std::lock_guard lock(mutex);
              lines.emplace_back(line);
              times.push_back(received.steady);
            },
            [this] {
              std::lock_guard lock(mutex);
              ++oversized;
            },
            [this] {
              std::lock_guard lock(mutex);
              ++partial;
            },
            [this](bool connected) {
              std::lock_guard lock(mutex);
              connections.push_back(connected);
            }};
  }
  std::vector<std::string> copy() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

// Polls until `done` holds; a bound on how long a broken test hangs, not a timing assertion.
template <class F>
bool eventually(F&& done, milliseconds limit = seconds{20}) {
  const auto deadline = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds{10});
  }
  return true;
}

local::SourceSpec shell(const std::string& script) {
  return local::SourceSpec::command({"/bin/sh", "-c", script});
}

local::SourceOptions fast() {
  local::SourceOptions o;
  o.backoff_initial = milliseconds{20};
  o.backoff_max = milliseconds{160};
  o.healthy_after = seconds{30};
  o.stop_grace = milliseconds{500};
  return o;
}

// A process that no longer exists, or a zombie some other parent has not reaped yet: either way
// not a child of ours left running.
bool gone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  return close != std::string::npos && text.size() > close + 2 && text[close + 2] == 'Z';
}

constexpr const char* kReport =
    R"({"event_type":"power_report","gateway":1,"node":2,"timestamp":"2025-06-01T12:00:00.5+00:00","voltage_in":30.5,"voltage_out":30.1,"current":5,"dc_dc_duty_cycle":1.0,"temperature":25.5,"rssi":150})";

}  // namespace

TEST_CASE("line source: a command's lines arrive, and stop() ends and reaps it",
          "[local][line_source]") {
  Collector got;
  local::LineSource source(shell("printf 'one\\ntwo\\r\\n'; echo to-stderr >&2; exec sleep 60"),
                           fast(), got.handlers());
  CHECK(source.name() == "sh");
  source.start();
  REQUIRE(eventually([&] { return got.copy().size() == 2; }));
  REQUIRE(eventually([&] { return source.stats().stderr_lines == 1; }));
  const auto running = source.stats();
  CHECK(running.connected);
  CHECK(running.starts == 1);
  REQUIRE(running.pid > 0);
  CHECK(got.copy() == std::vector<std::string>{"one", "two"});
  source.stop();
  const auto stopped = source.stats();
  CHECK_FALSE(stopped.connected);
  CHECK(stopped.ends == 1);
  CHECK(stopped.pid == 0);
  CHECK(stopped.last_exit_status == -SIGTERM);
  CHECK(gone(running.pid));
  CHECK(got.connections == std::vector<bool>{true, false});
}

TEST_CASE("line source: a command that exits is restarted, each wait twice the last",
          "[local][line_source]") {
  Collector got;
  local::LineSource source(shell("echo started; exit 1"), fast(), got.handlers());
  source.start();
  // Read before stop(), which would end the run under way with SIGTERM.
  REQUIRE(eventually([&] { return source.stats().ends >= 6; }));
  const auto stats = source.stats();
  source.stop();
  CHECK(stats.last_exit_status == 1);
  CHECK(stats.failures == 0);
  REQUIRE(stats.backoffs.size() >= 5);
  const std::vector<milliseconds> planned(stats.backoffs.begin(), stats.backoffs.begin() + 5);
  CHECK(planned == std::vector<milliseconds>{milliseconds{20}, milliseconds{40}, milliseconds{80},
                                             milliseconds{160}, milliseconds{160}});
  // Each start waited at least the planned back-off after the previous one's line.
  const auto lines = got.copy();
  std::vector<steady_clock::time_point> times;
  {
    std::lock_guard lock(got.mutex);
    times = got.times;
  }
  REQUIRE(times.size() >= 5);
  for (std::size_t i = 1; i < 5; ++i) {
    INFO("restart " << i);
    CHECK(times[i] - times[i - 1] >= stats.backoffs[i - 1]);
  }
  CHECK(lines[0] == "started");
}

TEST_CASE("line source: a crash is reported by its signal and restarted", "[local][line_source]") {
  Collector got;
  local::LineSource source(shell("echo alive; kill -SEGV $$"), fast(), got.handlers());
  source.start();
  REQUIRE(eventually([&] { return source.stats().ends >= 3; }));
  const auto stats = source.stats();
  source.stop();
  CHECK(stats.last_exit_status == -SIGSEGV);
  CHECK(stats.starts >= 3);
  CHECK(got.copy().size() >= 3);
}

TEST_CASE("line source: a silent command is restarted, SIGKILL when it ignores SIGTERM",
          "[local][line_source]") {
  Collector got;
  auto options = fast();
  options.silence_restart = milliseconds{300};
  options.stop_grace = milliseconds{200};
  local::LineSource source(shell("trap '' TERM; echo hello; while :; do sleep 1; done"), options,
                           got.handlers());
  source.start();
  REQUIRE(
      eventually([&] { return source.stats().silence_restarts >= 1 && got.copy().size() >= 2; }));
  const auto stats = source.stats();
  source.stop();
  CHECK(stats.starts >= 2);
  CHECK(stats.last_exit_status == -SIGKILL);
}

TEST_CASE("line source: a program that cannot start is retried with back-off",
          "[local][line_source]") {
  Collector got;
  local::LineSource source(local::SourceSpec::command({"/nonexistent/taptap", "observe"}), fast(),
                           got.handlers());
  source.start();
  REQUIRE(eventually([&] { return source.stats().failures >= 3; }));
  source.stop();
  const auto stats = source.stats();
  CHECK(stats.starts == 0);
  CHECK(stats.backoffs.at(1) == 2 * stats.backoffs.at(0));
  CHECK(got.connections.empty());

  local::LineSource unknown(local::SourceSpec::command({"no-such-program-anywhere"}), fast(),
                            got.handlers());
  unknown.start();
  REQUIRE(eventually([&] { return unknown.stats().failures >= 1; }));
}

TEST_CASE("line source: a 1 MiB line is skipped whole, the next line arrives",
          "[local][line_source]") {
  Collector got;
  local::LineSource source(
      shell("head -c 1048576 /dev/zero | tr '\\0' x; echo; echo after; exec sleep 60"), fast(),
      got.handlers());
  source.start();
  REQUIRE(eventually([&] { return got.copy().size() == 1; }));
  source.stop();
  CHECK(got.copy() == std::vector<std::string>{"after"});
  CHECK(got.oversized == 1);
  CHECK(source.stats().oversized_lines == 1);
}

TEST_CASE("line source: a partial last line is dropped and counted as partial",
          "[local][line_source]") {
  Collector got;
  local::LineSource source(shell("printf 'whole\\ncut-off'"), fast(), got.handlers());
  source.start();
  REQUIRE(eventually([&] { return source.stats().partial_lines >= 1; }));
  source.stop();
  CHECK(got.copy().at(0) == "whole");
  CHECK(got.partial >= 1);
}

TEST_CASE("line source: a command's children do not outlive it", "[local][line_source]") {
  Collector got;
  local::LineSource source(shell("sleep 60 & echo $!; wait"), fast(), got.handlers());
  source.start();
  REQUIRE(eventually([&] { return got.copy().size() == 1; }));
  const pid_t child = std::stoi(got.copy()[0]);
  const pid_t shell_pid = source.stats().pid;
  source.stop();
  CHECK(gone(shell_pid));
  CHECK(eventually([&] { return gone(child); }, seconds{5}));
}

TEST_CASE("bus source: a command printing reports and garbage", "[local][line_source]") {
  const std::string script = std::string("echo '") + kReport +
                             "'; echo 'not json'; echo '{\"event_type\":\"power_report\"}'; "
                             "echo '{\"event_type\":\"other\"}'; exec sleep 60";
  local::BusSource bus(shell(script), fast());
  bus.start();
  REQUIRE(eventually([&] { return bus.snapshot()->counters.lines == 4; }));
  const auto snap = bus.snapshot();
  CHECK(snap->connected);
  CHECK(snap->counters.power_reports == 1);
  CHECK(snap->counters.malformed_lines == 2);
  CHECK(snap->counters.unknown_events == 1);
  REQUIRE(snap->find(1, 2) != nullptr);
  CHECK(snap->find(1, 2)->reading->current == 5.0);
  bus.stop();
  CHECK_FALSE(bus.snapshot()->connected);
  CHECK(bus.source_stats().lines == 4);
}

TEST_CASE("line source: a file descriptor is read to its end, not reopened",
          "[local][line_source]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  Collector got;
  local::LineSource source(local::SourceSpec::stdin_fd(fds[0]), fast(), got.handlers());
  CHECK(source.name() == "fd:" + std::to_string(fds[0]));
  source.start();
  const std::string text = "a\nb\nhalf";
  REQUIRE(write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  REQUIRE(eventually([&] { return got.copy().size() == 2; }));
  close(fds[1]);
  REQUIRE(eventually([&] { return !source.stats().connected && source.stats().ends == 1; }));
  source.stop();
  CHECK(source.stats().starts == 1);
  CHECK(got.partial == 1);
  CHECK(got.connections == std::vector<bool>{true, false});
  close(fds[0]);
}

TEST_CASE("line source: TCP lines, the server closing and reopening", "[local][line_source]") {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(listener, 4) == 0);
  socklen_t len = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &len);
  const int port = ntohs(address.sin_port);

  // Two connections: the first sends two lines and a partial one, then closes; the second sends
  // one more and stays open until the test is done.
  std::mutex mutex;
  bool done = false;
  std::thread server([&] {
    const int first = accept(listener, nullptr, nullptr);
    const std::string one = "first-1\nfirst-2\npart";
    (void)!write(first, one.data(), one.size());
    close(first);
    const int second = accept(listener, nullptr, nullptr);
    const std::string two = "second-1\n";
    (void)!write(second, two.data(), two.size());
    while (true) {
      std::this_thread::sleep_for(milliseconds{10});
      std::lock_guard lock(mutex);
      if (done) break;
    }
    close(second);
  });

  Collector got;
  local::LineSource source(local::SourceSpec::tcp("127.0.0.1", port), fast(), got.handlers());
  CHECK(source.name() == "tcp:127.0.0.1:" + std::to_string(port));
  source.start();
  REQUIRE(eventually([&] { return got.copy().size() == 3; }));
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  server.join();
  source.stop();
  close(listener);
  CHECK(got.copy() == std::vector<std::string>{"first-1", "first-2", "second-1"});
  const auto stats = source.stats();
  CHECK(stats.starts == 2);
  CHECK(stats.partial_lines == 1);
  CHECK(stats.backoffs.at(0) == milliseconds{20});
}

TEST_CASE("line source: TCP connection refused is retried", "[local][line_source]") {
  // A port bound but not listening refuses connections.
  const int blocker = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(blocker, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t len = sizeof address;
  getsockname(blocker, reinterpret_cast<sockaddr*>(&address), &len);
  Collector got;
  local::LineSource source(local::SourceSpec::tcp("127.0.0.1", ntohs(address.sin_port)), fast(),
                           got.handlers());
  source.start();
  REQUIRE(eventually([&] { return source.stats().failures >= 2; }));
  source.stop();
  close(blocker);
  CHECK(source.stats().starts == 0);
}

TEST_CASE("line source: a Unix socket", "[local][line_source]") {
  char dir[] = "/tmp/tigo_local_XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/taptap.sock";
  const int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::copy(path.begin(), path.end(), address.sun_path);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(listener, 4) == 0);
  std::thread server([&] {
    const int client = accept(listener, nullptr, nullptr);
    const std::string text = std::string(kReport) + "\n";
    (void)!write(client, text.data(), text.size());
    close(client);
  });
  local::BusSource bus(local::SourceSpec::unix_socket(path), fast());
  CHECK(bus.name() == "unix:" + path);
  bus.start();
  REQUIRE(eventually([&] { return bus.snapshot()->counters.power_reports == 1; }));
  server.join();
  bus.stop();
  close(listener);
  unlink(path.c_str());
  rmdir(dir);
  CHECK(bus.snapshot()->find(1, 2) != nullptr);
}

TEST_CASE("line splitter: lines across reads, long lines skipped whole", "[local][line_source]") {
  local::LineSplitter splitter(8);
  std::vector<std::string> lines;
  int oversized = 0;
  auto feed = [&](std::string_view bytes) {
    splitter.feed(
        bytes, [&](std::string_view line) { lines.emplace_back(line); }, [&] { ++oversized; });
  };
  feed("ab");
  feed("c\r\nde");
  feed("f\n0123456789");
  feed("abc\nshort\n12345678\n123456789\n\n");
  CHECK(lines == std::vector<std::string>{"abc", "def", "short", "12345678", ""});
  CHECK(oversized == 2);
  feed("tail");
  CHECK(splitter.finish() == local::LineSplitter::Dropped::partial);
  feed("0123456789");
  CHECK(splitter.finish() == local::LineSplitter::Dropped::oversized);
  CHECK(splitter.finish() == local::LineSplitter::Dropped::nothing);
}
