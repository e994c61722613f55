// The exporter's HTTP endpoints: /metrics, /-/healthy, /-/ready and the pages, with optional
// TLS and basic auth (--web.config.file), served by web::HttpServer (http_server.hpp: why slow
// and idle clients cannot hold it up). Handlers only read what the refresher published; nothing
// here calls the Tigo API.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/listen_address.hpp"
#include "util/result.hpp"
#include "web/basic_auth.hpp"
#include "web/http_server.hpp"
#include "web/web_config.hpp"

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

// What the endpoints answer, given by app. A new endpoint: a member here and its route in
// Server::routes() (server.cpp).
struct Handlers {
  std::function<Payload(bool accepts_gzip)> metrics;
  std::function<bool()> ready;
  std::function<PageAnswer(const PageRequest&)> page;
};

struct ServerOptions {
  util::ListenAddress listen;
  std::string telemetry_path = "/metrics";
  WebConfig web;
  HttpLimits limits{};
  // A request refused by basic auth (reason "missing" or "invalid" credentials), for the
  // self-metrics; called on a worker thread.
  std::function<void(std::string_view reason)> on_auth_failure;
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
  void run();   // blocks until stop(); returns at once after a stop()
  void stop();  // from any thread

  // A re-read --web.config.file (SIGHUP): its basic auth users answer from the next request
  // on. TLS keeps what the listener started with (its certificate is loaded when the server is
  // made): false when the new file's TLS settings differ from those.
  bool update_web_config(const WebConfig& next);

  HttpStats stats() const { return http_.stats(); }

 private:
  struct Route {
    std::string path;
    std::function<HttpResponse(const HttpRequest&)> get;  // also answers HEAD
    bool one_segment_below = false;  // path is a prefix: "/systems/" serves "/systems/{id}"
  };
  std::vector<Route> routes();
  HttpResponse handle(const HttpRequest& req);
  std::shared_ptr<BasicAuth> auth() const;

  ServerOptions options_;
  Handlers handlers_;
  std::vector<Route> routes_;
  mutable std::mutex auth_mutex_;
  std::shared_ptr<BasicAuth> auth_;  // replaced whole on reload; requests keep the one they took
  std::optional<std::string> tls_error_;  // the certificate or key could not be loaded
  HttpServer http_;
};

}  // namespace web
