#include "tigo/client.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tigo/deadline_watch.hpp"
#include "tigo/json_parse.hpp"
#include "tigo/net_error.hpp"
#include "tigo/rate_headers.hpp"
#include "util/duration.hpp"
#include "util/listen_address.hpp"
#include "util/log.hpp"
#include "util/secret_file.hpp"
#include "util/url.hpp"

namespace tigo {
namespace {

using std::chrono::steady_clock;

// How long a failed connect's second attempt (to learn the socket's reason) may take in all.
constexpr std::chrono::milliseconds kProbeLimit{2'000};

std::optional<std::string_view> header_text(const httplib::Headers& headers, const char* name) {
  const auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

RateHeaders rate_headers_of(const httplib::Headers& headers) {
  RateHeaderText text;
  text.limit = header_text(headers, "X-Rate-Limit-Limit");
  text.remaining = header_text(headers, "X-Rate-Limit-Remaining");
  text.reset = header_text(headers, "X-Rate-Limit-Reset");
  text.retry_after = header_text(headers, "Retry-After");
  return read_rate_headers(text, std::chrono::system_clock::now());
}

// An excerpt of an answer body for error messages; answers other than login's never carry
// our secrets, and login's body is never quoted.
std::string excerpt(std::string_view body) {
  constexpr size_t kMax = 160;
  std::string out(body.substr(0, kMax));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (body.size() > kMax) out += "...";
  return out;
}

Error make_failure(ErrorKind kind, std::string_view endpoint, int status, std::string message) {
  Error e;
  e.message = std::move(message);
  e.kind = kind;
  e.endpoint = std::string(endpoint);
  e.status = status;
  return e;
}

Error status_failure(std::string_view endpoint, int status, std::string_view body) {
  std::string msg = std::string(endpoint) + ": HTTP " + std::to_string(status);
  if (auto e = parse_error(body); e && !e->message.empty()) {
    msg += ": " + e->message;
  } else if (!body.empty()) {
    msg += ": " + excerpt(body);
  }
  ErrorKind kind = ErrorKind::http_status;
  if (status == 401) kind = ErrorKind::unauthorized;
  if (status == 402) kind = ErrorKind::payment_required;
  if (status == 429) kind = ErrorKind::rate_limited;
  return make_failure(kind, endpoint, status, std::move(msg));
}

template <class T>
Result<T> parsed(util::Result<T> r, std::string_view endpoint) {
  if (!r) return make_failure(ErrorKind::parse, endpoint, 200, r.error().message);
  return std::move(*r);
}

// Query string builder; values percent-encoded.
class Query {
 public:
  explicit Query(std::string path) : s_(std::move(path)) {}
  Query& add(std::string_view key, std::string_view value) {
    s_ += first_ ? '?' : '&';
    first_ = false;
    s_ += key;
    s_ += '=';
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : value) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',' || c == ':') {
        s_ += static_cast<char>(c);
      } else {
        s_ += '%';
        s_ += kHex[c >> 4];
        s_ += kHex[c & 15];
      }
    }
    return *this;
  }
  Query& add(std::string_view key, std::int64_t value) { return add(key, std::to_string(value)); }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
  bool first_ = true;
};

std::string join_ids(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (auto id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

std::vector<std::string> id_strings(const std::vector<std::int64_t>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (auto id : ids) out.push_back(std::to_string(id));
  return out;
}

// Pages of a Yii2 list: stop without `_meta`, at pageCount, on an empty page, or at a cap.
bool last_page(const std::optional<PageMeta>& meta, std::int64_t page, bool empty) {
  return !meta || page >= meta->page_count || empty || page >= 10'000;
}

}  // namespace

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::transport:
      return "transport";
    case ErrorKind::http_status:
      return "http_status";
    case ErrorKind::parse:
      return "parse";
    case ErrorKind::payment_required:
      return "payment_required";
    case ErrorKind::rate_limited:
      return "rate_limited";
    case ErrorKind::unauthorized:
      return "unauthorized";
    case ErrorKind::cancelled:
      return "cancelled";
  }
  return "unknown";
}

// One keep-alive connection of the pool, used by one request at a time. A stop request or the
// call's deadline, from another thread, ends that request by shutting its socket down: httplib's
// own stop() would wait for a connect in progress and misses a request that has not yet marked
// itself in flight.
struct Connection {
  std::unique_ptr<httplib::Client> http;
  std::mutex mutex;      // guards the three below (the request's thread and a stopping thread)
  int socket_copy = -1;  // a dup of httplib's current socket: shutting it down ends the request
  bool aborted = false;  // the request's stop token fired
  bool expired = false;  // the request outlived its deadline

  // How a request ended, as finish() tells it.
  struct Ending {
    bool aborted = false;
    bool expired = false;
  };

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    http.reset();
    if (socket_copy >= 0) ::close(socket_copy);
  }

  // httplib made a new socket (in the request's thread, before connecting it).
  void adopt(int fd) {
    std::lock_guard lock(mutex);
    if (socket_copy >= 0) ::close(socket_copy);
    socket_copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    // Stopped or expired before it connected: fail at once.
    if (aborted || expired) ::shutdown(fd, SHUT_RDWR);
  }
  // From the stopping thread.
  void abort() {
    std::lock_guard lock(mutex);
    aborted = true;
    if (socket_copy >= 0) ::shutdown(socket_copy, SHUT_RDWR);
  }
  // From the deadline's thread (again and again until the request returns).
  void expire() {
    std::lock_guard lock(mutex);
    expired = true;
    if (socket_copy >= 0) ::shutdown(socket_copy, SHUT_RDWR);
  }
  // After a request (no abort() or expire() may come any more): how it ended. A socket we shut
  // down is not used again, even under a complete answer; a socket httplib closed is let go, so
  // the connection's end is not delayed by our copy.
  Ending finish() {
    Ending ending;
    {
      std::lock_guard lock(mutex);
      ending = {aborted, expired};
      aborted = expired = false;
    }
    // Outside `mutex`: httplib calls adopt() holding its socket mutex, so taking that one inside
    // ours would be the opposite order (same thread, but a lock-order inversion all the same).
    if (ending.aborted || ending.expired) http->stop();  // no request in flight: closes it
    const bool open = http->is_socket_open() != 0;
    std::lock_guard lock(mutex);
    if (socket_copy >= 0 && !open) {
      ::close(socket_copy);
      socket_copy = -1;
    }
    return ending;
  }
};

struct Client::Impl {
  ClientOptions options;
  util::BaseUrl base;
  int port = 0;
  std::shared_ptr<Governor> governor;
  DeadlineWatch deadlines;  // ends every request `options.timeout` after it started

  // Connection pool: `concurrency` keep-alive connections, each used by one request at a time.
  std::mutex pool_mutex;
  std::condition_variable_any pool_cv;
  std::vector<std::unique_ptr<Connection>> idle;

  // Session; everything below up to login_mutex is guarded by session_mutex.
  mutable std::mutex session_mutex;
  Credentials creds;  // secret: the credentials in use, as last read from their files
  std::string token;  // secret: the bearer token in use (the pre-issued one, or a login's)
  std::optional<Timestamp> expires;
  std::optional<Timestamp> renew_at;  // when to log in again ahead of `expires`
  std::int64_t user_id = 0;
  // After a refused login: no login before `login_allowed_at`.
  std::shared_ptr<GovernorClock> clock;
  std::chrono::seconds login_backoff{0};  // 0: the last login was not refused
  std::optional<GovernorClock::time_point> login_allowed_at;
  std::optional<Error> login_refusal;
  // For login_state().
  std::optional<Timestamp> last_attempt;
  bool last_ok = false;
  std::string last_error;
  // The last problem reading each file, so a lasting one is logged once.
  std::string password_file_problem, token_file_problem;

  std::mutex login_mutex;  // one login at a time; the others wait for its token

  mutable std::mutex payment_mutex;
  std::set<std::string, std::less<>> payment_required;

  struct Answer {
    int status = 0;
    std::string body;
  };

  Impl(ClientOptions o, util::BaseUrl b) : options(std::move(o)), base(std::move(b)) {
    port = port_of(base);
    governor = options.governor;
    if (!governor) {
      GovernorOptions g;
      g.requests_per_minute = options.rate_limit;
      governor = std::make_shared<Governor>(g);
    }
    const int n = std::max(1, options.concurrency);
    for (int i = 0; i < n; ++i) idle.push_back(make_connection(options.timeout));
    creds = options.credentials;
    token = creds.token;
    clock = options.clock ? options.clock : steady_governor_clock();
  }

  static int port_of(const util::BaseUrl& b) {
    const std::string_view shp = b.scheme_host_port;
    const auto authority = shp.substr(shp.find("://") + 3);
    const auto colon = authority.rfind(':');
    const auto bracket = authority.rfind(']');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket))
      return std::atoi(std::string(authority.substr(colon + 1)).c_str());
    return b.https ? 443 : 80;
  }

  static bool can_login(const Credentials& c) { return !c.username.empty() && !c.password.empty(); }

  std::unique_ptr<Connection> make_connection(std::chrono::milliseconds timeout) const {
    auto conn = std::make_unique<Connection>();
    auto http = std::make_unique<httplib::Client>(base.scheme_host_port);
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(timeout - secs);
    http->set_connection_timeout(secs.count(), usecs.count());
    http->set_read_timeout(secs.count(), usecs.count());
    http->set_write_timeout(secs.count(), usecs.count());
    http->set_keep_alive(true);
    http->set_follow_location(false);
    http->set_socket_options([c = conn.get()](socket_t fd) { c->adopt(fd); });
    if (base.https) {
      http->enable_server_certificate_verification(true);
      if (!options.ca_file.empty()) http->set_ca_cert_path(options.ca_file.c_str());
    }
    conn->http = std::move(http);
    return conn;
  }

  std::unique_ptr<Connection> lease(std::stop_token stop) {
    std::unique_lock lock(pool_mutex);
    if (!pool_cv.wait(lock, stop, [this] { return !idle.empty(); })) return nullptr;
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }

  void give_back(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(pool_mutex);
      idle.push_back(std::move(c));
    }
    pool_cv.notify_one();
  }

  // What happened to a request without an answer, in the words of whoever knows. `expired`:
  // the request outlived its deadline and its socket was shut down.
  std::string transport_failure(httplib::Error error, const httplib::Client& http, double seconds,
                                bool expired) const {
    const std::string where = util::host_port(base.host, port);
    const std::string timeout = util::format_duration(options.timeout);
    const std::string tls = take_openssl_error();
    if (expired) {
      // What OpenSSL or the socket say then is the consequence of our shutdown, not a cause.
      if (error == httplib::Error::Connection || error == httplib::Error::ConnectionTimeout)
        return "connect to " + where + ": timed out after " + timeout;
      if (error == httplib::Error::SSLConnection)
        return "TLS handshake with " + where + ": timed out after " + timeout;
      return "no complete answer from " + where + " within " + timeout;
    }
    const auto with_tls = [&](const std::string& s) {
      return tls.empty() ? s : s + " (TLS: " + tls + ")";
    };
    switch (error) {
      case httplib::Error::Connection:
        return explain_connect_failure(
            base.host, port, std::min<std::chrono::milliseconds>(options.timeout, kProbeLimit));
      case httplib::Error::ConnectionTimeout:
        return "connect to " + where + ": timed out after " + timeout;
      case httplib::Error::Read:
        // httplib's own read timeout (as long as the deadline, so rarely first): a shorter wait
        // was the peer closing.
        if (seconds >= 0.95 * std::chrono::duration<double>(options.timeout).count())
          return with_tls("no complete answer from " + where + " within " + timeout);
        return with_tls("connection to " + where + " closed before a complete answer");
      case httplib::Error::Write:
        return with_tls("sending the request to " + where + " failed: connection closed");
      case httplib::Error::SSLConnection:
        return "TLS handshake with " + where + " failed" + (tls.empty() ? "" : ": " + tls);
      case httplib::Error::SSLLoadingCerts:
        return "cannot load CA certificates from " +
               (options.ca_file.empty() ? std::string("the system store") : options.ca_file) +
               (tls.empty() ? "" : ": " + tls);
      case httplib::Error::SSLServerVerification: {
        const long result = http.get_openssl_verify_result();
        if (result != 0) return "certificate verify failed: " + verify_result_text(result);
        return "certificate verify failed: the certificate does not name " + base.host;
      }
      case httplib::Error::Compression:
        return "cannot decompress the answer from " + where;
      default:
        return with_tls(httplib::to_string(error));
    }
  }

  // One HTTP GET on `conn` through the governor; counts it with the observer. A stop request
  // ends the wait for budget and the request in flight.
  Result<Answer> exchange(Connection& conn, std::string_view endpoint,
                          const std::string& path_and_query, const httplib::Headers& auth,
                          std::stop_token stop) {
    if (governor->acquire(stop) != AcquireResult::granted) {
      return make_failure(ErrorKind::cancelled, endpoint, 0,
                          std::string(endpoint) + ": cancelled while waiting for rate budget");
    }
    httplib::Headers headers = auth;
    headers.emplace("Accept", "application/json, text/csv");
    headers.emplace("Accept-Encoding", "gzip");
    Answer answer;
    bool too_large = false;
    ERR_clear_error();  // this thread's OpenSSL queue then holds only this request's errors
    const auto start = steady_clock::now();
    httplib::Result res{nullptr, httplib::Error::Unknown};
    {
      std::stop_callback abort_on_stop(stop, [&conn] { conn.abort(); });
      const auto deadline = deadlines.watch(start + options.timeout, [&conn] { conn.expire(); });
      res = conn.http->Get(base.path_prefix + path_and_query, headers,
                           [&](const char* data, size_t n) {
                             if (answer.body.size() + n > options.max_body_bytes) {
                               too_large = true;
                               return false;
                             }
                             answer.body.append(data, n);
                             return true;
                           });
    }
    const auto ending = conn.finish();
    const bool aborted = ending.aborted || stop.stop_requested();
    const double seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
    if (!res) {
      if (options.observer) options.observer->on_call(endpoint, "error", seconds);
      if (aborted) {
        ERR_clear_error();
        governor->on_abandoned();
        return make_failure(ErrorKind::cancelled, endpoint, 0,
                            std::string(endpoint) + ": cancelled (stopping)");
      }
      governor->on_transport_error();
      std::string why =
          too_large ? "answer larger than " + std::to_string(options.max_body_bytes) + " bytes"
                    : transport_failure(res.error(), *conn.http, seconds, ending.expired);
      return make_failure(ErrorKind::transport, endpoint, 0, std::string(endpoint) + ": " + why);
    }
    const RateHeaders rh = rate_headers_of(res->headers);
    governor->on_answer(res->status, rh);
    if (options.observer) {
      options.observer->on_call(endpoint, std::to_string(res->status), seconds);
      if (rh.limit || rh.remaining || rh.reset_seconds)
        options.observer->on_rate_limit(rh.limit, rh.remaining, rh.reset_seconds);
    }
    answer.status = res->status;
    if (res->status == 429) {
      auto e = status_failure(endpoint, 429, answer.body);
      if (const auto wait = rate_limited_wait_seconds(rh))  // bounded: the cast cannot overflow
        e.retry_after = std::chrono::seconds{static_cast<std::int64_t>(std::ceil(*wait))};
      return e;
    }
    return answer;
  }

  // exchange() on a connection of the pool.
  Result<Answer> send(std::string_view endpoint, const std::string& path_and_query,
                      const httplib::Headers& auth, std::stop_token stop) {
    auto conn = stop.stop_requested() ? nullptr : lease(stop);
    if (!conn)
      return make_failure(ErrorKind::cancelled, endpoint, 0, std::string(endpoint) + ": cancelled");
    auto result = exchange(*conn, endpoint, path_and_query, auth, stop);
    give_back(std::move(conn));
    return result;
  }

  // Reads one credential file again into `value` (session_mutex held by the caller only around
  // the update). Returns "changed", "unchanged", "not used" or the problem; a file that cannot
  // be read or is empty keeps the value in use, and a lasting problem is logged once.
  std::string reread(const std::string& path, std::string Credentials::*field,
                     std::string Impl::*problem, std::string_view what) {
    if (path.empty()) return "not used";
    auto text = util::read_secret_file(path);
    std::string trouble;
    if (!text) {
      trouble = text.error().message;
    } else if (text->empty()) {
      trouble = path + " is empty";
    }
    std::lock_guard lock(session_mutex);
    if (!trouble.empty()) {
      if (this->*problem != trouble) {
        this->*problem = trouble;
        util::log::warn(std::string(what) + " file not read again: the one in use is kept",
                        {{"err", trouble}});
      }
      return "kept (" + trouble + ")";
    }
    (this->*problem).clear();
    if (creds.*field == *text) return "unchanged";
    creds.*field = std::move(*text);
    return "changed";
  }

  struct Reread {
    std::string password, token;
  };

  // The password and token files again. A changed password ends the login back-off (the
  // operator fixed it); a changed token replaces the one in use.
  Reread reread_files() {
    Reread r;
    r.password = reread(options.password_file, &Credentials::password, &Impl::password_file_problem,
                        "password");
    r.token = reread(options.token_file, &Credentials::token, &Impl::token_file_problem, "token");
    std::lock_guard lock(session_mutex);
    if (r.password == "changed") {
      login_backoff = std::chrono::seconds{0};
      login_allowed_at.reset();
      login_refusal.reset();
      util::log::info("password file changed: the next login uses it",
                      {{"password_file", options.password_file}});
    }
    if (r.token == "changed") {
      token = creds.token;
      expires.reset();
      renew_at.reset();
      util::log::info("token file changed: the new token is used",
                      {{"token_file", options.token_file}});
    }
    return r;
  }

  // Caller holds login_mutex.
  Result<Login> do_login(std::stop_token stop) {
    reread_files();  // a fixed password file counts from this login on
    Credentials c;
    {
      std::lock_guard lock(session_mutex);
      c = creds;
      // A refused password does not heal by retrying, and retries may lock the account.
      if (login_allowed_at && clock->now() < *login_allowed_at) {
        auto e = *login_refusal;
        const auto left = std::chrono::ceil<std::chrono::seconds>(*login_allowed_at - clock->now());
        e.message += " (login refused: next attempt in " + std::to_string(left.count()) + " s)";
        return e;
      }
    }
    if (!can_login(c)) {
      return make_failure(ErrorKind::unauthorized, "users/login", 0,
                          "users/login: no username and password configured (a pre-issued "
                          "token cannot be renewed)");
    }
    httplib::Headers auth{httplib::make_basic_authentication_header(c.username, c.password)};
    auto res = send("users/login", "users/login", auth, stop);
    auto failed = [&](Error e) {
      if (e.kind == ErrorKind::cancelled) return e;
      if (options.observer) options.observer->on_login(false, std::nullopt);
      std::lock_guard lock(session_mutex);
      last_attempt = now_seconds();
      last_ok = false;
      last_error = e.message;
      return e;
    };
    if (!res) return failed(res.error());
    if (res->status == 401)
      return failed(refused(status_failure("users/login", 401, res->body), c.username));
    if (res->status != 200) return failed(status_failure("users/login", res->status, res->body));
    auto login = parsed(parse_login(res->body), "users/login");
    if (!login) return failed(login.error());
    {
      std::lock_guard lock(session_mutex);
      token = login->token;
      expires = login->expires;
      renew_at = renewal_time(now_seconds(), login->expires);
      user_id = login->user_id;
      login_backoff = std::chrono::seconds{0};
      login_allowed_at.reset();
      login_refusal.reset();
      last_attempt = now_seconds();
      last_ok = true;
      last_error.clear();
    }
    if (options.observer) options.observer->on_login(true, login->expires);
    return login;
  }

  static Timestamp now_seconds() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  }

  // Records a 401 on users/login: the back-off grows, and the operator learns which user to fix.
  Error refused(Error e, const std::string& username) {
    std::chrono::seconds backoff{};
    {
      std::lock_guard lock(session_mutex);
      login_backoff = login_backoff.count() == 0
                          ? options.login_backoff
                          : std::min(login_backoff * 2, options.login_backoff_cap);
      login_allowed_at = clock->now() + login_backoff;
      login_refusal = e;
      backoff = login_backoff;
    }
    util::log::error("Tigo refused the login: check the username and password",
                     {{"user", username},
                      {"err", e.message},
                      {"retry_in", std::to_string(backoff.count()) + "s"}});
    return e;
  }

  // Renew `renew_ahead` before expiry, but never in the first 3/4 of the token's life: a
  // short-lived token would otherwise be renewed before every call. An expiry already past by
  // our clock (skew) is not trusted; the 401 path renews then.
  std::optional<Timestamp> renewal_time(Timestamp now, std::optional<Timestamp> expiry) const {
    if (!expiry || *expiry <= now) return std::nullopt;
    const auto lifetime = *expiry - now;
    const auto ahead = std::min<Timestamp::duration>(options.renew_ahead, lifetime / 4);
    return *expiry - ahead;
  }

  // A pre-issued token has no known expiry: it is used until refused.
  bool fresh_locked() const {
    if (token.empty()) return false;
    if (!renew_at) return true;
    return std::chrono::system_clock::now() < *renew_at;
  }

  // A usable token: the current one, or a new login (one thread logs in, the others reuse it).
  Result<std::string> ensure_token(std::stop_token stop) {
    {
      std::lock_guard lock(session_mutex);
      if (fresh_locked()) return token;
    }
    std::lock_guard login_lock(login_mutex);
    {
      std::lock_guard lock(session_mutex);
      if (fresh_locked()) return token;
    }
    auto l = do_login(stop);
    if (!l) return l.error();
    return l->token;
  }

  // After a 401 with `refused`: the token another thread got meanwhile, a new token from the
  // token file, or a login. Nullopt: nothing to try again with (a token and no password).
  std::optional<Result<std::string>> renew_after_401(std::string_view endpoint,
                                                     const std::string& refused,
                                                     std::stop_token stop) {
    std::lock_guard login_lock(login_mutex);
    {
      std::lock_guard lock(session_mutex);
      if (token != refused && !token.empty()) return Result<std::string>(token);
    }
    reread_files();
    bool login = false;
    {
      std::lock_guard lock(session_mutex);
      if (token != refused && !token.empty()) return Result<std::string>(token);
      login = can_login(creds);
      if (!login) {
        last_attempt = now_seconds();
        last_ok = false;
        last_error = std::string(endpoint) + ": HTTP 401: the pre-issued token was refused";
        return std::nullopt;
      }
      token.clear();
    }
    util::log::info("token refused, logging in again", {{"endpoint", std::string(endpoint)}});
    auto l = do_login(stop);
    if (!l) return Result<std::string>(l.error());
    return Result<std::string>(l->token);
  }

  Error payment_error(std::string_view endpoint) const {
    return make_failure(ErrorKind::payment_required, endpoint, 402,
                        std::string(endpoint) +
                            ": HTTP 402: the account has no API subscription for this endpoint "
                            "(not asked again)");
  }

  // GET with the bearer token; status classified into an error unless 200.
  Result<std::string> get(std::string_view endpoint, const std::string& path_and_query,
                          std::stop_token stop) {
    {
      std::lock_guard lock(payment_mutex);
      if (payment_required.find(endpoint) != payment_required.end()) return payment_error(endpoint);
    }
    auto tok = ensure_token(stop);
    if (!tok) return tok.error();
    auto bearer = [](const std::string& t) {
      return httplib::Headers{{"Authorization", "Bearer " + t}};
    };
    auto res = send(endpoint, path_and_query, bearer(*tok), stop);
    if (res && res->status == 401) {
      if (auto renewed = renew_after_401(endpoint, *tok, stop)) {
        if (!*renewed) return renewed->error();
        res = send(endpoint, path_and_query, bearer(**renewed), stop);
      }
    }
    if (!res) return res.error();
    if (res->status == 200) return std::move(res->body);
    if (res->status == 402) {
      bool first = false;
      {
        std::lock_guard lock(payment_mutex);
        first = payment_required.emplace(endpoint).second;
      }
      if (first) {
        util::log::error(
            "Tigo answered 402 Payment Required: the account needs an API (premium) "
            "subscription for this endpoint; it will not be asked again until restart",
            {{"endpoint", std::string(endpoint)}});
      }
      auto e = status_failure(endpoint, 402, res->body);
      return e;
    }
    return status_failure(endpoint, res->status, res->body);
  }

  void report_anomalies(std::string_view endpoint, const CsvAnomalies& a) const {
    if (!options.observer) return;
    for (auto kind : {CsvAnomaly::header_only, CsvAnomaly::future_row, CsvAnomaly::bad_row,
                      CsvAnomaly::unknown_column}) {
      if (const auto n = a.count(kind); n > 0)
        options.observer->on_csv_anomaly(endpoint, to_string(kind), n);
    }
  }

  Result<CsvTable> csv(std::string_view endpoint, const std::string& path_and_query,
                       const date::time_zone* zone, const std::vector<std::string>& expected,
                       bool keep_rows, std::stop_token stop) {
    auto body = get(endpoint, path_and_query, stop);
    if (!body) return body.error();
    CsvOptions o;
    if (zone) {
      const auto now =
          options.utc_now
              ? options.utc_now()
              : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      o.now = utc_to_local(now, zone);
    }
    o.expected = expected;
    o.keep_rows = keep_rows;
    auto table = parsed(parse_csv(*body, o, endpoint), endpoint);
    if (table) report_anomalies(endpoint, table->anomalies);
    return table;
  }
};

util::Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  auto base = util::parse_base_url(options.base_url);
  if (!base) return base.error();
  return std::unique_ptr<Client>(
      new Client(std::make_unique<Impl>(std::move(options), std::move(*base))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<Login> Client::login(std::stop_token stop) {
  std::lock_guard login_lock(impl_->login_mutex);
  return impl_->do_login(stop);
}

void Client::logout() {
  std::string token;
  {
    std::lock_guard lock(impl_->session_mutex);
    // A pre-issued token stays valid: it is not ours to end.
    if (impl_->token.empty() || impl_->token == impl_->creds.token) return;
    token = std::exchange(impl_->token, {});
    impl_->expires.reset();
    impl_->renew_at.reset();
  }
  // A stop must not wait for the API: everything (rate budget, connect, answer) within the
  // deadline, on a connection of its own (the pool's may be busy or shut down).
  const auto deadline = impl_->options.logout_deadline;
  if (impl_->governor->wait_time() > deadline / 2) {
    util::log::warn("logout skipped: no rate budget left", {{"endpoint", "users/logout"}});
    return;
  }
  std::stop_source give_up;
  std::jthread timer([&give_up, deadline](std::stop_token done) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, done, deadline, [] { return false; }) && !done.stop_requested())
      give_up.request_stop();
  });
  auto conn = impl_->make_connection(std::min(impl_->options.timeout, deadline));
  auto res =
      impl_->exchange(*conn, "users/logout", "users/logout",
                      httplib::Headers{{"Authorization", "Bearer " + token}}, give_up.get_token());
  timer.request_stop();
  if (!res) {
    util::log::warn("logout failed", {{"err", res.error().kind == ErrorKind::cancelled
                                                  ? "users/logout: no answer within " +
                                                        util::format_duration(deadline)
                                                  : res.error().message}});
  } else if (res->status != 200) {
    util::log::warn("logout failed",
                    {{"err", status_failure("users/logout", res->status, res->body).message}});
  }
}

void Client::reload_credentials() {
  const auto r = impl_->reread_files();
  util::log::info("credentials reloaded", {{"password_file", r.password}, {"token_file", r.token}});
}

LoginState Client::login_state() const {
  std::lock_guard lock(impl_->session_mutex);
  LoginState s;
  const bool login = Impl::can_login(impl_->creds);
  const bool token = !impl_->creds.token.empty();
  s.mode = token && login ? "token, then password" : token ? "token" : "password";
  s.last_attempt = impl_->last_attempt;
  s.last_ok = impl_->last_ok;
  s.last_error = impl_->last_error;
  if (impl_->login_allowed_at) {
    const auto left = *impl_->login_allowed_at - impl_->clock->now();
    if (left > left.zero())
      s.next_attempt = Impl::now_seconds() + std::chrono::ceil<std::chrono::seconds>(left);
  }
  s.token_expires = impl_->expires;
  return s;
}

Result<User> Client::user(std::stop_token stop) {
  // users/get wants the logged-in user's id; a pre-issued token does not tell it, so the call
  // then goes without (the API answers the current user).
  auto tok = impl_->ensure_token(stop);
  if (!tok) return tok.error();
  std::int64_t id = 0;
  {
    std::lock_guard lock(impl_->session_mutex);
    id = impl_->user_id;
  }
  Query q("users/get");
  if (id > 0) q.add("id", id);
  auto body = impl_->get("users/get", q.str(), stop);
  if (!body) return body.error();
  return parsed(parse_user(*body), "users/get");
}

Result<std::vector<System>> Client::systems(std::stop_token stop) {
  std::vector<System> all;
  for (std::int64_t page = 1;; ++page) {
    auto body = impl_->get("systems", Query("systems").add("page", page).str(), stop);
    if (!body) return body.error();
    auto p = parsed(parse_systems(*body), "systems");
    if (!p) return p.error();
    const bool empty = p->systems.empty();
    for (auto& s : p->systems) all.push_back(std::move(s));
    if (last_page(p->meta, page, empty)) break;
  }
  return all;
}

Result<System> Client::system(std::int64_t system_id, std::stop_token stop) {
  auto body = impl_->get("systems/view", Query("systems/view").add("id", system_id).str(), stop);
  if (!body) return body.error();
  return parsed(parse_system_view(*body), "systems/view");
}

Result<Layout> Client::layout(std::int64_t system_id, std::stop_token stop) {
  auto body =
      impl_->get("systems/layout", Query("systems/layout").add("id", system_id).str(), stop);
  if (!body) return body.error();
  return parsed(parse_layout(*body), "systems/layout");
}

Result<std::vector<Object>> Client::objects(std::int64_t system_id, std::stop_token stop) {
  auto body =
      impl_->get("objects/system", Query("objects/system").add("system_id", system_id).str(), stop);
  if (!body) return body.error();
  return parsed(parse_objects(*body), "objects/system");
}

Result<std::vector<ObjectType>> Client::object_types(std::stop_token stop) {
  auto body = impl_->get("objects/types", "objects/types", stop);
  if (!body) return body.error();
  return parsed(parse_object_types(*body), "objects/types");
}

Result<std::vector<Source>> Client::sources(std::int64_t system_id, std::stop_token stop) {
  auto body =
      impl_->get("sources/system", Query("sources/system").add("system_id", system_id).str(), stop);
  if (!body) return body.error();
  return parsed(parse_sources(*body), "sources/system");
}

Result<CsvTable> Client::aggregate(const AggregateQuery& query, std::stop_token stop) {
  Query q("data/aggregate");
  q.add("system_id", query.system_id)
      .add("start", format_local(query.start))
      .add("end", format_local(query.end))
      .add("level", api_name(query.level))
      .add("param", spec(query.param).api_name)
      .add("header", query.header);
  if (!query.object_ids.empty()) q.add("object_ids", join_ids(query.object_ids));
  if (query.sensors) q.add("sensors", *query.sensors ? "true" : "false");
  std::vector<std::string> expected = query.expected_columns;
  if (expected.empty() && query.header == "id") expected = id_strings(query.object_ids);
  return impl_->csv("data/aggregate", q.str(), query.zone, expected, query.keep_rows, stop);
}

Result<CsvTable> Client::combined(const CombinedQuery& query, std::stop_token stop) {
  Query q("data/combined");
  q.add("system_id", query.system_id)
      .add("level", api_name(query.level))
      .add("start", format_local(query.start))
      .add("end", format_local(query.end));
  if (!query.object_ids.empty()) q.add("object_ids", join_ids(query.object_ids));
  std::vector<std::string> expected = query.expected_columns;
  if (expected.empty()) expected = id_strings(query.object_ids);
  return impl_->csv("data/combined", q.str(), query.zone, expected, query.keep_rows, stop);
}

Result<Summary> Client::summary(std::int64_t system_id, std::stop_token stop) {
  auto body =
      impl_->get("data/summary", Query("data/summary").add("system_id", system_id).str(), stop);
  if (!body) return body.error();
  return parsed(parse_summary(*body), "data/summary");
}

Result<std::vector<Alert>> Client::alerts(const AlertsQuery& query, std::stop_token stop) {
  std::vector<Alert> all;
  for (std::int64_t page = 1;; ++page) {
    Query q("alerts/system");
    q.add("system_id", query.system_id);
    if (query.start_added) q.add("start_added", date::format("%FT%T+00:00", *query.start_added));
    if (query.end_added) q.add("end_added", date::format("%FT%T+00:00", *query.end_added));
    if (!query.language.empty()) q.add("language", query.language);
    q.add("page", page);
    auto body = impl_->get("alerts/system", q.str(), stop);
    if (!body) return body.error();
    auto p = parsed(parse_alerts(*body), "alerts/system");
    if (!p) return p.error();
    const bool empty = p->alerts.empty();
    for (auto& a : p->alerts) all.push_back(std::move(a));
    if (last_page(p->meta, page, empty)) break;
  }
  return all;
}

Result<std::vector<AlertType>> Client::alert_types(std::string_view language,
                                                   std::stop_token stop) {
  Query q("alerts/types");
  if (!language.empty()) q.add("language", language);
  auto body = impl_->get("alerts/types", q.str(), stop);
  if (!body) return body.error();
  return parsed(parse_alert_types(*body), "alerts/types");
}

bool Client::payment_required(std::string_view endpoint) const {
  std::lock_guard lock(impl_->payment_mutex);
  return impl_->payment_required.find(endpoint) != impl_->payment_required.end();
}

std::optional<Timestamp> Client::token_expires() const {
  std::lock_guard lock(impl_->session_mutex);
  return impl_->expires;
}

Governor& Client::governor() { return *impl_->governor; }
const Governor& Client::governor() const { return *impl_->governor; }

}  // namespace tigo
