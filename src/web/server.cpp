#include "web/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include "util/gzip.hpp"
#include "web/rate_limiter.hpp"
#include "web/tls.hpp"

namespace web {
namespace {

// httplib route patterns (regular expressions) of Handlers::page.
constexpr const char* kPagePatterns[] = {"/", R"(/systems/[^/]+)", R"(/api/systems/[^/]+)",
                                         R"(/static/[^/]+)"};

// A TLS listener prepares its SSL_CTX through TlsContext (certificates reloadable), a plain one
// is plain.
std::unique_ptr<httplib::Server> make_http(const std::shared_ptr<TlsContext>& tls) {
  if (tls)
    return std::make_unique<httplib::SSLServer>([tls](SSL_CTX& ctx) { return tls->setup(ctx); });
  return std::make_unique<httplib::Server>();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Sends the payload in order; httplib asks for the bytes sequentially.
class PayloadStream {
 public:
  explicit PayloadStream(Payload p) : payload_(std::move(p)) {}

  std::size_t size() const {
    std::size_t total = 0;
    for (const auto& piece : payload_.pieces) total += sent_size(piece);
    return total;
  }

  bool write(std::size_t offset, std::size_t length, httplib::DataSink& sink) {
    if (offset != sent_) return false;  // httplib never seeks; refuse rather than send garbage
    while (length > 0 && index_ < payload_.pieces.size()) {
      const Piece& piece = payload_.pieces[index_];
      const std::size_t n = next(piece, std::min(length, kChunk));
      if (n == 0) {
        if (inflating(piece) && (!reader_ || reader_->failed() || done_ != sent_size(piece)))
          return false;  // a corrupt cache must not yield a short, silently wrong answer
        ++index_;
        done_ = 0;
        reader_.reset();
        continue;
      }
      if (!sink.write(chunk_, n)) return false;
      done_ += n;
      sent_ += n;
      length -= n;
    }
    return true;
  }

 private:
  static constexpr std::size_t kChunk = std::size_t{256} * 1024;

  bool inflating(const Piece& piece) const { return piece.gzipped && !payload_.gzip; }
  std::size_t sent_size(const Piece& piece) const {
    return inflating(piece) ? piece.plain_size : piece.bytes->size();
  }
  // The next bytes of the current piece into chunk_ (or pointed to in place): their count.
  std::size_t next(const Piece& piece, std::size_t want) {
    if (!inflating(piece)) {
      const std::size_t n = std::min(want, piece.bytes->size() - done_);
      chunk_ = piece.bytes->data() + done_;
      return n;
    }
    if (!reader_) reader_ = std::make_unique<util::GzipReader>(*piece.bytes);
    buffer_.resize(kChunk);
    const std::size_t n = reader_->read(buffer_.data(), std::min(want, piece.plain_size - done_));
    chunk_ = buffer_.data();
    return n;
  }

  Payload payload_;
  std::size_t index_ = 0, done_ = 0, sent_ = 0;
  std::unique_ptr<util::GzipReader> reader_;
  std::string buffer_;
  const char* chunk_ = nullptr;
};

// Served through a sized content provider: httplib neither copies nor re-compresses those (it
// would gzip a set_content body again on its own).
void send_payload(httplib::Response& res, Payload payload, Format format) {
  if (payload.gzip) res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept, Accept-Encoding");
  auto stream = std::make_shared<PayloadStream>(std::move(payload));
  res.set_content_provider(
      stream->size(), std::string(content_type(format)),
      [stream](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        return stream->write(offset, length, sink);
      });
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
      rules_(make_rules(options_.web, nullptr)),
      tls_(options_.web.tls_settings ? std::make_shared<TlsContext>(options_.web.tls_settings)
                                     : nullptr),
      http_(make_http(tls_)) {
  http_->set_socket_options(util::set_exclusive_listen_options);
  http_->set_read_timeout(10, 0);
  http_->set_write_timeout(30, 0);
  // Installed even without rules: a reload may add them. The security headers go on every
  // answer; the rate limit counts every request, authenticated or not, as the toolkit's.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const auto rules = this->rules();
    for (const auto& [name, value] : rules->headers) res.set_header(name, value);
    if (rules->limiter && !rules->limiter->allow()) {
      res.status = 429;
      res.set_content("Too Many Requests\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!rules->auth->enabled() || rules->auth->check(req.get_header_value("Authorization")))
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"tigo_exporter\"");
    res.set_content("Unauthorized\n", "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
  http_->Get(options_.telemetry_path, [this](const httplib::Request& req, httplib::Response& res) {
    const auto format = negotiate_format(req.get_header_value("Accept"));
    send_payload(res,
                 handlers_.metrics(accepts_gzip(req.get_header_value("Accept-Encoding")), format),
                 format);
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
  // The pages, behind the same TLS and basic auth as everything (the pre-routing handler).
  const auto page = [this](const httplib::Request& req, httplib::Response& res) {
    auto answer = handlers_.page({req.path, req.get_param_value("q")});
    res.status = answer.status;
    if (!answer.cache_control.empty()) res.set_header("Cache-Control", answer.cache_control);
    if (!res.has_header("X-Content-Type-Options"))  // the web config's headers may have it
      res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(answer.body, answer.content_type.c_str());
  };
  for (const auto* pattern : kPagePatterns) http_->Get(pattern, page);
  // Every served path answers other methods 405 naming the allowed ones (httplib answers 404
  // for a known path with an unrouted method); unknown paths stay 404.
  const auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content("Method Not Allowed\n", "text/plain; charset=utf-8");
  };
  std::vector<std::string> paths = {options_.telemetry_path, "/-/healthy", "/-/ready"};
  paths.insert(paths.end(), std::begin(kPagePatterns), std::end(kPagePatterns));
  for (const std::string& path : paths) {
    http_->Post(path, not_allowed);
    http_->Put(path, not_allowed);
    http_->Patch(path, not_allowed);
    http_->Delete(path, not_allowed);
    http_->Options(path, not_allowed);
  }
}

Server::~Server() { stop(); }

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
  if (!http_->is_valid())
    return util::make_error("cannot start TLS: the listener's SSL context could not be made");
  std::string reason;
  for (const auto& host : util::bind_hosts(options_.listen)) {
    const int want = options_.listen.port;
    errno = 0;  // httplib keeps the failed bind's errno; 0 means the host did not resolve
    const int port =
        want == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, want) ? want : -1);
    if (port > 0) return port;
    reason = util::bind_failure_reason(host, errno);
  }
  return util::make_error("cannot listen on " +
                          util::host_port(options_.listen.host, options_.listen.port) + ": " +
                          reason);
}

void Server::run() {
  run_entered_ = true;
  if (!stop_requested_) http_->listen_after_bind();
  run_returned_ = true;
}

void Server::stop() {
  stop_requested_ = true;
  if (!http_) return;
  while (run_entered_ && !run_returned_ && !http_->is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  http_->stop();
}

}  // namespace web
