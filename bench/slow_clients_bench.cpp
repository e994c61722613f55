// Slow and idle clients against the exporter's web server, and against cpp-httplib configured as
// far as it goes (bench/slow_clients.md has the results and the reasoning). Two roles, run as
// separate processes by bench/slow_clients.sh so each server's memory is its own:
//
//   slow_clients_bench serve VARIANT     prints "port N", serves /metrics until SIGTERM/SIGINT
//     VARIANT  httplib-main     cpp-httplib 0.11.4 as main had it: its thread pool (8 threads
//                               here), read timeout 10 s per read, write 30 s, keep-alive 5 s
//              httplib-tuned    the same with a 64-thread pool (new_task_queue), 1 s read and
//                               keep-alive timeouts, 5 s write timeout
//              httplib-threads  a thread per connection (a TaskQueue that starts one per task,
//                               as many as there are connections), 1 s timeouts
//              event            web::Server, the exporter's own (web/http_server.hpp), defaults
//   slow_clients_bench load PORT MODE [--connections N] [--sources K] [--interval MS]
//                                     [--warmup S] [--duration S]
//     MODE  none | slowloris | slowloris-fast (a line every 500 ms, under any 1 s per-read
//           timeout) | idle | silent | silent-one-address
//     Holds N (500) connections of that kind open from K (10) source addresses 127.0.0.2.. (one
//     address for silent-one-address), and meanwhile scrapes /metrics from 127.0.0.1 every 100 ms
//     on a new connection each time (as Prometheus does once idle connections are closed),
//     5 s timeout. Prints one line: scrapes, failures, p50/p90/p99/max in ms, attack counters.
//   slow_clients_bench attack PORT [--slowloris N] [--idle N] [--silent N] [--sources K]
//                               [--interval MS] [--seconds S] [--report S]
//     The attack alone, all three kinds at once, against any server on 127.0.0.1:PORT (the soak,
//     bench/soak.sh, points it at the exporter): from 127.0.0.2.., idle clients asking for
//     /-/healthy, until S seconds (0: until SIGTERM or SIGINT). Prints its counters every
//     --report seconds (60) and once at the end.
#include <httplib.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/slow_clients.hpp"
#include "util/gzip.hpp"
#include "util/signals.hpp"
#include "util/socket.hpp"
#include "web/server.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// ~1.6 MB of exposition text, ~0.2 MB gzipped: a small fleet's /metrics.
std::string fleet_text() {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += "tigo_panel_power_watts{system_id=\"" + std::to_string(1000 + i / 100) +
            "\",object_id=\"" + std::to_string(i) + "\",panel=\"A" + std::to_string(i % 100) +
            "\"} " + std::to_string(i * 7 % 401) + ".5\n";
  return text;
}

// A thread for every task: no connection waits for another's thread.
class ThreadPerTask : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(mutex_);
    ++running_;
    std::thread([this, fn = std::move(fn)] {
      fn();
      std::lock_guard done(mutex_);
      if (--running_ == 0) idle_.notify_all();
    }).detach();
  }
  void shutdown() override {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t running_ = 0;
};

int serve(const std::string& variant) {
  util::block_termination_signals();
  const auto text = std::make_shared<const std::string>(fleet_text());
  const auto gzip = std::make_shared<const std::string>(util::gzip_compress_parallel(*text, 2));
  int port = -1;
  std::function<void()> stop;
  std::thread server_thread;
  std::unique_ptr<httplib::Server> http;
  std::unique_ptr<web::Server> own;

  if (variant == "event") {
    web::Handlers h;
    h.metrics = [&](bool gz, web::Format) {
      return web::Payload{{{gzip, true, text->size()}}, gz};
    };
    h.ready = [] { return true; };
    h.page = [](const web::PageRequest&) {
      return web::PageAnswer{200, "text/html", "<html></html>", ""};
    };
    web::ServerOptions options;
    options.listen = {"127.0.0.1", 0};
    own = std::make_unique<web::Server>(options, h);
    auto bound = own->bind();
    if (!bound) {
      std::fprintf(stderr, "%s\n", bound.error().message.c_str());
      return 1;
    }
    port = *bound;
    server_thread = std::thread([&] { own->run(); });
    stop = [&] { own->stop(); };
  } else {
    http = std::make_unique<httplib::Server>();
    if (variant == "httplib-main") {
      http->set_read_timeout(10, 0);
      http->set_write_timeout(30, 0);
    } else if (variant == "httplib-tuned") {
      http->new_task_queue = [] { return new httplib::ThreadPool(64); };
      http->set_read_timeout(1, 0);
      http->set_keep_alive_timeout(1);
      http->set_write_timeout(5, 0);
    } else if (variant == "httplib-threads") {
      http->new_task_queue = [] { return new ThreadPerTask(); };
      http->set_read_timeout(1, 0);
      http->set_keep_alive_timeout(1);
      http->set_write_timeout(5, 0);
    } else {
      std::fprintf(stderr, "unknown variant %s\n", variant.c_str());
      return 2;
    }
    http->Get("/metrics", [&](const httplib::Request& req, httplib::Response& res) {
      const bool gz = web::accepts_gzip(req.get_header_value("Accept-Encoding"));
      const auto body = gz ? gzip : text;
      if (gz) res.set_header("Content-Encoding", "gzip");
      res.set_content_provider(
          body->size(), "text/plain; version=0.0.4",
          [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            return sink.write(body->data() + offset, std::min(length, body->size() - offset));
          });
    });
    port = http->bind_to_any_port("127.0.0.1");
    server_thread = std::thread([&] { http->listen_after_bind(); });
    stop = [&] {
      while (!http->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
      http->stop();
    };
  }
  std::printf("port %d\n", port);
  std::fflush(stdout);
  util::wait_for_termination_signal();
  stop();
  server_thread.join();
  return 0;
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
}

int load(int argc, char** argv) {
  if (argc < 4) return 2;
  const int port = std::stoi(argv[2]);
  const std::string mode = argv[3];
  std::size_t connections = 500, sources = 10;
  long interval_ms = 2000, warmup_s = 3, duration_s = 15;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long value = std::stol(argv[i + 1]);
    if (flag == "--connections") connections = static_cast<std::size_t>(value);
    if (flag == "--sources") sources = static_cast<std::size_t>(value);
    if (flag == "--interval") interval_ms = value;
    if (flag == "--warmup") warmup_s = value;
    if (flag == "--duration") duration_s = value;
  }
  util::raise_open_files_limit(connections + 256);
  testing::SlowClientsOptions attack;
  attack.port = port;
  attack.line_interval = std::chrono::milliseconds{interval_ms};
  // Idle clients ask something small: they stand for connections kept open, not for load.
  attack.path = mode == "idle" ? "/-/healthy" : "/metrics";
  attack.sources.clear();
  if (mode == "silent-one-address") sources = 1;
  for (std::size_t i = 0; i < sources; ++i)
    attack.sources.push_back("127.0.0." + std::to_string(2 + i));
  if (mode == "slowloris-fast") attack.line_interval = std::chrono::milliseconds{500};
  if (mode == "slowloris" || mode == "slowloris-fast") attack.slowloris = connections;
  if (mode == "idle") attack.idle = connections;
  if (mode == "silent" || mode == "silent-one-address") attack.silent = connections;
  if (mode != "none" && attack.slowloris + attack.idle + attack.silent == 0) {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  testing::SlowClients clients(attack);
  std::this_thread::sleep_for(std::chrono::seconds{warmup_s});
  const std::size_t held_at_start = clients.open_now();

  std::vector<double> ms;
  int failures = 0;
  const auto end = Clock::now() + std::chrono::seconds{duration_s};
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    httplib::Client c("127.0.0.1", port);
    c.set_decompress(false);
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    auto res = c.Get("/metrics", httplib::Headers{{"Accept-Encoding", "gzip"}});
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const bool ok = res && res->status == 200 && res->body.size() > 1000;
    if (!ok) ++failures;
    ms.push_back(ok ? took : std::max(took, 5000.0));  // a failure counts as the timeout
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds{100});
  }
  std::printf(
      "mode=%s scrapes=%zu failed=%d p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f "
      "attack_open_at_start=%zu attack_open_at_end=%zu attack_connects=%llu "
      "closed_by_server=%llu\n",
      mode.c_str(), ms.size(), failures, pct(ms, 0.5), pct(ms, 0.9), pct(ms, 0.99), pct(ms, 1.0),
      held_at_start, clients.open_now(), static_cast<unsigned long long>(clients.connects()),
      static_cast<unsigned long long>(clients.closed_by_server(testing::SlowMode::slowloris) +
                                      clients.closed_by_server(testing::SlowMode::idle) +
                                      clients.closed_by_server(testing::SlowMode::silent)));
  return 0;
}

void print_attack(const testing::SlowClients& clients, double seconds) {
  using testing::SlowMode;
  std::printf(
      "attack t_s=%.0f open=%zu connects=%llu closed_by_server_slowloris=%llu "
      "closed_by_server_idle=%llu closed_by_server_silent=%llu idle_answers=%llu\n",
      seconds, clients.open_now(), static_cast<unsigned long long>(clients.connects()),
      static_cast<unsigned long long>(clients.closed_by_server(SlowMode::slowloris)),
      static_cast<unsigned long long>(clients.closed_by_server(SlowMode::idle)),
      static_cast<unsigned long long>(clients.closed_by_server(SlowMode::silent)),
      static_cast<unsigned long long>(clients.idle_answers()));
  std::fflush(stdout);
}

int attack(int argc, char** argv) {
  util::block_termination_signals();
  testing::SlowClientsOptions options;
  options.port = std::stoi(argv[2]);
  options.path = "/-/healthy";  // idle clients stand for connections kept open, not for load
  std::size_t sources = 10;
  long seconds = 0, report_s = 60;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long value = std::stol(argv[i + 1]);
    if (flag == "--slowloris") options.slowloris = static_cast<std::size_t>(value);
    if (flag == "--idle") options.idle = static_cast<std::size_t>(value);
    if (flag == "--silent") options.silent = static_cast<std::size_t>(value);
    if (flag == "--sources") sources = static_cast<std::size_t>(value);
    if (flag == "--interval") options.line_interval = std::chrono::milliseconds{value};
    if (flag == "--seconds") seconds = value;
    if (flag == "--report") report_s = std::max(1L, value);
  }
  options.sources.clear();
  for (std::size_t i = 0; i < sources; ++i)
    options.sources.push_back("127.0.0." + std::to_string(2 + i));
  util::raise_open_files_limit(options.slowloris + options.idle + options.silent + 256);

  const auto start = Clock::now();
  testing::SlowClients clients(options);
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  auto next_report = start + std::chrono::seconds{report_s};
  while (seconds == 0 || elapsed() < static_cast<double>(seconds)) {
    const timespec second{1, 0};
    if (sigtimedwait(&set, nullptr, &second) > 0) break;
    if (Clock::now() >= next_report) {
      print_attack(clients, elapsed());
      next_report += std::chrono::seconds{report_s};
    }
  }
  print_attack(clients, elapsed());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "serve") == 0) return serve(argv[2]);
  if (argc >= 4 && std::strcmp(argv[1], "load") == 0) return load(argc, argv);
  if (argc >= 3 && std::strcmp(argv[1], "attack") == 0) return attack(argc, argv);
  std::fprintf(stderr,
               "usage: slow_clients_bench serve httplib-main|httplib-tuned|httplib-threads|event\n"
               "       slow_clients_bench load PORT "
               "none|slowloris|slowloris-fast|idle|silent|silent-one-address "
               "[--connections N] [--sources K] [--interval MS] [--warmup S] [--duration S]\n"
               "       slow_clients_bench attack PORT [--slowloris N] [--idle N] [--silent N] "
               "[--sources K] [--interval MS] [--seconds S] [--report S]\n");
  return 2;
}
