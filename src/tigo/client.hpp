// The Tigo API v3 client: one typed call per endpoint.
//
// Thread-safe: any number of threads may call one Client at once. At most
// `ClientOptions::concurrency` requests are in flight (a pool of keep-alive connections; a
// caller waits for a free one), and every request first passes the Governor, so the rate budget
// holds whatever the callers do. A call blocks until its request may leave; pass a
// std::stop_token to abandon the wait (the error kind is then `cancelled`).
//
// Session: GET users/login with basic auth, then `Authorization: Bearer`. Credentials are a
// pre-issued token, a username and password, or both: the token is used first, and the password
// logs in when it is refused. A login token is renewed ahead of its `expires` and once on a 401
// (one login for all threads that saw the 401); every login sends the configured password. With
// a token and no password, a refused token is `unauthorized`.
// A refused login (401 on users/login) is a configuration error: logged as an error naming the
// user, and no login is tried again for a growing back-off (calls fail `unauthorized` at once).
// The password and token files are read again before each login, when a token is refused, and
// on reload_credentials() (SIGHUP): a fixed file needs no restart, and a changed password ends
// the back-off.
//
// Deadlines: a request that has not got its whole answer `timeout` after it started is ended
// (its socket shut down) and fails `transport`, "no complete answer from HOST within 30s".
//
// Stopping: a call's std::stop_token also aborts its request in flight (the socket is shut
// down), and logout() is bounded by `logout_deadline`, so a stop never waits for a slow API.
//
// Errors carry a kind the scheduler acts on (see ErrorKind) and a message naming the endpoint,
// the HTTP status and an excerpt of the body, or for no answer the resolver's, the socket's or
// OpenSSL's own words: never a password or token.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "tigo/call_observer.hpp"
#include "tigo/csv.hpp"
#include "tigo/governor.hpp"
#include "tigo/local_time.hpp"
#include "tigo/model.hpp"
#include "tigo/panel_param.hpp"
#include "util/result.hpp"

namespace tigo {

struct Credentials {
  std::string username;
  std::string password;  // secret
  std::string token;     // pre-issued bearer token, used before username/password; secret
};

enum class ErrorKind {
  transport,         // no answer: connect, TLS, timeout, dropped connection, body too large
  http_status,       // an answer with an unexpected status (`status` holds it), 5xx included
  parse,             // a 200 answer whose body does not have the documented shape
  payment_required,  // 402: the account has no API subscription for this endpoint; the client
                     // reports it once and answers later calls of that endpoint without asking
  rate_limited,      // 429; `retry_after` says how long (the governor already waits for it)
  unauthorized,      // 401 after re-login, bad credentials, or a refused pre-issued token
  cancelled,         // the stop token was triggered: while waiting, or its request was aborted
};

// "transport", "http_status", ... (for logs).
std::string_view to_string(ErrorKind kind);

// A util::Error (so it converts to one) with what a caller needs to decide.
struct Error : util::Error {
  ErrorKind kind = ErrorKind::transport;
  std::string endpoint;  // "data/aggregate"
  int status = 0;        // HTTP status when there was an answer
  // rate_limited: the wait Retry-After (or X-Rate-Limit-Reset) asked for, at most
  // kMaxHeaderWait; unset when neither said.
  std::optional<std::chrono::seconds> retry_after;
};

template <class T>
using Result = util::Result<T, Error>;

struct ClientOptions {
  std::string base_url;  // e.g. https://api2.tigoenergy.com/api/v3/
  Credentials credentials;
  // One request in all, from connect to the answer's last byte, however slowly it arrives (the
  // name lookup, the wait for a connection of the pool and for rate budget aside).
  std::chrono::milliseconds timeout{30'000};
  std::string ca_file;               // empty: the system store
  CallObserver* observer = nullptr;  // optional, must outlive the client
  int concurrency = 4;               // requests in flight at most
  double rate_limit = 100;           // requests per minute (the governor's cap)
  // Optional: a governor to use instead of one made from `rate_limit` (tests; sharing).
  std::shared_ptr<Governor> governor;
  std::size_t max_body_bytes = 64u << 20;  // larger answers are a transport error
  std::chrono::seconds renew_ahead{600};   // re-login this long before `expires`
  // After a refused login (401 on users/login) no login for this long, doubling with each
  // refusal up to the cap; a successful login resets it.
  std::chrono::seconds login_backoff{30};
  std::chrono::seconds login_backoff_cap{600};
  // Time source of the login back-off; null: the steady clock (tests inject a fake one).
  std::shared_ptr<GovernorClock> clock;
  // The UTC now CSV rows are judged by (future_row); null: the system clock. The exporter's
  // --debug.time sets it to the simulated instant the refresher asks for data by.
  std::function<Timestamp()> utc_now;
  // Files `credentials.password` and `.token` came from, read again before each login, when a
  // token is refused and on reload_credentials(). Empty: that credential is fixed.
  std::string password_file;
  std::string token_file;
  // logout() in all (rate budget, connect, answer): a stop must not wait for a slow API.
  std::chrono::milliseconds logout_deadline{2'000};
};

// The session as the status page shows it. Never a secret.
struct LoginState {
  std::string mode;                        // "password", "token" or "token, then password"
  std::optional<Timestamp> last_attempt;   // the last login (with a token only: its refusal)
  bool last_ok = false;                    // that attempt succeeded
  std::string last_error;                  // its error when it failed
  std::optional<Timestamp> next_attempt;   // after a refused login: none before this time
  std::optional<Timestamp> token_expires;  // of the login token in use
};

// The aggregation levels asked for. The two data endpoints spell them differently: data/aggregate
// takes "min" (and no hour), data/combined rejects "min" and takes "minute".
enum class AggregateLevel { minute, day };
enum class CombinedLevel { minute, hour, day };

constexpr std::string_view api_name(AggregateLevel level) {
  return level == AggregateLevel::minute ? "min" : "day";
}
constexpr std::string_view api_name(CombinedLevel level) {
  switch (level) {
    case CombinedLevel::minute:
      return "minute";
    case CombinedLevel::hour:
      return "hour";
    case CombinedLevel::day:
      return "day";
  }
  return "minute";
}

// data/aggregate: panel-level minute or day data, one param per call.
struct AggregateQuery {
  std::int64_t system_id = 0;
  LocalTime start;  // site-local, as the API takes it
  LocalTime end;
  AggregateLevel level = AggregateLevel::minute;
  PanelParam param = PanelParam::power;
  std::string header = "id";             // "id" (object ids as columns) or "key" (datasource_param)
  std::vector<std::int64_t> object_ids;  // empty: all
  std::optional<bool> sensors;
  // The system's zone: rows more than 5 minutes ahead of its local now are dropped
  // (future_row). Null: no row is treated as future.
  const date::time_zone* zone = nullptr;
  // Columns expected; others count unknown_column. Empty with header=id: the object ids.
  std::vector<std::string> expected_columns;
  bool keep_rows = false;  // keep every row (backfill), not only the newest value per column
};

// data/combined: object-level (system, inverter, string) data.
struct CombinedQuery {
  std::int64_t system_id = 0;
  LocalTime start;
  LocalTime end;
  CombinedLevel level = CombinedLevel::minute;
  std::vector<std::int64_t> object_ids;
  const date::time_zone* zone = nullptr;
  std::vector<std::string> expected_columns;  // empty: the object ids, if given
  bool keep_rows = false;
};

struct AlertsQuery {
  std::int64_t system_id = 0;
  std::optional<Timestamp> start_added;
  std::optional<Timestamp> end_added;
  std::string language;  // empty: the API's default (EN)
};

class Client {
 public:
  static util::Result<std::unique_ptr<Client>> create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // users/login now (calls made without a fresh token do this themselves).
  Result<Login> login(std::stop_token stop = {});
  // users/logout when logged in with username/password; a pre-issued token is kept valid.
  // Bounded by ClientOptions::logout_deadline; a failure is logged, never waited out.
  void logout();
  // Reads the password and token files again now (SIGHUP) and logs what changed, never the
  // secret. A changed password ends the login back-off; a changed token is used at once.
  void reload_credentials();
  LoginState login_state() const;

  Result<User> user(std::stop_token stop = {});                              // users/get
  Result<std::vector<System>> systems(std::stop_token stop = {});            // all pages
  Result<System> system(std::int64_t system_id, std::stop_token stop = {});  // systems/view
  Result<Layout> layout(std::int64_t system_id, std::stop_token stop = {});
  Result<std::vector<Object>> objects(std::int64_t system_id, std::stop_token stop = {});
  Result<std::vector<ObjectType>> object_types(std::stop_token stop = {});
  Result<std::vector<Source>> sources(std::int64_t system_id, std::stop_token stop = {});
  Result<CsvTable> aggregate(const AggregateQuery& query, std::stop_token stop = {});
  Result<CsvTable> combined(const CombinedQuery& query, std::stop_token stop = {});
  Result<Summary> summary(std::int64_t system_id, std::stop_token stop = {});
  Result<std::vector<Alert>> alerts(const AlertsQuery& query, std::stop_token stop = {});
  Result<std::vector<AlertType>> alert_types(std::string_view language = {},
                                             std::stop_token stop = {});

  // True once `endpoint` answered 402: its calls now fail with payment_required at once.
  bool payment_required(std::string_view endpoint) const;
  std::optional<Timestamp> token_expires() const;
  Governor& governor();
  const Governor& governor() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tigo
