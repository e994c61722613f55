// The fake Tigo API v3 over HTTP (cpp-httplib), serving a Fleet at the Clock's simulated time.
// Auth and rate limits run on real time (they guard real clients); data follows simulated time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sim/chaos.hpp"
#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "sim/quirks.hpp"
#include "sim/uploads.hpp"
#include "util/result.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sim {

class Bus;

struct Account {
  std::string username;
  std::string password;
  bool premium = true;                // false: data endpoints answer 402
  std::vector<std::int64_t> systems;  // the systems it may see; empty: all (others answer 403)
};

// "user:password[:basic][:systems=ID+ID...],..." -> accounts (`systems=`: the only systems the
// account sees). Error names the bad entry's position, not its text.
util::Result<std::vector<Account>> parse_accounts(std::string_view text);

// What the systems list sorts on (`sort=`).
enum class SystemSortKey {
  SystemId,
  Name,
  Street,
  City,
  State,
  Zip,
  Country,
  CountryCode,
  Timezone,
  Latitude,
  Longitude,
  PowerRating,
  Created,
  TurnOnDate,
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port
  std::vector<Account> accounts{{"demo", "demo", true, {}}};
  int rate_limit = 100;  // requests per window per account
  std::chrono::seconds rate_window{60};
  std::chrono::seconds token_ttl{24 * 3600};
  std::chrono::seconds data_delay{600};       // a batch becomes visible this long after upload
  std::chrono::seconds upload_interval{600};  // gateways upload minute data this often
  Arrivals arrivals = Arrivals::Irregular;    // or exactly every upload_interval
  Quirks quirks{};
  FaultOptions faults{};
  std::size_t max_sessions = 10000;  // oldest tokens are forgotten past this
};

class Server {
 public:
  Server(const Fleet& fleet, const Clock& clock, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  util::Result<int> bind();  // returns the bound port
  void run();                // blocks until stop()
  void start();              // bind() must have succeeded; runs on a background thread
  void stop();
  // http://HOST:PORT/api/v3/
  std::string base_url() const;
  const Stats& stats() const { return stats_; }
  Stats& stats() { return stats_; }
  // The bus stream whose ground truth /sim/bus and /sim/bus/last answer (they answer 404
  // without one). Set before start(); the bus must outlive the server's serving.
  void attach_bus(const Bus* bus) { bus_ = bus; }
  // Answers one HTTP request given as raw bytes, in memory, through cpp-httplib's parsing and
  // the same routes and handlers as a connection's; the raw answer. For the fuzz target of the
  // query parsing (fuzz/sim_query.cpp), which needs no socket.
  std::string answer_raw(std::string_view request);
  UploadOptions upload_options() const;

 private:
  struct Session {
    std::size_t account = 0;
    std::chrono::system_clock::time_point expires;
    std::uint64_t serial = 0;
  };
  struct Budget {
    std::chrono::steady_clock::time_point window_start{};
    int used = 0;
    std::chrono::steady_clock::time_point burst_until{};
  };
  enum class Access { Login, User, Data };
  struct Call {
    const httplib::Request& req;
    httplib::Response& res;
    std::size_t account;
    std::chrono::sys_seconds now;
  };
  using Handler = std::function<void(Call&)>;

  void routes();
  void api(const std::string& pattern, const char* endpoint, Access access, Handler fn);
  void handle(const httplib::Request& req, httplib::Response& res, const char* endpoint,
              Access access, const Handler& fn);
  // Counts the call against the budget and sets the X-Rate-Limit-* headers; false (with a 429
  // answer written) when the budget is spent or a 429 burst is on.
  bool charge(Budget& b, httplib::Response& res, bool may_burst);
  void charge_anonymous(const httplib::Request& req, httplib::Response& res);
  // The account behind a valid bearer token; otherwise a 401 written, with the rate headers
  // when the token was known.
  std::optional<std::size_t> authenticate(const httplib::Request& req, httplib::Response& res);
  // A system the account may see, from parameter `name`; otherwise 400/403/404 written.
  std::optional<std::size_t> system_param(Call& call, const char* name);
  // X-System-Config-Update for a system the call named.
  void config_header(Call& call, std::size_t index) const;
  std::string new_token();
  double draw(std::uint64_t salt);
  // Counts the request under `endpoint` (status 0 when it dropped the connection: no answer goes
  // out), before any close, so a client that sees the close reads the count already.
  void inject_after(const httplib::Request& req, httplib::Response& res, const char* endpoint);

  void login(Call& call);
  void users_get(Call& call, std::optional<std::int64_t> id);
  void systems_list(Call& call);
  // The whole fleet's positions ordered by `key` (ascending), built once and cached.
  std::shared_ptr<const std::vector<std::uint32_t>> sorted_fleet(SystemSortKey key);
  void system_view(Call& call, const char* id_param, std::optional<std::int64_t> path_id);
  void aggregate(Call& call);
  void combined(Call& call);
  void alerts(Call& call);

  const Fleet& fleet_;
  const Clock& clock_;
  PowerModel model_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  // httplib's stop() is a no-op until the accept loop runs, and the loop would then run for
  // ever: stop() waits for the loop to start or for run() to give up (stop_requested_ first).
  std::atomic<bool> stop_requested_{false}, run_entered_{false}, run_returned_{false};
  int port_ = 0;
  std::thread thread_;
  Stats stats_;
  std::atomic<std::uint64_t> draws_{0};
  std::atomic<const Bus*> bus_{nullptr};

  std::mutex mutex_;  // guards sessions_, budgets_, anonymous_, token_counter_
  std::unordered_map<std::string, Session> sessions_;
  std::vector<Budget> budgets_;
  std::unordered_map<std::string, Budget> anonymous_;  // by client address, bounded
  std::uint64_t token_counter_ = 0;

  std::mutex sort_mutex_;  // guards sorted_
  std::map<SystemSortKey, std::shared_ptr<const std::vector<std::uint32_t>>> sorted_;
};

}  // namespace sim
