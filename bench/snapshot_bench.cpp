// Background render+gzip per snapshot on a real fleet: runs the exporter's own Refresher against a
// Tigo API (tigo_sim) and, in the publish callback, does exactly what app.cpp's render() does
// (metrics::cache_fleet on 2 threads: the samples rendered once, both formats' gzip members at
// level 1), timed whole; beside it, untimed by the exporter, the text-only work it did before
// OpenMetrics (render_fleet into a fresh string, then util::gzip_compress_parallel in 2 members),
// timed in parts. Like the exporter's, the publisher thread runs at nice +10, so a busy simulator
// on the same machine slows it down.
// Stops once `--snapshots` snapshots with every panel's series present were timed, or after
// `--timeout` seconds, and prints median/p90/max over those snapshots.
//
//   snapshot_bench --api-url URL [--username demo --password demo] [--panels N]
//                  [--min-power P] [--snapshots K] [--timeout S] [--concurrency C] [--rate-limit R]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "metrics/collector.hpp"
#include "refresh/refresher.hpp"
#include "tigo/client.hpp"
#include "util/gzip.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, user = "demo", password = "demo";
  long want_panels = 0, min_power = 0;
  int snapshots = 5, timeout_s = 300, concurrency = 8;
  double rate_limit = 1e6;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--api-url") {
      url = v;
    } else if (a == "--username") {
      user = v;
    } else if (a == "--password") {
      password = v;
    } else if (a == "--panels") {
      want_panels = std::atol(v);
    } else if (a == "--min-power") {
      min_power = std::atol(v);
    } else if (a == "--snapshots") {
      snapshots = std::atoi(v);
    } else if (a == "--timeout") {
      timeout_s = std::atoi(v);
    } else if (a == "--concurrency") {
      concurrency = std::atoi(v);
    } else if (a == "--rate-limit") {
      rate_limit = std::atof(v);
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (url.empty()) {
    std::fprintf(stderr, "usage: %s --api-url URL [--panels N] [--snapshots K] [--timeout S]\n",
                 argv[0]);
    return 2;
  }
  tigo::ClientOptions co;
  co.base_url = url;
  co.credentials = {user, password, ""};
  co.concurrency = concurrency;
  co.rate_limit = rate_limit;
  auto client = tigo::Client::create(co);
  if (!client) {
    std::fprintf(stderr, "client: %s\n", client.error().message.c_str());
    return 1;
  }
  refresh::RefresherOptions ro;
  ro.workers = concurrency;
  ro.panels_interval = std::chrono::seconds{10};
  ro.summary_interval = std::chrono::seconds{10};
  ro.sources_interval = std::chrono::seconds{10};
  ro.alerts_interval = std::chrono::seconds{30};
  ro.combined_interval = std::chrono::seconds{30};
  ro.panels_lookback = std::chrono::minutes{15};

  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> render_ms, gzip_ms, total_ms, cache_ms;
  std::size_t text_bytes = 0, gzip_bytes = 0, series = 0;
  std::atomic<long> seen_panels{0}, seen_power{0};
  refresh::Refresher refresher(
      std::shared_ptr<tigo::Client>(std::move(*client)), ro,
      [&](const std::shared_ptr<const refresh::Snapshot>& snap) {
        // As app.cpp's render(): both formats cached per snapshot.
        const auto tc = Clock::now();
        const auto cached = metrics::cache_fleet(*snap, 2);
        const double c = ms_since(tc);
        // The text-only work before OpenMetrics, for comparison.
        const auto t0 = Clock::now();
        std::string text;
        metrics::render_fleet(*snap, text);
        const double r = ms_since(t0);
        const auto t1 = Clock::now();
        const std::string gz = util::gzip_compress_parallel(text, 2);
        const double g = ms_since(t1);
        long panels = 0, with_power = 0;
        for (const auto& e : snap->systems) {
          panels += static_cast<long>(e.panels.size());
          for (const auto& p : e.panels)
            with_power += p.readings[tigo::PanelParam::power].has_value();
        }
        seen_panels = panels;
        seen_power = with_power;
        std::lock_guard lock(mu);
        // Counted once the fleet is complete: every panel listed and at least `--min-power` with
        // readings (panels of systems in the dark have none).
        if (want_panels > 0 && panels >= want_panels && with_power >= min_power) {
          render_ms.push_back(r);
          gzip_ms.push_back(g);
          total_ms.push_back(r + g);
          cache_ms.push_back(c);
          text_bytes = text.size();
          gzip_bytes = gz.size();
          series = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
          std::printf(
              "snapshot %llu: %ld panels (%ld with power), %zu lines, render %.1f ms, "
              "gzip %.1f ms; cache_fleet %.1f ms\n",
              static_cast<unsigned long long>(snap->generation), panels, with_power, series, r, g,
              c);
          std::fflush(stdout);
          cv.notify_all();
        }
      });
  refresher.start();
  {
    std::unique_lock lock(mu);
    const bool done = cv.wait_for(lock, std::chrono::seconds{timeout_s}, [&] {
      return total_ms.size() >= static_cast<std::size_t>(snapshots);
    });
    if (!done)
      std::fprintf(stderr,
                   "timeout: %zu complete snapshots timed (last seen %ld panels, %ld with power)\n",
                   total_ms.size(), seen_panels.load(), seen_power.load());
  }
  refresher.stop();
  std::lock_guard lock(mu);
  if (total_ms.empty()) return 1;
  std::printf("complete snapshots timed: %zu; text %zu bytes, gzip %zu bytes, %zu lines\n",
              total_ms.size(), text_bytes, gzip_bytes, series);
  std::printf("%-22s %10s %10s %10s\n", "per snapshot", "median ms", "p90 ms", "max ms");
  std::printf("%-22s %10.1f %10.1f %10.1f\n", "render_fleet", pct(render_ms, 0.5),
              pct(render_ms, 0.9), pct(render_ms, 1));
  std::printf("%-22s %10.1f %10.1f %10.1f\n", "gzip level 1", pct(gzip_ms, 0.5), pct(gzip_ms, 0.9),
              pct(gzip_ms, 1));
  std::printf("%-22s %10.1f %10.1f %10.1f\n", "render+gzip", pct(total_ms, 0.5), pct(total_ms, 0.9),
              pct(total_ms, 1));
  std::printf("%-22s %10.1f %10.1f %10.1f   (app.cpp: text + OpenMetrics)\n", "cache_fleet(2)",
              pct(cache_ms, 0.5), pct(cache_ms, 0.9), pct(cache_ms, 1));
  return 0;
}
