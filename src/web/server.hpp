// The exporter's HTTP endpoints: /metrics, /-/healthy, /-/ready and the pages, with what
// --web.config.file asks for: TLS (tls.hpp), basic auth, security headers and a rate limit.
// Handlers only read what the refresher published; nothing here calls the Tigo API.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/listen_address.hpp"
#include "util/result.hpp"
#include "web/basic_auth.hpp"
#include "web/web_config.hpp"

namespace httplib {
class Server;
}

namespace web {

class RateLimiter;
class TlsContext;

// A /metrics body as shared pieces sent back to back (no copy of the big cached part). When
// gzip is set every piece is a complete gzip member, so the concatenation is valid gzip. In a
// plain answer a gzipped piece is inflated while it is sent: the fleet's text is cached only
// gzipped (it is tens of MB, and Prometheus always asks for gzip).
struct Piece {
  std::shared_ptr<const std::string> bytes;
  bool gzipped = false;
  std::size_t plain_size = 0;  // the inflated size of a gzipped piece
};
struct Payload {
  std::vector<Piece> pieces;
  bool gzip = false;
};

// The exposition formats /metrics offers, chosen from the scraper's Accept header.
enum class Format { text_0_0_4, openmetrics_1_0_0, openmetrics_0_0_1 };
// Prometheus' own negotiation (client_golang's expfmt): the most preferred acceptable entry of
// Accept wins; OpenMetrics only when asked for by name, text 0.0.4 otherwise.
Format negotiate_format(std::string_view accept);
std::string_view content_type(Format format);
inline bool is_openmetrics(Format f) { return f != Format::text_0_0_4; }

// The pages: / (status), /systems/{id}, /api/systems/{id} and /static/{name}, all GET.
struct PageRequest {
  std::string path;
  std::string query;  // the decoded ?q= value, empty if none
};
struct PageAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string cache_control;  // sent when not empty
};

struct Handlers {
  std::function<Payload(bool accepts_gzip, Format format)> metrics;
  std::function<bool()> ready;
  std::function<PageAnswer(const PageRequest&)> page;
};

struct ServerOptions {
  util::ListenAddress listen;
  std::string telemetry_path = "/metrics";
  WebConfig web;
};

// Whether an Accept-Encoding header value admits gzip.
bool accepts_gzip(std::string_view accept_encoding);

class Server {
 public:
  Server(ServerOptions options, Handlers handlers);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the socket; the bound port is known afterwards (port 0 picks a free one).
  util::Result<int> bind();
  void run();  // blocks until stop()
  void stop();

  // A re-read --web.config.file: users, headers and the rate limit apply from the next request,
  // TLS settings (certificate, client auth, versions...) from the next handshake. Whether the
  // listener speaks TLS at all is fixed at start: false when `next` switches it on or off (the
  // rest is applied, the TLS settings in use are kept).
  bool update_web_config(const WebConfig& next);

 private:
  // What a request is checked against, replaced whole on reload (a request keeps what it took).
  struct Rules {
    std::shared_ptr<BasicAuth> auth;
    std::vector<std::pair<std::string, std::string>> headers;
    std::shared_ptr<RateLimiter> limiter;  // null: no limit
  };
  std::shared_ptr<const Rules> rules() const;
  static std::shared_ptr<const Rules> make_rules(const WebConfig& web, const Rules* previous);

  ServerOptions options_;
  Handlers handlers_;
  mutable std::mutex rules_mutex_;
  std::shared_ptr<const Rules> rules_;
  std::shared_ptr<TlsContext> tls_;  // set for a TLS listener; outlives http_
  std::unique_ptr<httplib::Server> http_;
  // httplib's stop() is a no-op until the accept loop runs, and the loop would then run for
  // ever: stop() waits for the loop to start or for run() to give up (stop_requested_ first).
  std::atomic<bool> stop_requested_{false}, run_entered_{false}, run_returned_{false};
};

}  // namespace web
