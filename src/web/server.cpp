#include "web/server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>

#include "util/gzip.hpp"

namespace web {
namespace {

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kText = "text/plain; charset=utf-8";

// The listener's TLS context from tls_server_config. The transport sets what it needs of each
// connection itself (modes, no renegotiation), so this is only the certificate and its key.
util::Result<std::shared_ptr<SSL_CTX>> tls_context(const TlsConfig& tls) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  const bool ok =
      ctx && SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) == 1 &&
      SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) == 1 &&
      SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) == 1 &&
      SSL_CTX_check_private_key(ctx.get()) == 1;
  ERR_clear_error();
  if (!ok)
    return util::make_error("cannot start TLS: check tls_server_config cert_file and key_file");
  return ctx;
}

// A payload's pieces in order, a chunk at a time; gzipped pieces are inflated on the way for a
// plain answer.
class PayloadSource : public BodySource {
 public:
  explicit PayloadSource(Payload p) : payload_(std::move(p)) {}

  std::size_t size() const override {
    std::size_t total = 0;
    for (const auto& piece : payload_.pieces) total += sent_size(piece);
    return total;
  }

  bool next(std::size_t max, std::string_view& out) override {
    out = {};
    while (index_ < payload_.pieces.size()) {
      const Piece& piece = payload_.pieces[index_];
      if (!inflating(piece)) {
        const std::size_t n = std::min(max, piece.bytes->size() - done_);
        if (n > 0) {
          out = std::string_view(*piece.bytes).substr(done_, n);
          done_ += n;
          return true;
        }
      } else {
        if (!reader_) reader_ = std::make_unique<util::GzipReader>(*piece.bytes);
        buffer_.resize(std::min(max, kChunk));
        const std::size_t n =
            reader_->read(buffer_.data(), std::min(buffer_.size(), piece.plain_size - done_));
        if (n > 0) {
          out = std::string_view(buffer_).substr(0, n);
          done_ += n;
          return true;
        }
        // A corrupt cache must not yield a short, silently wrong answer.
        if (reader_->failed() || done_ != piece.plain_size) return false;
      }
      ++index_;
      done_ = 0;
      reader_.reset();
    }
    return true;
  }

 private:
  static constexpr std::size_t kChunk = std::size_t{64} * 1024;

  bool inflating(const Piece& piece) const { return piece.gzipped && !payload_.gzip; }
  std::size_t sent_size(const Piece& piece) const {
    return inflating(piece) ? piece.plain_size : piece.bytes->size();
  }

  Payload payload_;
  std::size_t index_ = 0, done_ = 0;
  std::unique_ptr<util::GzipReader> reader_;
  std::string buffer_;
};

HttpResponse payload_response(Payload payload) {
  HttpResponse res;
  res.set_header("Content-Type", kExpositionType);
  if (payload.gzip) res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
  res.stream = std::make_unique<PayloadSource>(std::move(payload));
  return res;
}

HttpResponse text(int status, std::string body) {
  HttpResponse res;
  res.status = status;
  res.set_content(std::move(body), kText);
  return res;
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
      routes_(routes()),
      auth_(std::make_shared<BasicAuth>(options_.web.basic_auth_users)),
      http_(options_.limits, [this](const HttpRequest& req) { return handle(req); }) {
  if (options_.web.tls) {
    auto ctx = tls_context(*options_.web.tls);
    if (ctx) {
      http_.set_tls(*ctx);
    } else {
      tls_error_ = ctx.error().message;
    }
  }
}

Server::~Server() { stop(); }

std::vector<Server::Route> Server::routes() {
  std::vector<Route> out;
  out.push_back({options_.telemetry_path, [this](const HttpRequest& req) {
                   return payload_response(
                       handlers_.metrics(accepts_gzip(req.header("Accept-Encoding"))));
                 }});
  out.push_back({"/-/healthy", [](const HttpRequest&) { return text(200, "Healthy.\n"); }});
  out.push_back({"/-/ready", [this](const HttpRequest&) {
                   return handlers_.ready()
                              ? text(200, "Ready.\n")
                              : text(503, "Not ready: the first refresh has not completed.\n");
                 }});
  // The pages, behind the same TLS and basic auth as everything.
  const auto page = [this](const HttpRequest& req) {
    auto answer = handlers_.page({req.path, query_value(req.query, "q")});
    HttpResponse res;
    res.status = answer.status;
    if (!answer.cache_control.empty()) res.set_header("Cache-Control", answer.cache_control);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::move(answer.body), std::move(answer.content_type));
    return res;
  };
  out.push_back({"/", page});
  for (const char* prefix : {"/systems/", "/api/systems/", "/static/"})
    out.push_back({prefix, page, true});
  return out;
}

HttpResponse Server::handle(const HttpRequest& req) {
  // Every path, known or not, is behind basic auth when users are configured.
  if (const auto auth = this->auth(); auth->enabled()) {
    const auto header = req.header("Authorization");
    const auto verdict = auth->check(header);
    if (verdict != BasicAuth::Verdict::ok) {
      if (options_.on_auth_failure)
        options_.on_auth_failure(verdict == BasicAuth::Verdict::missing ? "missing" : "invalid");
      HttpResponse res = text(401, "Unauthorized\n");
      res.set_header("WWW-Authenticate", "Basic realm=\"tigo_exporter\"");
      return res;
    }
  }
  const auto route = std::find_if(routes_.begin(), routes_.end(), [&](const Route& r) {
    if (!r.one_segment_below) return r.path == req.path;
    // "/systems/{id}": one non-empty segment after the prefix.
    return req.path.size() > r.path.size() && req.path.starts_with(r.path) &&
           req.path.find('/', r.path.size()) == std::string::npos;
  });
  if (route == routes_.end()) return text(404, "404 page not found\n");
  if (req.method != "GET" && req.method != "HEAD") {
    // A served path names the methods it takes.
    HttpResponse res = text(405, "Method Not Allowed\n");
    res.set_header("Allow", "GET, HEAD");
    return res;
  }
  return route->get(req);
}

std::shared_ptr<BasicAuth> Server::auth() const {
  std::lock_guard lock(auth_mutex_);
  return auth_;
}

bool Server::update_web_config(const WebConfig& next) {
  auto auth = std::make_shared<BasicAuth>(next.basic_auth_users);
  {
    std::lock_guard lock(auth_mutex_);
    auth_.swap(auth);
  }
  const auto& now = options_.web.tls;
  return now.has_value() == next.tls.has_value() &&
         (!now || (now->cert_file == next.tls->cert_file && now->key_file == next.tls->key_file));
}

util::Result<int> Server::bind() {
  if (tls_error_) return util::make_error(*tls_error_);
  auto port = http_.bind(options_.listen);
  if (!port)
    return util::make_error("cannot listen on " +
                            util::host_port(options_.listen.host, options_.listen.port) + ": " +
                            port.error().message);
  return port;
}

void Server::run() { http_.run(); }

void Server::stop() { http_.stop(); }

}  // namespace web
