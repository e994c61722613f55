#include "web/server.hpp"

#include <httplib.h>

namespace web {

Server::Server(ServerOptions options, Handlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      http_(std::make_unique<httplib::Server>()) {
  http_->set_read_timeout(10, 0);
  http_->set_write_timeout(10, 0);
  http_->Get(options_.telemetry_path, [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Healthy.\n", "text/plain; charset=utf-8");
  });
  http_->Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (handlers_.ready()) {
      res.set_content("Ready.\n", "text/plain; charset=utf-8");
    } else {
      res.status = 503;
      res.set_content("Not ready: the first refresh has not completed.\n",
                      "text/plain; charset=utf-8");
    }
  });
  http_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.landing_html(), "text/html; charset=utf-8");
  });
}

Server::~Server() { stop(); }

util::Result<int> Server::bind() {
  int port = options_.listen.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.listen.host);
    if (port < 0) port = 0;
  } else if (!http_->bind_to_port(options_.listen.host, port)) {
    port = 0;
  }
  if (port <= 0) {
    return util::make_error("cannot listen on " + options_.listen.host + ":" +
                            std::to_string(options_.listen.port));
  }
  return port;
}

void Server::run() { http_->listen_after_bind(); }

void Server::stop() {
  if (http_) http_->stop();
}

}  // namespace web
