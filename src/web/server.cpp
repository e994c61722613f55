#include "web/server.hpp"

#include <httplib.h>

#include <numeric>

namespace web {
namespace {

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

std::unique_ptr<httplib::Server> make_http(const WebConfig& web) {
  if (web.tls)
    return std::make_unique<httplib::SSLServer>(web.tls->cert_file.c_str(),
                                                web.tls->key_file.c_str());
  return std::make_unique<httplib::Server>();
}

// Serves the pieces through a sized content provider: httplib neither copies nor re-compresses
// those (it would gzip a set_content body again on its own).
void send_payload(httplib::Response& res, Payload payload) {
  const std::size_t total =
      std::accumulate(payload.parts.begin(), payload.parts.end(), std::size_t{0},
                      [](std::size_t n, const auto& p) { return n + p->size(); });
  if (payload.gzip) res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
  auto parts =
      std::make_shared<std::vector<std::shared_ptr<const std::string>>>(std::move(payload.parts));
  res.set_content_provider(
      total, kExpositionType,
      [parts](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        for (const auto& p : *parts) {
          if (length == 0) break;
          if (offset >= p->size()) {
            offset -= p->size();
            continue;
          }
          const std::size_t n = std::min(length, p->size() - offset);
          if (!sink.write(p->data() + offset, n)) return false;
          length -= n;
          offset = 0;
        }
        return true;
      });
}

}  // namespace

bool accepts_gzip(std::string_view v) {
  for (std::size_t pos = 0; pos < v.size();) {
    auto end = v.find(',', pos);
    if (end == std::string_view::npos) end = v.size();
    std::string_view item = v.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding != "gzip" && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view q = item.substr(semi + 1);
    while (!q.empty() && q.front() == ' ') q.remove_prefix(1);
    if (!(q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000")) return true;
  }
  return false;
}

Server::Server(ServerOptions options, Handlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      auth_(options_.web.basic_auth_users),
      http_(make_http(options_.web)) {
  http_->set_read_timeout(10, 0);
  http_->set_write_timeout(30, 0);
  if (auth_.enabled()) {
    http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (auth_.check(req.get_header_value("Authorization")))
        return httplib::Server::HandlerResponse::Unhandled;
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"tigo_exporter\"");
      res.set_content("Unauthorized\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    });
  }
  http_->Get(options_.telemetry_path, [this](const httplib::Request& req, httplib::Response& res) {
    send_payload(res, handlers_.metrics(accepts_gzip(req.get_header_value("Accept-Encoding"))));
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
  if (!http_->is_valid())
    return util::make_error("cannot start TLS: check tls_server_config cert_file and key_file");
  int port = options_.listen.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.listen.host);
  } else if (!http_->bind_to_port(options_.listen.host, port)) {
    port = -1;
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
