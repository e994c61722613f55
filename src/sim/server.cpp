#include "sim/server.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "sim/alerts.hpp"
#include "sim/bus.hpp"
#include "sim/data_csv.hpp"
#include "sim/responses.hpp"
#include "util/base64.hpp"
#include "util/listen_address.hpp"
#include "util/time.hpp"

namespace sim {
namespace {

using std::chrono::sys_seconds;

constexpr const char* kJson = "application/json; charset=UTF-8";
constexpr const char* kCsv = "text/csv; charset=UTF-8";
constexpr const char* kPrefix = "/api/v3/";

void answer_error(httplib::Response& res, int status, const char* name, const std::string& msg) {
  res.status = status;
  res.set_content(error_json(status, name, msg), kJson);
}

void bad_request(httplib::Response& res, const std::string& param, const std::string& why = "") {
  answer_error(res, 400, "Bad Request",
               "Invalid parameter: " + param + (why.empty() ? "" : " (" + why + ")"));
}

void missing(httplib::Response& res, const std::string& param) {
  answer_error(res, 400, "Bad Request", "Missing required parameters: " + param);
}

std::optional<std::int64_t> parse_int(std::string_view v) {
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || ptr != v.data() + v.size()) return std::nullopt;
  return out;
}

// Decodes "Basic base64(user:password)".
bool basic_credentials(const httplib::Request& req, std::string& user, std::string& password) {
  auto creds = util::parse_basic_auth(req.get_header_value("Authorization"));
  if (!creds) return false;
  user = std::move(creds->first);
  password = std::move(creds->second);
  return true;
}

// Parses a comma list of integers; false on any bad item.
bool parse_id_list(std::string_view text, std::vector<std::int64_t>& out) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto v = parse_int(item);
    if (!v) return false;
    out.push_back(*v);
  }
  return !out.empty();
}

// The systems list's sort fields (Yii2: `sort=name`, `sort=-name` descending). Text compares as
// bytes; coordinates, rating and dates as numbers whatever the quirks print. Ties keep system_id
// order; descending is the exact reverse of ascending.
struct SortField {
  const char* name;
  SystemSortKey key;
};
constexpr SortField kSortFields[] = {
    {"system_id", SystemSortKey::SystemId},
    {"name", SystemSortKey::Name},
    {"street", SystemSortKey::Street},
    {"city", SystemSortKey::City},
    {"state", SystemSortKey::State},
    {"zip", SystemSortKey::Zip},
    {"country", SystemSortKey::Country},
    {"country_code", SystemSortKey::CountryCode},
    {"timezone", SystemSortKey::Timezone},
    {"latitude", SystemSortKey::Latitude},
    {"longitude", SystemSortKey::Longitude},
    {"power_rating", SystemSortKey::PowerRating},
    {"created", SystemSortKey::Created},
    {"turn_on_date", SystemSortKey::TurnOnDate},
    {"commissioned", SystemSortKey::TurnOnDate},
};

std::string sort_field_names() {
  std::string out;
  for (const auto& f : kSortFields) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

template <class KeyOf>
void order_by(const Fleet& fleet, std::vector<std::uint32_t>& indices, KeyOf key_of) {
  using Key = decltype(key_of(fleet.system(0)));
  std::vector<std::pair<Key, std::uint32_t>> keyed;
  keyed.reserve(indices.size());
  for (const auto i : indices) keyed.emplace_back(key_of(fleet.system(i)), i);
  std::sort(keyed.begin(), keyed.end());
  for (std::size_t k = 0; k < keyed.size(); ++k) indices[k] = keyed[k].second;
}

// `indices` (ascending fleet positions, so ascending system ids) ordered by `key`.
void sort_systems(const Fleet& fleet, std::vector<std::uint32_t>& indices, SystemSortKey key) {
  using K = SystemSortKey;
  switch (key) {
    case K::SystemId:
      return;
    case K::Name:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.name; });
    case K::Street:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.street; });
    case K::City:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.city; });
    case K::State:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.state; });
    case K::Zip:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.zip; });
    case K::Country:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.country; });
    case K::CountryCode:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.country_code; });
    case K::Timezone:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.timezone; });
    case K::Latitude:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.latitude; });
    case K::Longitude:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.longitude; });
    case K::PowerRating:
      return order_by(fleet, indices, [](const SystemSpec& s) { return power_rating_w(s); });
    case K::Created:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.created; });
    case K::TurnOnDate:
      return order_by(fleet, indices, [](const SystemSpec& s) { return s.turn_on; });
  }
}

// Host and port of a socket address, as cpp-httplib spells them in Request (numeric host).
std::pair<std::string, int> endpoint_of(const sockaddr_storage& a, socklen_t len) {
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return {"", -1};
  return {host, std::atoi(port)};
}

// Closes the request's connection before any byte of the answer is sent. cpp-httplib gives a
// handler no socket, so it is found in /proc/self/fd by its two ends (the request's local and
// remote address and port), and /dev/null is put in its place: the connection closes (the peer
// reads an empty reply), cpp-httplib's write of the answer fails (ENOTSOCK: no SIGPIPE) and its
// own close releases the stand-in. False when the socket was not found.
bool close_connection_now(const httplib::Request& req) {
  // One at a time: the scan's directory descriptor of one call could otherwise be the number
  // another call is replacing (TSan saw closedir race dup2 on one fd between two workers).
  static std::mutex one_at_a_time;
  std::lock_guard lock(one_at_a_time);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  int found = -1;
  while (const dirent* entry = readdir(dir)) {
    const auto fd = parse_int(entry->d_name);
    if (!fd || *fd == dirfd(dir)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    const int sock = static_cast<int>(*fd);
    if (getsockname(sock, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0)
      continue;
    if (endpoint_of(local, local_len) == std::pair{req.local_addr, req.local_port} &&
        endpoint_of(peer, peer_len) == std::pair{req.remote_addr, req.remote_port}) {
      found = sock;
      break;
    }
  }
  closedir(dir);
  if (found < 0) return false;
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd < 0) return false;
  const bool replaced = dup2(null_fd, found) == found;
  close(null_fd);
  return replaced;
}

// A request read from memory and its answer written there: what cpp-httplib reads and writes
// instead of a socket in Server::answer_raw.
class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view request) : request_(request) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min(size, request_.size());
    std::copy_n(request_.data(), n, ptr);
    request_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    answer_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  std::string take_answer() { return std::move(answer_); }

 private:
  std::string_view request_;
  std::string answer_;
};

// cpp-httplib's server with its processing of one request (protected) reachable from memory.
class HttpServer final : public httplib::Server {
 public:
  std::string answer(std::string_view request) {
    MemoryStream stream(request);
    bool connection_closed = false;
    process_request(stream, true, connection_closed, nullptr);
    return stream.take_answer();
  }
};

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
                              " is not user:password[:basic][:systems=ID+ID...]");
    Account a;
    a.username = std::string(item.substr(0, c1));
    std::string_view rest = item.substr(c1 + 1);
    // Trailing options in any order; what precedes them is the password (it may hold ':').
    for (auto c2 = rest.rfind(':'); c2 != std::string_view::npos; c2 = rest.rfind(':')) {
      const auto option = rest.substr(c2 + 1);
      constexpr std::string_view kSystems = "systems=";
      if (option == "basic") {
        a.premium = false;
      } else if (option.substr(0, kSystems.size()) == kSystems) {
        std::string_view ids = option.substr(kSystems.size());
        while (!ids.empty()) {
          const auto plus = ids.find('+');
          const auto id = parse_int(ids.substr(0, plus));
          if (!id || *id <= 0) break;
          a.systems.push_back(*id);
          ids = plus == std::string_view::npos ? std::string_view{} : ids.substr(plus + 1);
        }
        if (!ids.empty() || a.systems.empty())
          return util::make_error("--users: entry " + std::to_string(position) +
                                  ": systems= takes system ids joined by +");
      } else {
        break;
      }
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
      http_(std::make_unique<HttpServer>()),
      budgets_(options_.accounts.size()) {
  // The answers' zones (systems', and login's America/Los_Angeles) loaded before any thread
  // serves: the date library loads them lazily.
  auto zones = Fleet::time_zones();
  zones.insert(zones.end(), {"America/Los_Angeles", "UTC"});
  util::preload_time_zones(zones);
  http_->set_socket_options(util::set_exclusive_listen_options);
  routes();
}

Server::~Server() { stop(); }

util::Result<int> Server::bind() {
  int port = options_.port;
  errno = 0;  // httplib keeps the failed bind's errno; 0 means the host did not resolve
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
  } else if (!http_->bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return util::make_error("cannot listen on " + util::host_port(options_.host, options_.port) +
                            ": " + util::bind_failure_reason(options_.host, errno));
  }
  port_ = port;
  return port;
}

void Server::run() {
  run_entered_ = true;
  if (!stop_requested_) http_->listen_after_bind();
  run_returned_ = true;
}

void Server::start() {
  thread_ = std::thread([this] { run(); });
  // bind() already listens: clients queue until the accept loop runs.
}

void Server::stop() {
  stop_requested_ = true;
  if (http_) {
    while (run_entered_ && !run_returned_ && !http_->is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    http_->stop();
  }
  if (thread_.joinable()) thread_.join();
}

std::string Server::answer_raw(std::string_view request) {
  return static_cast<HttpServer&>(*http_).answer(request);
}

std::string Server::base_url() const {
  return "http://" + util::host_port(options_.host, port_) + kPrefix;
}

UploadOptions Server::upload_options() const {
  return UploadOptions{options_.upload_interval, options_.data_delay, options_.quirks.late_batches,
                       options_.arrivals};
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

double Server::draw(std::uint64_t salt) {
  const std::uint64_t n = draws_.fetch_add(1, std::memory_order_relaxed);
  return unit(mix(fleet_.options().seed * 0x2545F4914F6CDD1DULL ^ mix(n) ^ salt));
}

bool Server::charge(Budget& b, httplib::Response& res, bool may_burst) {
  const auto now = std::chrono::steady_clock::now();
  if (now - b.window_start >= options_.rate_window) {
    b.window_start = now;
    b.used = 0;
  }
  const auto left = options_.rate_window - (now - b.window_start);
  auto reset = std::chrono::ceil<std::chrono::seconds>(left).count();
  bool allowed = b.used < options_.rate_limit;
  if (allowed) ++b.used;
  bool burst = false;
  if (may_burst && options_.faults.burst_429 > 0) {
    if (now >= b.burst_until && draw(0x429) < options_.faults.burst_429)
      b.burst_until = now + std::chrono::seconds{10};
    if (now < b.burst_until) {
      burst = true;
      allowed = false;
      reset = std::max<std::int64_t>(
          1, std::chrono::ceil<std::chrono::seconds>(b.burst_until - now).count());
    }
  }
  res.set_header("X-Rate-Limit-Limit", std::to_string(options_.rate_limit));
  res.set_header("X-Rate-Limit-Remaining",
                 std::to_string(burst ? 0 : options_.rate_limit - b.used));
  res.set_header("X-Rate-Limit-Reset", std::to_string(reset));
  if (!allowed) {
    if (burst) stats_.fault("burst_429");
    res.set_header("Retry-After", std::to_string(reset));
    answer_error(res, 429, "Too Many Requests", "Rate limit exceeded.");
  }
  return allowed;
}

void Server::charge_anonymous(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard lock(mutex_);
  if (anonymous_.size() > 4096) anonymous_.clear();
  Budget& b = anonymous_[req.remote_addr];
  // Anonymous calls are counted but never refused: the answer they get is already an error.
  const auto status = res.status;
  const auto body = res.body;
  const auto type = res.get_header_value("Content-Type");
  if (!charge(b, res, false)) {
    res.status = status;
    res.body = body;
    res.set_header("Content-Type", type);
  }
}

std::optional<std::size_t> Server::authenticate(const httplib::Request& req,
                                                httplib::Response& res) {
  const std::string h = req.get_header_value("Authorization");
  if (h.rfind("Bearer ", 0) == 0) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(h.substr(7));
    if (it != sessions_.end()) {
      const std::size_t account = it->second.account;
      bool expired = std::chrono::system_clock::now() >= it->second.expires;
      if (!expired && options_.faults.expired_token > 0 &&
          draw(0xE1) < options_.faults.expired_token) {
        stats_.fault("expired_token");
        expired = true;
      }
      if (!expired) return account;
      sessions_.erase(it);
      answer_error(res, 401, "Unauthorized", "Your request was made with invalid credentials.");
      charge(budgets_[account], res, false);
      res.status = 401;
      res.set_content(
          error_json(401, "Unauthorized", "Your request was made with invalid credentials."),
          kJson);
      return std::nullopt;
    }
  }
  answer_error(res, 401, "Unauthorized", "You are requesting with an invalid credential.");
  return std::nullopt;
}

std::optional<std::size_t> Server::system_param(Call& call, const char* name) {
  if (!call.req.has_param(name)) {
    missing(call.res, name);
    return std::nullopt;
  }
  const auto id = parse_int(call.req.get_param_value(name));
  if (!id) {
    bad_request(call.res, name);
    return std::nullopt;
  }
  const auto index = fleet_.index_of(*id);
  if (!index) {
    answer_error(call.res, 404, "Not Found", "System not found.");
    return std::nullopt;
  }
  const auto& allowed = options_.accounts[call.account].systems;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *id) == allowed.end()) {
    answer_error(call.res, 403, "Forbidden", "You are not allowed to access this system.");
    return std::nullopt;
  }
  config_header(call, *index);
  return index;
}

void Server::config_header(Call& call, std::size_t index) const {
  // The document: "Timestamp of last config update, when system id is specified". Its format is
  // not given: ISO 8601 with an offset, as every other time of the API (api_time). Never after
  // the simulated now.
  const auto spec = fleet_.system(index);
  call.res.set_header("X-System-Config-Update", api_time(std::min(spec.config_updated, call.now),
                                                         spec.timezone, options_.quirks));
}

void Server::inject_after(const httplib::Request& req, httplib::Response& res,
                          const char* endpoint) {
  const auto& f = options_.faults;
  if (f.malformed > 0 && draw(0x3A1) < f.malformed) {
    stats_.fault("malformed");
    const bool csv = res.get_header_value("Content-Type").rfind("text/csv", 0) == 0;
    if (csv) {
      res.body += "2026/13/45 99:99:99,n/a,\x01garbage\n";
    } else {
      res.body = res.body.substr(0, res.body.size() * 2 / 3) + "\"<b>Warning</b>: ";
    }
    stats_.request(endpoint, res.status);
    return;
  }
  if (f.truncated > 0 && draw(0x7C) < f.truncated) {
    stats_.fault("truncated");
    auto body = std::make_shared<std::string>(std::move(res.body));
    const auto type = res.get_header_value("Content-Type");
    res.body.clear();
    res.set_content_provider(body->size(), type,
                             [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                               const std::size_t half = body->size() / 2;
                               if (offset < half) sink.write(body->data() + offset, half - offset);
                               return false;  // the connection closes with half the promised bytes
                             });
    stats_.request(endpoint, res.status);
    return;
  }
  if (f.drop_connection > 0 && draw(0xD7) < f.drop_connection) {
    stats_.fault("drop_connection");
    stats_.request(endpoint, 0);  // the client gets no answer, whichever way the close goes
    if (close_connection_now(req)) return;
    // Socket not found (no /proc): the status line and headers go out, then the connection closes.
    const auto size = std::max<std::size_t>(res.body.size(), 1);
    const auto type = res.get_header_value("Content-Type");
    res.body.clear();
    res.set_content_provider(size, type,
                             [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
    return;
  }
  stats_.request(endpoint, res.status);
}

void Server::handle(const httplib::Request& req, httplib::Response& res, const char* endpoint,
                    Access access, const Handler& fn) {
  const auto& f = options_.faults;
  if (f.latency.count() > 0) {
    stats_.fault("latency");
    const auto ms =
        static_cast<std::int64_t>(static_cast<double>(f.latency.count()) * (0.5 + draw(0x1A7)));
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  }
  std::optional<std::size_t> account;
  if (access == Access::Login) {
    std::string user, password;
    std::optional<std::size_t> known;
    if (basic_credentials(req, user, password)) {
      for (std::size_t i = 0; i < options_.accounts.size(); ++i) {
        if (options_.accounts[i].username == user) {
          known = i;
          if (options_.accounts[i].password == password) account = i;
        }
      }
    }
    if (!account) {
      answer_error(res, 401, "Unauthorized", "You are requesting with an invalid credential.");
      if (known) {
        std::lock_guard lock(mutex_);
        charge(budgets_[*known], res, false);
        answer_error(res, 401, "Unauthorized", "You are requesting with an invalid credential.");
      } else {
        charge_anonymous(req, res);
      }
      stats_.request(endpoint, res.status);
      return;
    }
  } else {
    account = authenticate(req, res);
    if (!account) {
      if (res.get_header_value("X-Rate-Limit-Limit").empty()) charge_anonymous(req, res);
      stats_.request(endpoint, res.status);
      return;
    }
  }
  bool allowed = false;
  {
    std::lock_guard lock(mutex_);
    allowed = charge(budgets_[*account], res, true);
  }
  if (!allowed) {
    stats_.request(endpoint, res.status);
    return;
  }
  if (access == Access::Data && !options_.accounts[*account].premium) {
    answer_error(res, 402, "Payment Required", "API access requires a premium account.");
    stats_.request(endpoint, res.status);
    return;
  }
  if (f.error_rate > 0 && draw(0x5E) < f.error_rate) {
    stats_.fault("error_rate");
    static const int kStatuses[] = {500, 502, 503, 504};
    const int status = kStatuses[static_cast<std::size_t>(draw(0x5F) * 4) % 4];
    if (status == 502 || status == 504) {
      res.status = status;
      res.set_content("<html><head><title>" + std::to_string(status) +
                          "</title></head><body><center><h1>" + std::to_string(status) +
                          " Gateway Error</h1></center><hr><center>nginx</center></body></html>\n",
                      "text/html");
    } else {
      answer_error(res, status, status == 500 ? "Internal Server Error" : "Service Unavailable",
                   "An internal server error occurred.");
    }
    stats_.request(endpoint, res.status);
    return;
  }
  Call call{req, res, *account, clock_.now()};
  fn(call);
  if (res.status == -1) res.status = 200;  // httplib's "not set yet" means success
  if (f.any()) {
    inject_after(req, res, endpoint);
  } else {
    stats_.request(endpoint, res.status);
  }
}

void Server::api(const std::string& pattern, const char* endpoint, Access access, Handler fn) {
  http_->Get(kPrefix + pattern, [this, endpoint, access, fn = std::move(fn)](
                                    const httplib::Request& req, httplib::Response& res) {
    handle(req, res, endpoint, access, fn);
  });
}

void Server::routes() {
  api("users/login", "users/login", Access::Login, [this](Call& c) { login(c); });
  if (!options_.quirks.get_only_login) {
    http_->Post(std::string(kPrefix) + "users/login",
                [this](const httplib::Request& req, httplib::Response& res) {
                  handle(req, res, "users/login", Access::Login, [this](Call& c) { login(c); });
                });
  }
  // cpp-httplib reads the body of a POST without Content-Length until the peer closes (its read
  // timeout) and then answers a bare 400; nginx takes such a request as one without a body.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    using Outcome = httplib::Server::HandlerResponse;
    const bool may_have_body = req.method == "POST" || req.method == "PUT" ||
                               req.method == "PATCH" || req.method == "DELETE";
    if (!may_have_body || req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
      return Outcome::Unhandled;
    if (req.method == "POST" && !options_.quirks.get_only_login &&
        req.path == std::string(kPrefix) + "users/login") {
      handle(req, res, "users/login", Access::Login, [this](Call& c) { login(c); });
    } else {
      res.status = 404;  // no such route: the error handler writes the body
    }
    return Outcome::Handled;
  });

  api("users/logout", "users/logout", Access::User, [this](Call& c) {
    {
      std::lock_guard lock(mutex_);
      sessions_.erase(c.req.get_header_value("Authorization").substr(7));
    }
    c.res.set_content(logout_json(), kJson);
  });

  api(R"(users/(\d+))", "users/get", Access::User,
      [this](Call& c) { users_get(c, parse_int(c.req.matches[1].str())); });
  api("users/get", "users/get", Access::User, [this](Call& c) {
    if (!c.req.has_param("id")) return missing(c.res, "id");
    const auto id = parse_int(c.req.get_param_value("id"));
    if (!id) return bad_request(c.res, "id");
    users_get(c, id);
  });

  api("systems", "systems/list", Access::User, [this](Call& c) { systems_list(c); });
  api("systems/list", "systems/list", Access::User, [this](Call& c) { systems_list(c); });
  api(R"(systems/(\d+))", "systems/view", Access::User,
      [this](Call& c) { system_view(c, nullptr, parse_int(c.req.matches[1].str())); });
  api("systems/view", "systems/view", Access::User,
      [this](Call& c) { system_view(c, "id", std::nullopt); });

  api("systems/layout", "systems/layout", Access::User, [this](Call& c) {
    const auto index = system_param(c, "id");
    if (!index) return;
    c.res.set_content(layout_json(make_context(fleet_, fleet_.system(*index))), kJson);
  });
  api("objects/system", "objects/system", Access::User, [this](Call& c) {
    const auto index = system_param(c, "system_id");
    if (!index) return;
    c.res.set_content(objects_json(make_context(fleet_, fleet_.system(*index))), kJson);
  });
  api("objects/types", "objects/types", Access::User,
      [](Call& c) { c.res.set_content(object_types_json(), kJson); });
  api("sources/system", "sources/system", Access::User, [this](Call& c) {
    const auto index = system_param(c, "system_id");
    if (!index) return;
    const auto ctx = make_context(fleet_, fleet_.system(*index));
    c.res.set_content(
        sources_json(ctx, availability(ctx, c.now, upload_options()), c.now, options_.quirks),
        kJson);
  });

  api("data/summary", "data/summary", Access::Data, [this](Call& c) {
    const auto index = system_param(c, "system_id");
    if (!index) return;
    c.res.set_content(
        summary_json(model_, make_context(fleet_, fleet_.system(*index)), c.now, options_.quirks),
        kJson);
  });
  api("data/aggregate", "data/aggregate", Access::Data, [this](Call& c) { aggregate(c); });
  api("data/combined", "data/combined", Access::Data, [this](Call& c) { combined(c); });

  api("alerts/system", "alerts/system", Access::User, [this](Call& c) { alerts(c); });
  api("alerts/types", "alerts/types", Access::User, [](Call& c) {
    c.res.set_content(
        alert_types_json(c.req.has_param("language") ? c.req.get_param_value("language")
                                                     : std::string("EN")),
        kJson);
  });

  // The simulator's own counters, outside the API: never charged, never faulted.
  http_->Get("/sim/stats", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats_.json(util::format_iso8601_utc(clock_.now())), kJson);
  });
  // Ground truth for end-to-end tests: every system's planted fault, where it shows, and the
  // Tigo alerts it raised (see faults_json).
  http_->Get("/sim/faults", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(faults_json(model_, clock_.now()), kJson);
  });

  // The bus stream's ground truth (--bus-listen): what it serves, and per panel the newest
  // report it emitted, so a test can compare what a client made of it and when.
  http_->Get("/sim/bus", [this](const httplib::Request&, httplib::Response& res) {
    const Bus* bus = bus_.load();
    if (!bus) return answer_error(res, 404, "Not Found", "The bus is off (--bus-listen).");
    res.set_content(bus->overview_json(), kJson);
  });
  http_->Get("/sim/bus/last", [this](const httplib::Request& req, httplib::Response& res) {
    const Bus* bus = bus_.load();
    if (!bus) return answer_error(res, 404, "Not Found", "The bus is off (--bus-listen).");
    if (!req.has_param("system")) return missing(res, "system");
    const auto id = parse_int(req.get_param_value("system"));
    if (!id) return bad_request(res, "system");
    auto body = bus->last_json(*id);
    if (!body) return answer_error(res, 404, "Not Found", "System not on the bus.");
    res.set_content(*body, kJson);
  });

  // Anything else: the Yii2 404 body, with the rate headers of the caller's address.
  http_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty() && res.status == 404) {
      res.set_content(error_json(404, "Not Found", "Page not found."), kJson);
      if (req.path.rfind(kPrefix, 0) == 0) {
        charge_anonymous(req, res);
        stats_.request("other", 404);
      }
    }
  });
}

void Server::login(Call& c) {
  const auto expires = std::chrono::system_clock::now() + options_.token_ttl;
  std::string token, refresh;
  {
    std::lock_guard lock(mutex_);
    token = new_token();
    refresh = new_token();
    if (sessions_.size() >= options_.max_sessions) {
      // Forget the oldest token: memory stays bounded whatever clients do.
      auto oldest = sessions_.begin();
      for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
        if (it->second.serial < oldest->second.serial) oldest = it;
      sessions_.erase(oldest);
    }
    sessions_[token] = Session{c.account, expires, token_counter_};
  }
  c.res.set_content(
      login_json(static_cast<std::int64_t>(c.account) + 1, token,
                 std::chrono::floor<std::chrono::seconds>(expires),
                 options_.accounts[c.account].premium ? "Installer" : "Basic", refresh),
      kJson);
}

void Server::users_get(Call& c, std::optional<std::int64_t> id) {
  if (!id) return bad_request(c.res, "id");
  const auto self = static_cast<std::int64_t>(c.account) + 1;
  if (*id != self)
    return answer_error(c.res, 403, "Forbidden", "You are not allowed to view this user.");
  const auto& a = options_.accounts[c.account];
  c.res.set_content(user_json(self, a.username, a.premium ? "Installer" : "Basic", options_.quirks),
                    kJson);
}

void Server::systems_list(Call& c) {
  Paging paging;
  if (c.req.has_param("page")) {
    const auto page = parse_int(c.req.get_param_value("page"));
    if (!page || *page < 1) return bad_request(c.res, "page");
    paging.page = *page;
  }
  if (c.req.has_param("limit")) {
    const auto limit = parse_int(c.req.get_param_value("limit"));
    if (!limit || *limit < 1) return bad_request(c.res, "limit");
    paging.per_page = std::min<std::int64_t>(*limit, 1000);
  }
  SystemSortKey key = SystemSortKey::SystemId;
  bool descending = false;
  if (c.req.has_param("sort")) {
    std::string sort = c.req.get_param_value("sort");
    if (!sort.empty() && sort[0] == '-') {
      descending = true;
      sort.erase(0, 1);
      if (sort.empty()) return bad_request(c.res, "sort", "sortable: " + sort_field_names());
    }
    if (!sort.empty()) {
      const auto* field = std::find_if(std::begin(kSortFields), std::end(kSortFields),
                                       [&](const SortField& f) { return sort == f.name; });
      if (field == std::end(kSortFields))
        return bad_request(c.res, "sort", "sortable: " + sort_field_names());
      key = field->key;
    }
  }
  const auto& allowed = options_.accounts[c.account].systems;
  if (allowed.empty() && key == SystemSortKey::SystemId && !descending) {
    c.res.set_content(systems_json(fleet_, paging, c.now, options_.quirks), kJson);
    return;
  }
  // The order of the account's systems; none for the whole fleet in system_id order.
  std::shared_ptr<const std::vector<std::uint32_t>> order;
  if (!allowed.empty()) {
    std::vector<std::uint32_t> mine;
    for (const auto id : allowed)
      if (const auto index = fleet_.index_of(id))
        mine.push_back(static_cast<std::uint32_t>(*index));
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    sort_systems(fleet_, mine, key);
    order = std::make_shared<const std::vector<std::uint32_t>>(std::move(mine));
  } else if (key != SystemSortKey::SystemId) {
    order = sorted_fleet(key);
  }
  // Only the requested page is materialised, so a large fleet costs a page, not a list.
  const auto total = static_cast<std::int64_t>(order ? order->size() : fleet_.size());
  const std::int64_t begin = page_start(paging.page, paging.per_page, total);
  const std::int64_t end = std::min(total, begin + paging.per_page);
  std::vector<std::size_t> indices;
  for (std::int64_t i = begin; i < end; ++i) {
    const auto position = static_cast<std::size_t>(descending ? total - 1 - i : i);
    indices.push_back(order ? (*order)[position] : position);
  }
  std::string body =
      systems_json(fleet_, indices, Paging{1, paging.per_page}, c.now, options_.quirks);
  if (options_.quirks.paging_meta) {
    const auto pos = body.rfind("\"_meta\"");
    body = body.substr(0, pos) + R"("_meta":{"totalCount":)" + std::to_string(total) +
           ",\"pageCount\":" + std::to_string((total + paging.per_page - 1) / paging.per_page) +
           ",\"currentPage\":" + std::to_string(paging.page) +
           ",\"perPage\":" + std::to_string(paging.per_page) + "}}";
  }
  c.res.set_content(body, kJson);
}

std::shared_ptr<const std::vector<std::uint32_t>> Server::sorted_fleet(SystemSortKey key) {
  {
    std::lock_guard lock(sort_mutex_);
    if (const auto it = sorted_.find(key); it != sorted_.end()) return it->second;
  }
  // Built once per field outside the lock (10,000 systems by name: about 8 ms); a race builds it
  // twice.
  std::vector<std::uint32_t> all(fleet_.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint32_t>(i);
  sort_systems(fleet_, all, key);
  auto order = std::make_shared<const std::vector<std::uint32_t>>(std::move(all));
  std::lock_guard lock(sort_mutex_);
  return sorted_.emplace(key, std::move(order)).first->second;
}

void Server::system_view(Call& c, const char* id_param, std::optional<std::int64_t> path_id) {
  std::optional<std::size_t> index;
  if (id_param) {
    index = system_param(c, id_param);
  } else {
    // /systems/{id}: check the id the same way as the query form.
    if (!path_id) return bad_request(c.res, "id");
    const auto i = fleet_.index_of(*path_id);
    if (!i) return answer_error(c.res, 404, "Not Found", "System not found.");
    const auto& allowed = options_.accounts[c.account].systems;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *path_id) == allowed.end())
      return answer_error(c.res, 403, "Forbidden", "You are not allowed to access this system.");
    index = i;
    config_header(c, *index);
  }
  if (!index) return;
  const auto ctx = make_context(fleet_, fleet_.system(*index));
  const auto inc =
      parse_includes(c.req.has_param("include") ? c.req.get_param_value("include") : std::string());
  c.res.set_content(system_view_json(fleet_, ctx, inc, availability(ctx, c.now, upload_options()),
                                     c.now, options_.quirks),
                    kJson);
}

void Server::aggregate(Call& c) {
  const auto index = system_param(c, "system_id");
  if (!index) return;
  const auto ctx = make_context(fleet_, fleet_.system(*index));
  AggregateQuery q;
  for (const char* name : {"start", "end"}) {
    if (!c.req.has_param(name)) return missing(c.res, name);
    const auto t = parse_site_time(c.req.get_param_value(name), ctx.zone);
    if (!t) return bad_request(c.res, name, "ISO 8601 expected");
    (std::string_view(name) == "start" ? q.start : q.end) = *t;
  }
  if (q.end < q.start) return bad_request(c.res, "end", "before start");
  if (c.req.has_param("level")) {
    const auto level = c.req.get_param_value("level");
    if (level == "min" || level == "minute") {
      q.level = AggregateLevel::Minute;
    } else if (level == "day") {
      q.level = AggregateLevel::Day;
    } else {
      return bad_request(c.res, "level", "min or day");
    }
  }
  if (c.req.has_param("param")) {
    const auto p = parse_param(c.req.get_param_value("param"));
    if (!p) return bad_request(c.res, "param", "Pin, Vin, Iin or RSSI");
    q.param = *p;
  }
  if (c.req.has_param("header")) {
    const auto h = c.req.get_param_value("header");
    if (h != "id" && h != "key") return bad_request(c.res, "header", "id or key");
    q.header_key = h == "key";
  }
  if (c.req.has_param("sensors")) {
    const auto s = c.req.get_param_value("sensors");
    if (s != "true" && s != "false" && s != "1" && s != "0")
      return bad_request(c.res, "sensors", "true or false");
    q.sensors = s == "true" || s == "1";
  }
  if (c.req.has_param("object_ids") && !c.req.get_param_value("object_ids").empty()) {
    q.has_object_ids = true;
    if (!parse_id_list(c.req.get_param_value("object_ids"), q.object_ids))
      return bad_request(c.res, "object_ids", "comma list of ids");
    for (const auto id : q.object_ids)
      if (!ctx.topo.select(id).ok)
        return bad_request(c.res, "object_ids",
                           std::to_string(id) + " is not an object of the system");
  }
  const auto limit = q.level == AggregateLevel::Minute ? std::chrono::hours{24 * 7}
                                                       : std::chrono::hours{24 * 366 * 3};
  if (q.end - q.start > limit)
    return bad_request(c.res, "end",
                       q.level == AggregateLevel::Minute
                           ? "range too large for level min: at most 7 days"
                           : "range too large for level day: at most 3 years");
  c.res.set_content(aggregate_csv(model_, ctx, q, availability(ctx, c.now, upload_options()), c.now,
                                  options_.quirks),
                    kCsv);
}

void Server::combined(Call& c) {
  const auto index = system_param(c, "system_id");
  if (!index) return;
  const auto ctx = make_context(fleet_, fleet_.system(*index));
  CombinedQuery q;
  const char* level_param = c.req.has_param("level") ? "level" : "agg";
  if (c.req.has_param(level_param)) {
    const auto text = c.req.get_param_value(level_param);
    auto level = parse_combined_level(text);
    if (!level && text == "min" && !options_.quirks.min_refused) level = CombinedLevel::Minute;
    if (!level)
      return bad_request(c.res, level_param, "minute, hour, day, month, year or mi, h, d, m, y");
    q.level = *level;
  }
  q.start = local_day_start(ctx.spec.timezone, c.now);
  q.end = c.now;
  for (const char* name : {"start", "end"}) {
    if (!c.req.has_param(name)) continue;
    const auto t = parse_site_time(c.req.get_param_value(name), ctx.zone);
    if (!t) return bad_request(c.res, name, "ISO 8601 expected");
    (std::string_view(name) == "start" ? q.start : q.end) = *t;
  }
  if (q.end < q.start) return bad_request(c.res, "end", "before start");
  if (q.end - q.start > combined_range_limit(q.level))
    return bad_request(c.res, "end", "range too large for the level");
  // The document's curl example spells it objects_ids: accept both.
  const char* ids_param = c.req.has_param("object_ids") ? "object_ids" : "objects_ids";
  if (c.req.has_param(ids_param) && !c.req.get_param_value(ids_param).empty()) {
    if (!parse_id_list(c.req.get_param_value(ids_param), q.object_ids))
      return bad_request(c.res, ids_param, "comma list of ids");
    for (const auto id : q.object_ids)
      if (!ctx.topo.select(id).ok)
        return bad_request(c.res, ids_param,
                           std::to_string(id) + " is not an object of the system");
  } else {
    q.object_ids.push_back(ctx.topo.system_object_id);
  }
  c.res.set_content(combined_csv(model_, ctx, q, availability(ctx, c.now, upload_options())), kCsv);
}

void Server::alerts(Call& c) {
  const auto index = system_param(c, "system_id");
  if (!index) return;
  const auto ctx = make_context(fleet_, fleet_.system(*index));
  Paging paging;
  for (const char* name : {"page", "limit"}) {
    if (!c.req.has_param(name)) continue;
    const auto v = parse_int(c.req.get_param_value(name));
    if (!v || *v < 1) return bad_request(c.res, name);
    (std::string_view(name) == "page" ? paging.page : paging.per_page) =
        std::string_view(name) == "page" ? *v : std::min<std::int64_t>(*v, 1000);
  }
  std::optional<sys_seconds> from, to;
  for (const char* name : {"start_added", "end_added"}) {
    if (!c.req.has_param(name)) continue;
    const auto t = parse_site_time(c.req.get_param_value(name), ctx.zone);
    if (!t) return bad_request(c.res, name, "ISO 8601 expected");
    (std::string_view(name) == "start_added" ? from : to) = *t;
  }
  auto all = from ? system_alerts(ctx, c.now, *from) : system_alerts(ctx, c.now);
  std::vector<Alert> kept;
  for (auto& a : all)
    if (!to || a.added <= *to) kept.push_back(std::move(a));
  const std::string language =
      c.req.has_param("language") ? c.req.get_param_value("language") : std::string("EN");
  c.res.set_content(alerts_json(ctx, kept, language, paging, options_.quirks), kJson);
}

}  // namespace sim
