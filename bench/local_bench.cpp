// Local bus benchmark (issue 19): N nodes reporting every --interval through a TCP socket into the
// exporter's local path as app runs it (line source -> bus state -> fusion -> the whole fleet
// rendered and gzipped, as each published snapshot is): the latency from a line written to the
// rendered fleet that carries its reading, and the CPU the path takes (the generator's own thread
// excluded).
//
// Each size runs --rounds times, sizes interleaved (A B A B ...), --seconds each; per size the
// median over rounds of each round's p50 / p99 / max latency and CPU share is printed, and the
// ratio of the sizes' CPU.
//
//   local_bench [--nodes 200,2000] [--interval 10s] [--seconds 60] [--rounds 2]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fusion/live.hpp"
#include "metrics/collector.hpp"
#include "util/duration.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "local_bench: %s\n", what.c_str());
  std::exit(1);
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// "2026-06-21T14:00:05.123456+00:00"
std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto us = std::chrono::floor<microseconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(us);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{us - day};
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02d.%06lld+00:00",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<long long>(hms.subseconds().count()));
  return out;
}

// The bus: one TCP client, every node reporting every `interval` at a phase of its own.
class Generator {
 public:
  Generator(int nodes, milliseconds interval)
      : nodes_(nodes), interval_(interval), emitted_(static_cast<std::size_t>(nodes)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 4) != 0)
      die("cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Generator() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  // When node k's newest report was written (steady ns), 0 before its first.
  std::int64_t emitted(int k) const { return emitted_[static_cast<std::size_t>(k)].load(); }
  double cpu() const { return cpu_.load(); }

 private:
  void run() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    const auto start = Clock::now();
    const double cpu0 = cpu_seconds(RUSAGE_THREAD);
    for (std::int64_t n = 0; !stop_; ++n) {
      const int k = static_cast<int>(n % nodes_);
      const auto due = start + duration_cast<Clock::duration>(interval_) * (n / nodes_) +
                       duration_cast<Clock::duration>(interval_) * k / nodes_;
      std::this_thread::sleep_until(due);
      char line[512];
      const int size = std::snprintf(
          line, sizeof line,
          "{\"event_type\":\"power_report\",\"gateway\":%d,\"node\":%d,\"timestamp\":\"%s\","
          "\"voltage_in\":%.2f,\"voltage_out\":30.1,\"current\":%.3f,\"dc_dc_duty_cycle\":0.98,"
          "\"temperature\":35.5,\"rssi\":150}\n",
          4609 + k / 1000, 2 + k % 1000, rfc3339(std::chrono::system_clock::now()).c_str(),
          30 + (n % 7) * 0.05, 5 + (n % 11) * 0.01);
      emitted_[static_cast<std::size_t>(k)].store(Clock::now().time_since_epoch().count());
      if (::send(fd, line, static_cast<std::size_t>(size), MSG_NOSIGNAL) != size) break;
      cpu_.store(cpu_seconds(RUSAGE_THREAD) - cpu0);
    }
    ::close(fd);
  }

  int nodes_;
  milliseconds interval_;
  std::vector<std::atomic<std::int64_t>> emitted_;
  int listen_fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<double> cpu_{0};
  std::thread thread_;
};

struct Round {
  double p50_ms = 0, p99_ms = 0, max_ms = 0, cpu_share = 0, publishes_per_s = 0;
  std::size_t readings = 0;
};

Round run_round(int nodes, milliseconds interval, std::chrono::seconds seconds) {
  Generator bus(nodes, interval);
  std::vector<double> latency_ms;
  std::map<std::string, refresh::Timestamp> seen;  // panel -> the sample it last carried
  std::atomic<std::size_t> publishes{0};
  std::atomic<bool> measuring{false};
  fusion::FuseOptions fuse;
  fuse.local_only = true;
  fusion::LiveFusion live(
      fuse, {local::SourceSpec::tcp("127.0.0.1", bus.port())}, {}, {},
      [&](const std::shared_ptr<const refresh::Snapshot>& snap) {
        const auto rendered = metrics::cache_fleet(*snap, 2);  // as app's publish does
        const auto published = Clock::now().time_since_epoch().count();
        ++publishes;
        for (const auto& e : snap->systems)
          for (const auto& p : e.panels) {
            const auto& r = p.readings[tigo::PanelParam::power];
            if (!r) continue;
            auto& last = seen[p.label];
            if (last == r->sample) continue;
            last = r->sample;
            // "4609.2" is node 0: gateway 4609 + k / 1000, node 2 + k % 1000.
            const auto dot = p.label.find('.');
            const int k = (std::stoi(p.label.substr(0, dot)) - 4609) * 1000 +
                          std::stoi(p.label.substr(dot + 1)) - 2;
            if (measuring)
              latency_ms.push_back(static_cast<double>(published - bus.emitted(k)) / 1e6);
          }
        (void)rendered;
      });
  live.start();
  // Warm up: every node heard once.
  std::this_thread::sleep_for(interval + milliseconds{1000});
  measuring = true;  // set and read on the fusing thread's publishes after this point
  const double cpu0 = cpu_seconds(RUSAGE_SELF) - bus.cpu();
  const auto t0 = Clock::now();
  const auto publishes0 = publishes.load();
  std::this_thread::sleep_for(seconds);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds(RUSAGE_SELF) - bus.cpu() - cpu0;
  const auto publishes1 = publishes.load();
  live.stop();
  std::sort(latency_ms.begin(), latency_ms.end());
  if (latency_ms.empty()) die("no reading reached a published snapshot");
  Round r;
  r.readings = latency_ms.size();
  r.p50_ms = latency_ms[latency_ms.size() / 2];
  r.p99_ms = latency_ms[latency_ms.size() * 99 / 100];
  r.max_ms = latency_ms.back();
  r.cpu_share = cpu / wall;
  r.publishes_per_s = static_cast<double>(publishes1 - publishes0) / wall;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {200, 2000};
  milliseconds interval{10'000};
  std::chrono::seconds seconds{60};
  int rounds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--nodes") {
      sizes.clear();
      for (std::size_t at = 0; at < value.size();) {
        const auto comma = value.find(',', at);
        sizes.push_back(std::stoi(value.substr(at, comma - at)));
        at = comma == std::string::npos ? value.size() : comma + 1;
      }
    } else if (flag == "--interval") {
      const auto d = util::parse_duration(value);
      if (!d) die("bad --interval");
      interval = *d;
    } else if (flag == "--seconds") {
      seconds = std::chrono::seconds{std::stoi(value)};
    } else if (flag == "--rounds") {
      rounds = std::stoi(value);
    } else {
      die("unknown flag " + flag);
    }
  }
  std::map<int, std::vector<Round>> results;
  for (int r = 0; r < rounds; ++r)
    for (int n : sizes) {
      const auto round = run_round(n, interval, seconds);
      std::printf(
          "round %d, %5d nodes: %6zu readings, latency p50 %6.0f ms, p99 %6.0f ms, max %6.0f "
          "ms; CPU %5.1f %% of a core; %.2f publishes/s\n",
          r + 1, n, round.readings, round.p50_ms, round.p99_ms, round.max_ms, 100 * round.cpu_share,
          round.publishes_per_s);
      std::fflush(stdout);
      results[n].push_back(round);
    }
  std::printf("\nmedian of %d rounds, %lld s each, a report every %lld ms per node:\n", rounds,
              static_cast<long long>(seconds.count()), static_cast<long long>(interval.count()));
  std::printf("%8s %10s %10s %10s %12s %12s\n", "nodes", "p50 ms", "p99 ms", "max ms", "CPU % core",
              "publishes/s");
  for (const auto& [n, rs] : results) {
    std::vector<double> p50, p99, mx, cpu, pubs;
    for (const auto& r : rs) {
      p50.push_back(r.p50_ms);
      p99.push_back(r.p99_ms);
      mx.push_back(r.max_ms);
      cpu.push_back(100 * r.cpu_share);
      pubs.push_back(r.publishes_per_s);
    }
    std::printf("%8d %10.0f %10.0f %10.0f %12.1f %12.2f\n", n, median(p50), median(p99), median(mx),
                median(cpu), median(pubs));
  }
  if (results.size() == 2) {
    std::vector<double> a, b;
    for (const auto& r : results.begin()->second) a.push_back(r.cpu_share);
    for (const auto& r : results.rbegin()->second) b.push_back(r.cpu_share);
    std::printf("CPU ratio %d / %d nodes: %.1f\n", results.rbegin()->first, results.begin()->first,
                median(b) / median(a));
  }
  return 0;
}
