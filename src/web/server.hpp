// The exporter's HTTP endpoints: /metrics, /-/healthy, /-/ready and the pages, with optional
// TLS and basic auth (--web.config.file). Handlers only read what the refresher published;
// nothing here calls the Tigo API.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/listen_address.hpp"
#include "util/result.hpp"
#include "web/basic_auth.hpp"
#include "web/web_config.hpp"

namespace httplib {
class Server;
}

namespace web {

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
  std::function<Payload(bool accepts_gzip)> metrics;
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

  // A re-read --web.config.file (SIGHUP): its basic auth users answer from the next request
  // on. TLS keeps what the listener started with (its certificate is loaded when the server is
  // made): false when the new file's TLS settings differ from those.
  bool update_web_config(const WebConfig& next);

 private:
  ServerOptions options_;
  Handlers handlers_;
  std::shared_ptr<BasicAuth> auth() const;

  mutable std::mutex auth_mutex_;
  std::shared_ptr<BasicAuth> auth_;  // replaced whole on reload; requests keep the one they took
  std::unique_ptr<httplib::Server> http_;
  // httplib's stop() is a no-op until the accept loop runs, and the loop would then run for
  // ever: stop() waits for the loop to start or for run() to give up (stop_requested_ first).
  std::atomic<bool> stop_requested_{false}, run_entered_{false}, run_returned_{false};
};

}  // namespace web
