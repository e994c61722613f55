// Loopback /metrics latency: N scrapes plain and N with Accept-Encoding: gzip, alternating, on one
// keep-alive connection like Prometheus'; reports p50/p90/p99/max per mode and bytes per scrape.
// Two clients take turns: cpp-httplib's (reads 4 KiB at a time, a poll() before each read) and a
// plain socket client reading 256 KiB at a time (closer to Prometheus' Go client), so the
// client's own cost shows beside the server's.
// The gzip body is checked to decode to a text of the plain scrape's size (give or take the
// self-metrics, which change between scrapes).
//
//   scrape_bench HOST PORT [PATH] [N]
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

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

// A keep-alive HTTP/1.1 GET client on one socket: headers up to the blank line, then exactly
// Content-Length bytes of body into a reused buffer.
class RawClient {
 public:
  RawClient(const std::string& host, int port) : host_(host + ":" + std::to_string(port)) {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &addr_.sin_addr);
    reconnect();
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // The body's size, or -1 on any failure (then `error` says why).
  // The server closes a keep-alive connection after a few requests (httplib: 5), as a
  // browser or Prometheus would see; then this reconnects, inside the timed call like theirs.
  long get(const std::string& path, const char* encoding, std::string& body, bool& gzipped) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host_ +
                            "\r\nAccept-Encoding: " + encoding + "\r\n\r\n";
    std::size_t end = std::string::npos;
    for (int attempt = 0; attempt < 2 && end == std::string::npos; ++attempt) {
      if (attempt > 0 && !reconnect()) return fail("connect failed");
      if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
        continue;
      while ((end = pending_.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) break;
    }
    if (end == std::string::npos) return fail("connection closed before the headers");
    const std::string head = pending_.substr(0, end);
    pending_.erase(0, end + 4);
    if (head.compare(0, 12, "HTTP/1.1 200") != 0) return fail(head.substr(0, 40));
    long length = -1;
    gzipped = false;
    for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;
         pos = head.find("\r\n", pos + 2)) {
      const std::string line = head.substr(pos + 2, head.find("\r\n", pos + 2) - pos - 2);
      if (strncasecmp(line.c_str(), "Content-Length:", 15) == 0) length = std::atol(&line[15]);
      if (strncasecmp(line.c_str(), "Content-Encoding: gzip", 22) == 0) gzipped = true;
    }
    if (length < 0) return fail("no Content-Length");
    body.clear();
    body.reserve(static_cast<std::size_t>(length));
    const std::size_t take = std::min(pending_.size(), static_cast<std::size_t>(length));
    body.append(pending_, 0, take);
    pending_.erase(0, take);
    while (body.size() < static_cast<std::size_t>(length)) {
      const std::size_t want = std::min(kChunk, static_cast<std::size_t>(length) - body.size());
      const std::size_t at = body.size();
      body.resize(at + want);
      const ssize_t got = recv(fd_, body.data() + at, want, 0);
      if (got <= 0) return fail("closed in body");
      body.resize(at + static_cast<std::size_t>(got));
    }
    return length;
  }
  std::string error;

 private:
  static constexpr std::size_t kChunk = 256 * 1024;
  bool reconnect() {
    if (fd_ >= 0) close(fd_);
    pending_.clear();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) != 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
  bool fill() {
    char buf[16384];
    const ssize_t got = recv(fd_, buf, sizeof buf, 0);
    if (got <= 0) return false;
    pending_.append(buf, static_cast<std::size_t>(got));
    return true;
  }
  long fail(std::string why) {
    error = std::move(why);
    return -1;
  }
  int fd_ = -1;
  std::string host_;
  sockaddr_in addr_{};
  std::string pending_;
};

void print_row(const char* client, const char* mode, const std::vector<double>& ms,
               std::size_t bytes) {
  std::printf("%-8s %-6s %6zu %12zu %9.2f %9.2f %9.2f %9.2f\n", client, mode, ms.size(), bytes,
              pct(ms, 0.5), pct(ms, 0.9), pct(ms, 0.99), pct(ms, 1.0));
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

  RawClient raw(host, port);
  std::string raw_body;
  std::vector<double> plain_ms, gzip_ms, raw_plain_ms, raw_gzip_ms;
  std::size_t plain_bytes = 0, gzip_bytes = 0, decoded = 0;
  bool gzip_header = true;
  for (int i = -2; i < n; ++i) {  // two warm-up rounds
    for (int mode = 0; mode < 2; ++mode) {
      bool raw_gzipped = false;
      const auto r0 = std::chrono::steady_clock::now();
      const long got = raw.get(path, mode ? "gzip" : "identity", raw_body, raw_gzipped);
      const double raw_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r0).count();
      if (got < 0 || raw_gzipped != (mode == 1)) {
        std::fprintf(stderr, "raw scrape failed: %s\n", raw.error.c_str());
        return 1;
      }
      if (i >= 0) (mode ? raw_gzip_ms : raw_plain_ms).push_back(raw_ms);

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
  std::printf("%-8s %-6s %6s %12s %9s %9s %9s %9s\n", "client", "mode", "n", "bytes", "p50 ms",
              "p90 ms", "p99 ms", "max ms");
  print_row("httplib", "plain", plain_ms, plain_bytes);
  print_row("httplib", "gzip", gzip_ms, gzip_bytes);
  print_row("socket", "plain", raw_plain_ms, plain_bytes);
  print_row("socket", "gzip", raw_gzip_ms, gzip_bytes);
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
