#include "tigo/client.hpp"

#include <httplib.h>

#include <charconv>
#include <condition_variable>
#include <mutex>

#include "tigo/json_parse.hpp"
#include "util/log.hpp"
#include "util/url.hpp"

namespace tigo {
namespace {

using std::chrono::steady_clock;

std::optional<double> header_number(const httplib::Headers& headers, const char* name) {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  std::string_view s = it->second;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr == s.data()) return std::nullopt;
  return v;
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

struct Client::Impl {
  ClientOptions options;
  util::BaseUrl base;
  std::shared_ptr<Governor> governor;

  // Connection pool: `concurrency` keep-alive clients, each used by one request at a time.
  std::mutex pool_mutex;
  std::condition_variable_any pool_cv;
  std::vector<std::unique_ptr<httplib::Client>> idle;

  // Session.
  mutable std::mutex session_mutex;
  std::string token;  // secret
  std::optional<Timestamp> expires;
  std::optional<Timestamp> renew_at;  // when to log in again ahead of `expires`
  std::int64_t user_id = 0;
  std::mutex login_mutex;  // one login at a time; the others wait for its token
  // After a refused login (guarded by login_mutex): no login before `login_allowed_at`.
  std::shared_ptr<GovernorClock> clock;
  std::chrono::seconds login_backoff{0};  // 0: the last login was not refused
  std::optional<GovernorClock::time_point> login_allowed_at;
  std::optional<Error> login_refusal;

  mutable std::mutex payment_mutex;
  std::set<std::string, std::less<>> payment_required;

  struct Answer {
    int status = 0;
    std::string body;
  };

  Impl(ClientOptions o, util::BaseUrl b) : options(std::move(o)), base(std::move(b)) {
    governor = options.governor;
    if (!governor) {
      GovernorOptions g;
      g.requests_per_minute = options.rate_limit;
      governor = std::make_shared<Governor>(g);
    }
    const int n = std::max(1, options.concurrency);
    for (int i = 0; i < n; ++i) idle.push_back(make_connection());
    token = options.credentials.token;
    clock = options.clock ? options.clock : steady_governor_clock();
  }

  // Token-file mode: a pre-issued token and no username to log in with. (With both, the token
  // is used first and the username logs in once it is refused.)
  bool token_mode() const {
    return !options.credentials.token.empty() && options.credentials.username.empty();
  }

  std::unique_ptr<httplib::Client> make_connection() const {
    auto http = std::make_unique<httplib::Client>(base.scheme_host_port);
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
    const auto usecs =
        std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - secs);
    http->set_connection_timeout(secs.count(), usecs.count());
    http->set_read_timeout(secs.count(), usecs.count());
    http->set_write_timeout(secs.count(), usecs.count());
    http->set_keep_alive(true);
    http->set_follow_location(false);
    if (base.https) {
      http->enable_server_certificate_verification(true);
      if (!options.ca_file.empty()) http->set_ca_cert_path(options.ca_file.c_str());
    }
    return http;
  }

  std::unique_ptr<httplib::Client> lease(std::stop_token stop) {
    std::unique_lock lock(pool_mutex);
    if (!pool_cv.wait(lock, stop, [this] { return !idle.empty(); })) return nullptr;
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }

  void give_back(std::unique_ptr<httplib::Client> c) {
    {
      std::lock_guard lock(pool_mutex);
      idle.push_back(std::move(c));
    }
    pool_cv.notify_one();
  }

  // One HTTP GET through the pool and the governor; counts it with the observer.
  Result<Answer> send(std::string_view endpoint, const std::string& path_and_query,
                      const httplib::Headers& auth, std::stop_token stop) {
    auto http = lease(stop);
    if (!http)
      return make_failure(ErrorKind::cancelled, endpoint, 0, std::string(endpoint) + ": cancelled");
    struct Return {
      Impl& self;
      std::unique_ptr<httplib::Client>& c;
      ~Return() { self.give_back(std::move(c)); }
    } give_back_on_exit{*this, http};

    if (governor->acquire(stop) != AcquireResult::granted) {
      return make_failure(ErrorKind::cancelled, endpoint, 0,
                          std::string(endpoint) + ": cancelled while waiting for rate budget");
    }
    httplib::Headers headers = auth;
    headers.emplace("Accept", "application/json, text/csv");
    headers.emplace("Accept-Encoding", "gzip");
    Answer answer;
    bool too_large = false;
    const auto start = steady_clock::now();
    auto res =
        http->Get(base.path_prefix + path_and_query, headers, [&](const char* data, size_t n) {
          if (answer.body.size() + n > options.max_body_bytes) {
            too_large = true;
            return false;
          }
          answer.body.append(data, n);
          return true;
        });
    const double seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
    if (!res) {
      governor->on_transport_error();
      if (options.observer) options.observer->on_call(endpoint, "error", seconds);
      std::string why =
          too_large ? "answer larger than " + std::to_string(options.max_body_bytes) + " bytes"
                    : httplib::to_string(res.error());
      return make_failure(ErrorKind::transport, endpoint, 0, std::string(endpoint) + ": " + why);
    }
    RateHeaders rh;
    rh.limit = header_number(res->headers, "X-Rate-Limit-Limit");
    rh.remaining = header_number(res->headers, "X-Rate-Limit-Remaining");
    rh.reset_seconds = header_number(res->headers, "X-Rate-Limit-Reset");
    rh.retry_after_seconds = header_number(res->headers, "Retry-After");
    governor->on_answer(res->status, rh);
    if (options.observer) {
      options.observer->on_call(endpoint, std::to_string(res->status), seconds);
      if (rh.limit || rh.remaining || rh.reset_seconds)
        options.observer->on_rate_limit(rh.limit, rh.remaining, rh.reset_seconds);
    }
    answer.status = res->status;
    if (res->status == 429) {
      auto e = status_failure(endpoint, 429, answer.body);
      const double wait = rh.retry_after_seconds.value_or(rh.reset_seconds.value_or(0));
      e.retry_after = std::chrono::seconds{static_cast<std::int64_t>(std::ceil(wait))};
      return e;
    }
    return answer;
  }

  Result<Login> do_login(std::stop_token stop) {
    if (token_mode() || options.credentials.username.empty()) {
      return make_failure(ErrorKind::unauthorized, "users/login", 0,
                          "users/login: no username configured (a pre-issued token cannot be "
                          "renewed)");
    }
    // A refused password does not heal by retrying, and retries may lock the account.
    if (login_allowed_at && clock->now() < *login_allowed_at) {
      auto e = *login_refusal;
      const auto left = std::chrono::ceil<std::chrono::seconds>(*login_allowed_at - clock->now());
      e.message += " (login refused: next attempt in " + std::to_string(left.count()) + " s)";
      return e;
    }
    httplib::Headers auth{httplib::make_basic_authentication_header(options.credentials.username,
                                                                    options.credentials.password)};
    auto res = send("users/login", "users/login", auth, stop);
    auto failed = [&](Error e) {
      if (e.kind != ErrorKind::cancelled && options.observer)
        options.observer->on_login(false, std::nullopt);
      return e;
    };
    if (!res) return failed(res.error());
    if (res->status == 401) return failed(refused(status_failure("users/login", 401, res->body)));
    if (res->status != 200) return failed(status_failure("users/login", res->status, res->body));
    auto login = parsed(parse_login(res->body), "users/login");
    if (!login) return failed(login.error());
    {
      std::lock_guard lock(session_mutex);
      token = login->token;
      expires = login->expires;
      renew_at =
          renewal_time(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()),
                       login->expires);
      user_id = login->user_id;
    }
    login_backoff = std::chrono::seconds{0};
    login_allowed_at.reset();
    login_refusal.reset();
    if (options.observer) options.observer->on_login(true, login->expires);
    return login;
  }

  // Records a 401 on users/login: the back-off grows, and the operator learns which user to fix.
  Error refused(Error e) {
    login_backoff = login_backoff.count() == 0
                        ? options.login_backoff
                        : std::min(login_backoff * 2, options.login_backoff_cap);
    login_allowed_at = clock->now() + login_backoff;
    login_refusal = e;
    util::log::error("Tigo refused the login: check the username and password",
                     {{"user", options.credentials.username},
                      {"err", e.message},
                      {"retry_in", std::to_string(login_backoff.count()) + "s"}});
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

  bool fresh_locked() const {
    if (token.empty()) return false;
    if (!renew_at || token_mode()) return true;
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

  // After a 401 with `refused`: log in again unless another thread already did.
  Result<std::string> renew_after_401(std::string_view endpoint, const std::string& refused,
                                      std::stop_token stop) {
    std::lock_guard login_lock(login_mutex);
    {
      std::lock_guard lock(session_mutex);
      if (token != refused && !token.empty()) return token;
      token.clear();
    }
    util::log::info("token refused, logging in again", {{"endpoint", std::string(endpoint)}});
    auto l = do_login(stop);
    if (!l) return l.error();
    return l->token;
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
    if (res && res->status == 401 && !token_mode()) {
      auto renewed = renew_after_401(endpoint, *tok, stop);
      if (!renewed) return renewed.error();
      res = send(endpoint, path_and_query, bearer(*renewed), stop);
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
    if (impl_->token_mode() || impl_->token.empty() ||
        impl_->token == impl_->options.credentials.token)
      return;
    token = impl_->token;
  }
  // Shutdown must not hang on the rate budget (after a 429 it may be closed for a minute).
  if (impl_->governor->wait_time() > std::chrono::seconds{5}) {
    util::log::warn("logout skipped: no rate budget left", {{"endpoint", "users/logout"}});
    std::lock_guard lock(impl_->session_mutex);
    impl_->token.clear();
    impl_->expires.reset();
    impl_->renew_at.reset();
    return;
  }
  auto res = impl_->send("users/logout", "users/logout",
                         httplib::Headers{{"Authorization", "Bearer " + token}}, {});
  {
    std::lock_guard lock(impl_->session_mutex);
    impl_->token.clear();
    impl_->expires.reset();
    impl_->renew_at.reset();
  }
  if (!res) {
    util::log::warn("logout failed", {{"err", res.error().message}});
  } else if (res->status != 200) {
    util::log::warn("logout failed",
                    {{"err", status_failure("users/logout", res->status, res->body).message}});
  }
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
