// Loopback /metrics latency: N scrapes plain and N with Accept-Encoding: gzip, alternating, on one
// keep-alive connection like Prometheus'; reports p50/p90/p99/max per mode and bytes per scrape.
// The gzip body is checked to decode to a text of the plain scrape's size (give or take the
// self-metrics, which change between scrapes).
//
//   scrape_bench HOST PORT [PATH] [N]
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "util/gzip.hpp"

namespace {

double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s HOST PORT [PATH] [N]\n", argv[0]);
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  const std::string path = argc > 3 ? argv[3] : "/metrics";
  const int n = argc > 4 ? std::atoi(argv[4]) : 200;

  httplib::Client cli(host, port);
  cli.set_keep_alive(true);
  cli.set_decompress(false);  // measure the bytes on the wire; decode once below to check
  cli.set_read_timeout(60, 0);
  const httplib::Headers plain_h = {{"Accept-Encoding", "identity"}};
  const httplib::Headers gzip_h = {{"Accept-Encoding", "gzip"}};

  std::vector<double> plain_ms, gzip_ms;
  std::size_t plain_bytes = 0, gzip_bytes = 0, decoded = 0;
  bool gzip_header = true;
  for (int i = -2; i < n; ++i) {  // two warm-up rounds
    for (int mode = 0; mode < 2; ++mode) {
      const auto t0 = std::chrono::steady_clock::now();
      auto res = cli.Get(path, mode ? gzip_h : plain_h);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!res || res->status != 200) {
        std::fprintf(
            stderr, "scrape failed: %s\n",
            res ? std::to_string(res->status).c_str() : httplib::to_string(res.error()).c_str());
        return 1;
      }
      if (i < 0) continue;
      if (mode) {
        gzip_ms.push_back(ms);
        gzip_bytes = res->body.size();
        gzip_header = gzip_header && res->get_header_value("Content-Encoding") == "gzip";
        if (i == 0) decoded = util::gzip_decompress(res->body).size();
      } else {
        plain_ms.push_back(ms);
        plain_bytes = res->body.size();
      }
    }
  }
  std::printf("%-6s %6s %12s %9s %9s %9s %9s\n", "mode", "n", "bytes", "p50 ms", "p90 ms", "p99 ms",
              "max ms");
  std::printf("%-6s %6d %12zu %9.2f %9.2f %9.2f %9.2f\n", "plain", n, plain_bytes,
              pct(plain_ms, 0.5), pct(plain_ms, 0.9), pct(plain_ms, 0.99), pct(plain_ms, 1.0));
  std::printf("%-6s %6d %12zu %9.2f %9.2f %9.2f %9.2f\n", "gzip", n, gzip_bytes, pct(gzip_ms, 0.5),
              pct(gzip_ms, 0.9), pct(gzip_ms, 0.99), pct(gzip_ms, 1.0));
  std::printf("gzip body decodes to %zu bytes (plain scrape %zu)\n", decoded, plain_bytes);
  // The fleet's text can change between scrapes (a new snapshot), so the sizes agree only roughly.
  if (!gzip_header || decoded == 0 ||
      std::abs(static_cast<double>(decoded) - static_cast<double>(plain_bytes)) >
          0.05 * static_cast<double>(plain_bytes) + 65536) {
    std::fprintf(stderr, "gzip check FAILED: Content-Encoding gzip %d, decoded %zu, plain %zu\n",
                 gzip_header, decoded, plain_bytes);
    return 1;
  }
  return 0;
}
