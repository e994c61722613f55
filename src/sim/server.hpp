// The fake Tigo API v3 over HTTP (cpp-httplib), serving a Fleet at the Clock's simulated time.
// Auth and rate limits run on real time (they guard real clients); data follows simulated time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "util/result.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sim {

struct Account {
  std::string username;
  std::string password;
  bool premium = true;  // false: data endpoints answer 402
};

// "user:password[:basic],..." -> accounts. Error names the bad entry's position, not its text.
util::Result<std::vector<Account>> parse_accounts(std::string_view text);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port
  std::vector<Account> accounts{{"demo", "demo", true}};
  int rate_limit = 100;  // requests per window per account
  std::chrono::seconds rate_window{60};
  std::chrono::seconds token_ttl{24 * 3600};
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

 private:
  struct Session {
    std::size_t account = 0;
    std::chrono::system_clock::time_point expires;
  };
  struct Budget {
    std::chrono::steady_clock::time_point window_start{};
    int used = 0;
  };

  void routes();
  // Counts the call against the account's budget and sets the X-Rate-Limit-* headers; false
  // (with a 429 answer written) when the budget is spent.
  bool charge(std::size_t account, httplib::Response& res);
  // The account behind a valid bearer token, or a 401 answer written.
  std::optional<std::size_t> authenticate(const httplib::Request& req, httplib::Response& res);
  std::optional<SystemSpec> system_param(const httplib::Request& req, httplib::Response& res,
                                         const char* name);
  std::string new_token();

  const Fleet& fleet_;
  const Clock& clock_;
  PowerModel model_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::thread thread_;

  std::mutex mutex_;  // guards sessions_, budgets_, token_counter_
  std::unordered_map<std::string, Session> sessions_;
  std::vector<Budget> budgets_;
  std::uint64_t token_counter_ = 0;
};

}  // namespace sim
