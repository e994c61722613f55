#include "tigo/client.hpp"

#include <httplib.h>

#include <charconv>

#include "tigo/json_parse.hpp"
#include "util/log.hpp"

namespace tigo {
namespace {

// Re-login this long before the token's stated expiry, so no call goes out with a dying token.
constexpr auto kRenewAhead = std::chrono::minutes{10};

std::optional<double> header_number(const httplib::Headers& headers, const char* name) {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  double v = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr == s.data()) return std::nullopt;
  return v;
}

// An excerpt of an answer body for error messages; bodies never carry our secrets.
std::string excerpt(std::string_view body) {
  constexpr size_t kMax = 160;
  std::string out(body.substr(0, kMax));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (body.size() > kMax) out += "...";
  return out;
}

std::string describe_status(std::string_view endpoint, int status, std::string_view body) {
  std::string msg = std::string(endpoint) + ": HTTP " + std::to_string(status);
  if (auto e = parse_error(body); e && !e->message.empty()) {
    msg += ": " + e->message;
  } else if (!body.empty()) {
    msg += ": " + excerpt(body);
  }
  return msg;
}

}  // namespace

util::Result<BaseUrl> parse_base_url(std::string_view url) {
  BaseUrl b;
  std::string_view rest;
  if (url.starts_with("https://")) {
    b.https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return util::make_error("API URL must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return util::make_error("API URL needs a host (and no user info)");
  }
  b.host = std::string(authority.substr(0, authority.rfind(':')));
  if (authority.front() == '[') b.host = std::string(authority.substr(1, authority.find(']') - 1));
  b.scheme_host_port =
      std::string(url.substr(0, url.size() - rest.size())) + std::string(authority);
  b.path_prefix = std::string(path);
  if (b.path_prefix.back() != '/') b.path_prefix += '/';
  return b;
}

util::Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  auto base = parse_base_url(options.base_url);
  if (!base) return base.error();
  return std::unique_ptr<Client>(new Client(std::move(options), std::move(*base)));
}

Client::Client(ClientOptions options, BaseUrl base)
    : options_(std::move(options)),
      base_(std::move(base)),
      http_(std::make_unique<httplib::Client>(base_.scheme_host_port)) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout - secs);
  http_->set_connection_timeout(secs.count(), usecs.count());
  http_->set_read_timeout(secs.count(), usecs.count());
  http_->set_write_timeout(secs.count(), usecs.count());
  http_->set_keep_alive(true);
  http_->set_follow_location(false);
  if (base_.https) {
    http_->enable_server_certificate_verification(true);
    if (!options_.ca_file.empty()) http_->set_ca_cert_path(options_.ca_file.c_str());
  }
  if (!options_.credentials.token.empty()) token_ = options_.credentials.token;
}

Client::~Client() = default;

bool Client::token_fresh() const {
  if (token_.empty()) return false;
  if (!token_expires_) return true;
  return std::chrono::system_clock::now() + kRenewAhead < *token_expires_;
}

util::Result<Client::Response> Client::send(std::string_view endpoint,
                                            const std::string& path_and_query, bool basic_auth) {
  httplib::Headers headers;
  headers.emplace("Accept", "application/json");
  if (basic_auth) {
    headers.emplace(httplib::make_basic_authentication_header(options_.credentials.username,
                                                              options_.credentials.password));
  } else {
    headers.emplace("Authorization", "Bearer " + token_);
  }
  const auto start = std::chrono::steady_clock::now();
  auto res = http_->Get(base_.path_prefix + path_and_query, headers);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!res) {
    if (options_.observer) options_.observer->on_call(endpoint, "error", seconds);
    return util::make_error(std::string(endpoint) + ": " + httplib::to_string(res.error()));
  }
  if (options_.observer) {
    options_.observer->on_call(endpoint, std::to_string(res->status), seconds);
    options_.observer->on_rate_limit(header_number(res->headers, "X-Rate-Limit-Limit"),
                                     header_number(res->headers, "X-Rate-Limit-Remaining"),
                                     header_number(res->headers, "X-Rate-Limit-Reset"));
  }
  return Response{res->status, std::move(res->body)};
}

util::Result<Login> Client::login() {
  if (options_.credentials.username.empty()) {
    return util::make_error("users/login: no username configured (token mode cannot re-login)");
  }
  auto res = send("users/login", "users/login", true);
  if (!res) {
    if (options_.observer) options_.observer->on_login(false, std::nullopt);
    return res.error();
  }
  if (res->status != 200) {
    if (options_.observer) options_.observer->on_login(false, std::nullopt);
    return util::make_error(describe_status("users/login", res->status, res->body));
  }
  auto login = parse_login(res->body);
  if (!login) {
    if (options_.observer) options_.observer->on_login(false, std::nullopt);
    return login.error();
  }
  token_ = login->token;
  token_expires_ = login->expires;
  if (options_.observer) options_.observer->on_login(true, login->expires);
  return login;
}

util::Result<Client::Response> Client::get(std::string_view endpoint,
                                           const std::string& path_and_query) {
  if (!token_fresh()) {
    if (auto l = login(); !l) return l.error();
  }
  auto res = send(endpoint, path_and_query, false);
  if (res && res->status == 401 && !options_.credentials.username.empty()) {
    util::log::info("token refused, logging in again", {{"endpoint", std::string(endpoint)}});
    if (auto l = login(); !l) return l.error();
    res = send(endpoint, path_and_query, false);
  }
  if (!res) return res.error();
  if (res->status != 200) {
    return util::make_error(describe_status(endpoint, res->status, res->body));
  }
  return res;
}

util::Result<std::vector<System>> Client::systems() {
  std::vector<System> all;
  for (std::int64_t page = 1;; ++page) {
    auto res = get("systems", "systems?page=" + std::to_string(page));
    if (!res) return res.error();
    auto parsed = parse_systems(res->body);
    if (!parsed) return parsed.error();
    for (auto& s : parsed->systems) all.push_back(std::move(s));
    // Without `_meta` the answer is the whole list; a page count that never ends is capped.
    if (!parsed->meta || page >= parsed->meta->page_count || parsed->systems.empty() ||
        page >= 10'000)
      break;
  }
  return all;
}

util::Result<Summary> Client::summary(std::int64_t system_id) {
  auto res = get("data/summary", "data/summary?system_id=" + std::to_string(system_id));
  if (!res) return res.error();
  return parse_summary(res->body);
}

void Client::logout() {
  if (token_.empty() || options_.credentials.username.empty()) return;  // keep pre-issued tokens
  auto res = send("users/logout", "users/logout", false);
  token_.clear();
  token_expires_.reset();
  if (!res) util::log::warn("logout failed", {{"err", res.error().message}});
}

}  // namespace tigo
