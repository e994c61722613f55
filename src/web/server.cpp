#include "web/server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <charconv>

#include "util/ascii.hpp"
#include "util/gzip.hpp"
#include "web/rate_limiter.hpp"
#include "web/tls.hpp"

namespace web {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

// The listener's SSL_CTX, prepared by TlsContext (tls.hpp: settings applied per handshake, so a
// reload rotates certificates). The transport sets what it needs of each connection itself.
std::shared_ptr<SSL_CTX> tls_context(TlsContext& tls) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  const bool ok = ctx && tls.setup(*ctx);
  ERR_clear_error();
  return ok ? ctx : nullptr;
}

using util::iequals;
using util::trim;

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

HttpResponse payload_response(Payload payload, Format format) {
  HttpResponse res;
  res.set_header("Content-Type", std::string(content_type(format)));
  if (payload.gzip) res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept, Accept-Encoding");
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

Format negotiate_format(std::string_view accept) {
  struct Entry {
    std::string_view type, version;
    double q = 1;
  };
  std::vector<Entry> entries;
  for (std::size_t pos = 0; pos <= accept.size();) {
    auto end = accept.find(',', pos);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(pos, end - pos);
    pos = end + 1;
    Entry e;
    auto semi = item.find(';');
    e.type = trim(item.substr(0, semi));
    while (semi != std::string_view::npos) {
      item.remove_prefix(semi + 1);
      semi = item.find(';');
      const auto param = trim(item.substr(0, semi));
      const auto eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      const auto key = trim(param.substr(0, eq));
      auto value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (iequals(key, "version")) e.version = value;
      if (iequals(key, "q")) {
        double q = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
        e.q = ec == std::errc{} && ptr == value.data() + value.size() ? q : 0;
      }
    }
    if (!e.type.empty() && e.q > 0) entries.push_back(e);
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.q > b.q; });
  for (const auto& e : entries) {
    if (iequals(e.type, "text/plain") && (e.version.empty() || e.version == "0.0.4"))
      return Format::text_0_0_4;
    if (iequals(e.type, "application/openmetrics-text")) {
      if (e.version == "1.0.0") return Format::openmetrics_1_0_0;
      if (e.version.empty() || e.version == "0.0.1") return Format::openmetrics_0_0_1;
    }
  }
  return Format::text_0_0_4;
}

std::string_view content_type(Format format) {
  switch (format) {
    case Format::openmetrics_1_0_0:
      return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case Format::openmetrics_0_0_1:
      return "application/openmetrics-text; version=0.0.1; charset=utf-8";
    case Format::text_0_0_4:
      break;
  }
  return "text/plain; version=0.0.4; charset=utf-8";
}

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
      rules_(make_rules(options_.web, nullptr)),
      tls_(options_.web.tls_settings ? std::make_shared<TlsContext>(options_.web.tls_settings)
                                     : nullptr),
      http_(options_.limits, [this](const HttpRequest& req) { return handle(req); }) {
  if (tls_) {
    if (auto ctx = tls_context(*tls_)) {
      http_.set_tls(std::move(ctx));
    } else {
      tls_error_ = "cannot start TLS: the listener's SSL context could not be made";
    }
  }
}

Server::~Server() { stop(); }

std::vector<Server::Route> Server::routes() {
  std::vector<Route> out;
  out.push_back({options_.telemetry_path, [this](const HttpRequest& req) {
                   const auto format = negotiate_format(req.header("Accept"));
                   return payload_response(
                       handlers_.metrics(accepts_gzip(req.header("Accept-Encoding")), format),
                       format);
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
    res.set_header("X-Content-Type-Options", "nosniff");  // unless the config's headers say
    res.set_content(std::move(answer.body), std::move(answer.content_type));
    return res;
  };
  out.push_back({"/", page});
  for (const char* prefix : {"/systems/", "/api/systems/", "/static/"})
    out.push_back({prefix, page, true});
  return out;
}

HttpResponse Server::handle(const HttpRequest& req) {
  const auto rules = this->rules();
  HttpResponse res = checked(req, *rules);
  // The security headers of http_server_config go on every answer, refusals included.
  for (const auto& [name, value] : rules->headers) res.set_header(name, value);
  return res;
}

HttpResponse Server::checked(const HttpRequest& req, const Rules& rules) {
  // The rate limit counts every request, authenticated or not, as the toolkit's.
  if (rules.limiter && !rules.limiter->allow()) return text(429, "Too Many Requests\n");
  // Every path, known or not, is behind basic auth when users are configured.
  if (rules.auth->enabled()) {
    const auto verdict = rules.auth->check(req.header("Authorization"));
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

std::shared_ptr<const Server::Rules> Server::rules() const {
  std::lock_guard lock(rules_mutex_);
  return rules_;
}

std::shared_ptr<const Server::Rules> Server::make_rules(const WebConfig& web,
                                                        const Rules* previous) {
  auto rules = std::make_shared<Rules>();
  rules->auth = std::make_shared<BasicAuth>(web.basic_auth_users);
  rules->headers = web.headers;
  // An unchanged limit keeps its bucket: a fresh one would hand out a new burst on every reload.
  if (previous != nullptr && previous->limiter && previous->limiter->limit() == web.rate_limit)
    rules->limiter = previous->limiter;
  else if (web.rate_limit.enabled())
    rules->limiter = std::make_shared<RateLimiter>(web.rate_limit);
  return rules;
}

bool Server::update_web_config(const WebConfig& next) {
  auto rules = make_rules(next, this->rules().get());
  {
    std::lock_guard lock(rules_mutex_);
    rules_.swap(rules);
  }
  if ((tls_ != nullptr) != (next.tls_settings != nullptr)) return false;
  if (tls_) tls_->update(next.tls_settings);
  return true;
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
