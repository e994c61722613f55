// The Tigo API v3 client: one typed call per endpoint, a session that logs in with basic auth
// and re-logs in once on 401 or ahead of `expires`. Not thread-safe: one Client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tigo/model.hpp"
#include "util/result.hpp"

namespace httplib {
class Client;
}

namespace tigo {

struct Credentials {
  std::string username;
  std::string password;  // secret
  std::string token;     // pre-issued bearer token instead of username/password; secret
};

// What the client tells the world about each call (self-metrics); "error" code for transport
// failures.
struct CallObserver {
  virtual ~CallObserver() = default;
  virtual void on_call(std::string_view endpoint, std::string_view code, double seconds) = 0;
  virtual void on_login(bool success, std::optional<Timestamp> expires) = 0;
  virtual void on_rate_limit(std::optional<double> limit, std::optional<double> remaining,
                             std::optional<double> reset_seconds) = 0;
};

struct ClientOptions {
  std::string base_url;  // e.g. https://api2.tigoenergy.com/api/v3/
  Credentials credentials;
  std::chrono::milliseconds timeout{30'000};
  std::string ca_file;
  CallObserver* observer = nullptr;  // optional, must outlive the client
};

// Splits a base URL into what httplib needs. Error text names the URL's problem, never secrets.
struct BaseUrl {
  std::string scheme_host_port;  // "http://127.0.0.1:8080"
  std::string path_prefix;       // "/api/v3/"
  bool https = false;
  std::string host;
};
util::Result<BaseUrl> parse_base_url(std::string_view url);

class Client {
 public:
  static util::Result<std::unique_ptr<Client>> create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  util::Result<Login> login();
  // All systems of the account, following `_meta.pageCount`.
  util::Result<std::vector<System>> systems();
  util::Result<Summary> summary(std::int64_t system_id);
  void logout();

 private:
  Client(ClientOptions options, BaseUrl base);
  struct Response {
    int status = 0;
    std::string body;
  };
  // GET with the bearer token; logs in first when needed and once more on 401.
  util::Result<Response> get(std::string_view endpoint, const std::string& path_and_query);
  util::Result<Response> send(std::string_view endpoint, const std::string& path_and_query,
                              bool basic_auth);
  bool token_fresh() const;

  ClientOptions options_;
  BaseUrl base_;
  std::unique_ptr<httplib::Client> http_;
  std::string token_;
  std::optional<Timestamp> token_expires_;
};

}  // namespace tigo
