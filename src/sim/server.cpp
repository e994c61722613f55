#include "sim/server.hpp"

#include <httplib.h>

#include <charconv>
#include <cstdio>

#include "sim/responses.hpp"

namespace sim {
namespace {

constexpr const char* kJson = "application/json; charset=UTF-8";
constexpr const char* kPrefix = "/api/v3/";

void answer_error(httplib::Response& res, int status, const char* name, const std::string& msg) {
  res.status = status;
  res.set_content(error_json(status, name, msg), kJson);
}

std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  const std::string v = req.get_param_value(name);
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || ptr != v.data() + v.size()) return std::nullopt;
  return out;
}

// Decodes "Basic base64(user:password)".
bool basic_credentials(const httplib::Request& req, std::string& user, std::string& password) {
  const std::string h = req.get_header_value("Authorization");
  if (h.rfind("Basic ", 0) != 0) return false;
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string decoded;
  int val = 0, bits = -8;
  for (char c : h.substr(6)) {
    if (c == '=') break;
    const auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) return false;
    val = (val << 6) | static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      decoded += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  user = decoded.substr(0, colon);
  password = decoded.substr(colon + 1);
  return true;
}

}  // namespace

util::Result<std::vector<Account>> parse_accounts(std::string_view text) {
  std::vector<Account> out;
  std::size_t position = 0;
  while (!text.empty()) {
    ++position;
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto c1 = item.find(':');
    if (c1 == std::string_view::npos || c1 == 0)
      return util::make_error("--users: entry " + std::to_string(position) +
                              " is not user:password[:basic]");
    Account a;
    a.username = std::string(item.substr(0, c1));
    std::string_view rest = item.substr(c1 + 1);
    const auto c2 = rest.rfind(':');
    if (c2 != std::string_view::npos && rest.substr(c2 + 1) == "basic") {
      a.premium = false;
      rest = rest.substr(0, c2);
    }
    a.password = std::string(rest);
    out.push_back(std::move(a));
  }
  if (out.empty()) return util::make_error("--users: no accounts given");
  return out;
}

Server::Server(const Fleet& fleet, const Clock& clock, ServerOptions options)
    : fleet_(fleet),
      clock_(clock),
      model_(fleet),
      options_(std::move(options)),
      http_(std::make_unique<httplib::Server>()),
      budgets_(options_.accounts.size()) {
  routes();
}

Server::~Server() { stop(); }

util::Result<int> Server::bind() {
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
  } else if (!http_->bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return util::make_error("cannot listen on " + options_.host + ":" +
                            std::to_string(options_.port));
  }
  port_ = port;
  return port;
}

void Server::run() { http_->listen_after_bind(); }

void Server::start() {
  thread_ = std::thread([this] { run(); });
  // bind() already listens: clients queue until the accept loop runs.
}

void Server::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Server::base_url() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + options_.host + "]" : options_.host) + ":" +
         std::to_string(port_) + kPrefix;
}

std::string Server::new_token() {
  // Deterministic per seed and order of logins; long like Tigo's tokens.
  char buf[80];
  const std::uint64_t n = ++token_counter_;
  std::snprintf(buf, sizeof buf, "sim-%016llx%016llx%016llx",
                static_cast<unsigned long long>(mix(fleet_.options().seed ^ n)),
                static_cast<unsigned long long>(mix(n * 31 + 7)),
                static_cast<unsigned long long>(mix(n ^ 0xC0FFEE)));
  return buf;
}

bool Server::charge(std::size_t account, httplib::Response& res) {
  std::lock_guard lock(mutex_);
  auto& b = budgets_[account];
  const auto now = std::chrono::steady_clock::now();
  if (now - b.window_start >= options_.rate_window) {
    b.window_start = now;
    b.used = 0;
  }
  const auto left = options_.rate_window - (now - b.window_start);
  const auto reset = std::chrono::ceil<std::chrono::seconds>(left).count();
  const bool allowed = b.used < options_.rate_limit;
  if (allowed) ++b.used;
  res.set_header("X-Rate-Limit-Limit", std::to_string(options_.rate_limit));
  res.set_header("X-Rate-Limit-Remaining", std::to_string(options_.rate_limit - b.used));
  res.set_header("X-Rate-Limit-Reset", std::to_string(reset));
  if (!allowed) {
    res.set_header("Retry-After", std::to_string(reset));
    answer_error(res, 429, "Too Many Requests", "Rate limit exceeded.");
  }
  return allowed;
}

std::optional<std::size_t> Server::authenticate(const httplib::Request& req,
                                                httplib::Response& res) {
  const std::string h = req.get_header_value("Authorization");
  if (h.rfind("Bearer ", 0) == 0) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h.substr(7));
    if (it != sessions_.end()) {
      if (std::chrono::system_clock::now() < it->second.expires) return it->second.account;
      sessions_.erase(it);
    }
  }
  answer_error(res, 401, "Unauthorized", "You are requesting with an invalid credential.");
  return std::nullopt;
}

std::optional<SystemSpec> Server::system_param(const httplib::Request& req, httplib::Response& res,
                                               const char* name) {
  if (!req.has_param(name)) {
    answer_error(res, 400, "Bad Request", std::string("Missing required parameters: ") + name);
    return std::nullopt;
  }
  const auto id = int_param(req, name);
  if (!id) {
    answer_error(res, 400, "Bad Request", std::string("Invalid parameter: ") + name);
    return std::nullopt;
  }
  const auto index = fleet_.index_of(*id);
  if (!index) {
    answer_error(res, 404, "Not Found", "System not found.");
    return std::nullopt;
  }
  return fleet_.system(*index);
}

void Server::routes() {
  const std::string p = kPrefix;

  http_->Get(p + "users/login", [this](const httplib::Request& req, httplib::Response& res) {
    std::string user, password;
    std::optional<std::size_t> account;
    if (basic_credentials(req, user, password)) {
      for (std::size_t i = 0; i < options_.accounts.size(); ++i) {
        if (options_.accounts[i].username == user && options_.accounts[i].password == password)
          account = i;
      }
    }
    if (!account) {
      answer_error(res, 401, "Unauthorized", "You are requesting with an invalid credential.");
      return;
    }
    if (!charge(*account, res)) return;
    const auto expires = std::chrono::system_clock::now() + options_.token_ttl;
    std::string token, refresh;
    {
      std::lock_guard lock(mutex_);
      token = new_token();
      refresh = new_token();
      sessions_[token] = Session{*account, expires};
    }
    res.set_content(
        login_json(static_cast<std::int64_t>(*account) + 1, token,
                   std::chrono::floor<std::chrono::seconds>(expires),
                   options_.accounts[*account].premium ? "Installer" : "Basic", refresh),
        kJson);
  });

  http_->Get(p + "users/logout", [this](const httplib::Request& req, httplib::Response& res) {
    const auto account = authenticate(req, res);
    if (!account || !charge(*account, res)) return;
    {
      std::lock_guard lock(mutex_);
      sessions_.erase(req.get_header_value("Authorization").substr(7));
    }
    res.set_content(logout_json(), kJson);
  });

  auto systems = [this](const httplib::Request& req, httplib::Response& res) {
    const auto account = authenticate(req, res);
    if (!account || !charge(*account, res)) return;
    Paging paging;
    if (req.has_param("page")) {
      const auto page = int_param(req, "page");
      if (!page || *page < 1)
        return answer_error(res, 400, "Bad Request", "Invalid parameter: page");
      paging.page = *page;
    }
    if (req.has_param("limit")) {
      const auto limit = int_param(req, "limit");
      if (!limit || *limit < 1)
        return answer_error(res, 400, "Bad Request", "Invalid parameter: limit");
      paging.per_page = std::min<std::int64_t>(*limit, 1000);
    }
    res.set_content(systems_json(fleet_, paging), kJson);
  };
  http_->Get(p + "systems", systems);
  http_->Get(p + "systems/list", systems);

  http_->Get(p + "data/summary", [this](const httplib::Request& req, httplib::Response& res) {
    const auto account = authenticate(req, res);
    if (!account || !charge(*account, res)) return;
    if (!options_.accounts[*account].premium)
      return answer_error(res, 402, "Payment Required", "API access requires a premium account.");
    const auto system = system_param(req, res, "system_id");
    if (!system) return;
    res.set_content(summary_json(model_, *system, clock_.now()), kJson);
  });

  // Anything else under the API prefix: the Yii2 404 body.
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && res.status == 404)
      res.set_content(error_json(404, "Not Found", "Page not found."), kJson);
  });
}

}  // namespace sim
