// The exporter's HTTP endpoints: /metrics, /-/healthy, /-/ready and a landing page. Handlers only
// read what the refresher published; nothing here calls the Tigo API.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/listen_address.hpp"
#include "util/result.hpp"

namespace httplib {
class Server;
}

namespace web {

struct Handlers {
  std::function<std::string()> metrics;  // full exposition text
  std::function<bool()> ready;
  std::function<std::string()> landing_html;
};

struct ServerOptions {
  util::ListenAddress listen;
  std::string telemetry_path = "/metrics";
};

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

 private:
  ServerOptions options_;
  Handlers handlers_;
  std::unique_ptr<httplib::Server> http_;
};

}  // namespace web
