#include "local/cca_source.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "util/duration.hpp"
#include "util/listen_address.hpp"
#include "util/log.hpp"
#include "util/shared_slot.hpp"
#include "util/time.hpp"

namespace local {
namespace {

using Steady = std::chrono::steady_clock;

constexpr std::array kSeries{CcaSeries::power, CcaSeries::voltage, CcaSeries::rssi};

struct Failure {
  CcaFailure kind = CcaFailure::unreachable;
  std::string endpoint;
  std::string text;        // the endpoint and what went wrong
  bool cancelled = false;  // stopped: not a failure of the CCA
};

// The socket of the request in flight, so that stop() from another thread can cut it off:
// httplib's own stop() misses a request still connecting. A duplicate of the descriptor is kept,
// so a shutdown never reaches a descriptor number httplib closed and the system gave to another.
class InFlight {
 public:
  InFlight() = default;
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  ~InFlight() { release(); }

  // httplib made the request's socket (on the polling thread, before connecting).
  void adopt(int fd) {
    const std::lock_guard lock(mutex_);
    if (copy_ >= 0) ::close(copy_);
    copy_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (aborted_) ::shutdown(fd, SHUT_RDWR);
  }
  // From the stopping thread; final.
  void abort() {
    const std::lock_guard lock(mutex_);
    aborted_ = true;
    if (copy_ >= 0) ::shutdown(copy_, SHUT_RDWR);
  }
  // After each request.
  void release() {
    const std::lock_guard lock(mutex_);
    if (copy_ >= 0) ::close(copy_);
    copy_ = -1;
  }

 private:
  std::mutex mutex_;
  int copy_ = -1;
  bool aborted_ = false;
};

std::string transport_text(httplib::Error error, const std::string& where,
                           const std::string& timeout) {
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect to " + where;
    case httplib::Error::ConnectionTimeout:
      return "connect to " + where + ": timed out after " + timeout;
    case httplib::Error::Read:
      return "no complete answer from " + where + " (closed, or nothing within " + timeout + ")";
    case httplib::Error::Write:
      return "sending the request to " + where + " failed";
    default:
      return where + ": " + httplib::to_string(error);
  }
}

// Defence in depth: a body or a reason that echoed the password is not kept with it.
std::string without_secret(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
    text.replace(at, secret.size(), "***");
  return text;
}

}  // namespace

std::string_view cca_failure_name(CcaFailure kind) {
  switch (kind) {
    case CcaFailure::unreachable:
      return "unreachable";
    case CcaFailure::http_status:
      return "http_status";
    case CcaFailure::unauthorized:
      return "unauthorized";
    case CcaFailure::malformed:
      return "malformed";
  }
  return "unknown";
}

const CcaPanel* CcaSnapshot::find(std::string_view label) const {
  for (const auto& p : panels)
    if (p.label == label) return &p;
  return nullptr;
}

struct CcaSource::Impl {
  CcaSourceOptions options;
  std::string name;
  std::string where;  // host:port, in errors
  httplib::Headers headers;
  std::unique_ptr<httplib::Client> http;
  InFlight in_flight;

  std::stop_source stopping;
  std::once_flag start_once;
  std::jthread thread;
  std::mutex wait_mutex;
  std::condition_variable_any wake;

  util::SharedSlot<CcaSnapshot> slot{std::make_shared<const CcaSnapshot>()};

  // What the polls read; guarded by poll_mutex (the thread's polls and poll_once()).
  std::mutex poll_mutex;
  std::optional<CcaLayout> layout;
  std::optional<Steady::time_point> layout_read;
  std::array<std::optional<CcaDataset>, kSeries.size()> datasets;
  std::optional<std::chrono::local_days> day;
  std::optional<std::chrono::local_days> device_date;
  std::optional<double> energy_today_wh;
  CcaHealth health;
  // The problems (kind and endpoint) logged since the last poll without a failure: each is
  // logged when it starts, not at every poll it lasts.
  std::set<std::string, std::less<>> logged_problems;

  explicit Impl(CcaSourceOptions o) : options(std::move(o)) {
    if (options.host.empty()) throw std::invalid_argument("CCA: empty host");
    if (options.port < 1 || options.port > 65535)
      throw std::invalid_argument("CCA: port outside 1..65535");
    if (!util::is_known_zone(options.zone))
      throw std::invalid_argument("CCA: unknown time zone \"" + options.zone + "\"");
    if (options.interval.count() <= 0 || options.locked_interval.count() <= 0 ||
        options.timeout.count() <= 0)
      throw std::invalid_argument("CCA: intervals and timeout must be positive");
    // The zone's rules load lazily: here, not racing on the polling thread.
    util::preload_time_zones({options.zone});
    where = util::host_port(options.host, options.port);
    name = options.name.empty() ? "cca:" + where : options.name;
    if (!options.password.empty())
      headers.insert(httplib::make_basic_authentication_header(kCcaUser, options.password));
    headers.emplace("Accept", "application/json");
    http = std::make_unique<httplib::Client>(options.host, options.port);
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
    const auto usecs =
        std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - secs);
    http->set_connection_timeout(secs.count(), usecs.count());
    http->set_read_timeout(secs.count(), usecs.count());
    http->set_write_timeout(secs.count(), usecs.count());
    http->set_keep_alive(false);
    http->set_follow_location(false);
    http->set_socket_options([this](socket_t fd) { in_flight.adopt(fd); });
    CcaSnapshot first;
    first.name = name;
    slot.store(std::make_shared<const CcaSnapshot>(std::move(first)));
  }

  std::chrono::system_clock::time_point now() const {
    return options.now ? options.now() : std::chrono::system_clock::now();
  }

  // One GET; the body of a 200.
  util::Result<std::string, Failure> fetch(std::string_view endpoint, const std::string& target) {
    const auto stop = stopping.get_token();
    const std::string ep(endpoint);
    if (stop.stop_requested()) return Failure{CcaFailure::unreachable, ep, "stopped", true};
    ++health.requests;
    std::string body;
    bool too_large = false;
    bool overdue = false;
    const auto start = Steady::now();
    httplib::Result res{nullptr, httplib::Error::Unknown};
    {
      const std::stop_callback cut_off(stop, [this] { in_flight.abort(); });
      res = http->Get(target, headers, [&](const char* data, std::size_t n) {
        if (body.size() + n > options.max_body_bytes) {
          too_large = true;
          return false;
        }
        // httplib's timeouts bound each read; this bounds a body trickled in small reads.
        if (Steady::now() - start > options.timeout) {
          overdue = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
    }
    in_flight.release();
    const std::string what = std::string(endpoint) + ": ";
    const std::string timeout = util::format_duration(options.timeout);
    if (!res) {
      if (stop.stop_requested()) return Failure{CcaFailure::unreachable, ep, "stopped", true};
      if (too_large)
        return Failure{
            CcaFailure::malformed, ep,
            what + "body larger than " + std::to_string(options.max_body_bytes) + " bytes"};
      if (overdue)
        return Failure{CcaFailure::unreachable, ep,
                       what + "no complete answer from " + where + " within " + timeout};
      return Failure{CcaFailure::unreachable, ep,
                     what + transport_text(res.error(), where, timeout)};
    }
    if (res->status == 401) {
      return Failure{CcaFailure::unauthorized, ep,
                     what + "401 Unauthorized: " +
                         (options.password.empty()
                              ? "the CCA asks for a password (user Tigo) and none is set"
                              : "the CCA refused the password of user Tigo, or its firmware "
                                "(4.0.4 and later) locks the local API")};
    }
    if (res->status != 200)
      return Failure{CcaFailure::http_status, ep,
                     what + "HTTP status " + std::to_string(res->status)};
    return body;
  }

  template <class T>
  util::Result<T, Failure> parsed(std::string_view endpoint, util::Result<T> result) {
    if (result) return std::move(*result);
    return Failure{CcaFailure::malformed, std::string(endpoint),
                   std::string(endpoint) + ": " + result.error().message};
  }

  // Counts a failure; returns whether the poll ends (nothing more can be read now).
  bool note(const Failure& f, bool& failed) {
    if (f.cancelled) return true;
    failed = true;
    switch (f.kind) {
      case CcaFailure::unreachable:
        ++health.unreachable;
        break;
      case CcaFailure::http_status:
        ++health.http_status;
        break;
      case CcaFailure::unauthorized:
        ++health.unauthorized;
        break;
      case CcaFailure::malformed:
        ++health.malformed;
        break;
    }
    health.last_failure = f.kind;
    health.last_error = without_secret(f.text, options.password);
    if (f.kind == CcaFailure::unauthorized) {
      if (!health.locked) {
        util::log::warn("CCA local API refused (401); polling it every " +
                            util::format_duration(options.locked_interval) +
                            " in case it is unlocked",
                        {{"source", name}, {"error", health.last_error}});
      }
      health.locked = true;
      return true;
    }
    if (logged_problems.insert(std::string(cca_failure_name(f.kind)) + " " + f.endpoint).second) {
      util::log::warn("CCA poll failed", {{"source", name},
                                          {"kind", std::string(cca_failure_name(f.kind))},
                                          {"error", health.last_error}});
    }
    return f.kind == CcaFailure::unreachable;
  }

  void answered() {
    if (health.locked) util::log::info("CCA local API answers again", {{"source", name}});
    health.locked = false;
  }

  // Returns whether the poll goes on.
  bool read_jsconfig(bool& failed) {
    auto body = fetch("summary_jsconfig", "/cgi-bin/summary_jsconfig");
    if (!body) return !note(body.error(), failed);
    answered();
    auto date = parsed("summary_jsconfig", parse_cca_jsconfig(*body));
    if (!date) return !note(date.error(), failed);
    device_date = *date;
    return true;
  }

  bool read_config(bool& failed) {
    const auto steady = Steady::now();
    if (layout && layout_read && steady - *layout_read < options.layout_interval) return true;
    auto body = fetch("summary_config", "/cgi-bin/summary_config");
    if (!body) return !note(body.error(), failed);
    answered();
    auto read = parsed("summary_config", parse_cca_config(*body));
    if (!read) return !note(read.error(), failed);
    layout = std::move(*read);
    layout_read = steady;
    return true;
  }

  bool read_data(std::size_t index, std::chrono::local_days today, bool& failed) {
    const CcaSeries series = kSeries[index];
    const std::string endpoint = "summary_data?temp=" + std::string(cca_temp_name(series));
    auto body = fetch(endpoint, "/cgi-bin/summary_data?date=" + format_cca_date(today) +
                                    "&temp=" + std::string(cca_temp_name(series)));
    if (!body) return !note(body.error(), failed);
    answered();
    auto read = parsed(endpoint, parse_cca_data(*body, series, today, options.zone));
    if (!read) return !note(read.error(), failed);
    datasets[index] = std::move(*read);
    return true;
  }

  bool read_energy(std::chrono::local_days today, bool& failed) {
    auto body = fetch("summary_energy", "/cgi-bin/summary_energy");
    if (!body) return !note(body.error(), failed);
    answered();
    auto rows = parsed("summary_energy", parse_cca_energy(*body));
    if (!rows) return !note(rows.error(), failed);
    energy_today_wh.reset();
    for (const auto& row : *rows)
      if (row.day == today) energy_today_wh = row.wh;
    return true;
  }

  void poll() {
    const std::lock_guard lock(poll_mutex);
    if (stopping.stop_requested()) return;
    const auto at = std::chrono::floor<std::chrono::seconds>(now());
    // The zone is known (checked at construction).
    const auto today = util::local_day_in_zone(at, options.zone)
                           .value_or(std::chrono::floor<std::chrono::days>(
                               std::chrono::local_seconds{at.time_since_epoch()}));
    ++health.polls;
    bool failed = false;
    bool going = read_jsconfig(failed) && read_config(failed);
    if (going && day != today) {
      // Yesterday's minutes are not today's: dropped at the day's first poll.
      datasets = {};
      day = today;
    }
    for (std::size_t i = 0; going && i < kSeries.size(); ++i) going = read_data(i, today, failed);
    if (going) going = read_energy(today, failed);
    if (going && !failed && !stopping.stop_requested()) {
      health.last_success = at;
      if (!logged_problems.empty()) {
        util::log::info("CCA polled without errors again", {{"source", name}});
        logged_problems.clear();
      }
    }
    health.next_poll_in = health.locked ? options.locked_interval : options.interval;
    publish();
  }

  void publish() {
    auto snap = std::make_shared<CcaSnapshot>();
    snap->name = name;
    snap->layout = layout;
    snap->day = day;
    snap->device_date = device_date;
    snap->energy_today_wh = energy_today_wh;
    snap->health = health;
    if (datasets[0]) snap->last_data = datasets[0]->last_data;
    std::set<std::string, std::less<>> listed;
    if (layout) {
      for (const auto& s : layout->strings) {
        const std::string inverter = s.inverter ? layout->inverters[*s.inverter].label : "";
        for (const auto& label : s.panels) {
          listed.insert(label);
          snap->panels.push_back(CcaPanel{label, inverter, s.label, {}, {}, {}});
        }
      }
    }
    std::set<std::string, std::less<>> unlisted;
    for (const auto& d : datasets) {
      if (!d) continue;
      for (const auto& [label, point] : d->newest)
        if (!listed.count(label)) unlisted.insert(label);
    }
    for (const auto& label : unlisted) snap->panels.push_back(CcaPanel{label, "", "", {}, {}, {}});
    for (auto& panel : snap->panels) {
      std::optional<CcaPoint>* fields[] = {&panel.power, &panel.voltage, &panel.rssi};
      for (std::size_t i = 0; i < kSeries.size(); ++i) {
        if (!datasets[i]) continue;
        const auto it = datasets[i]->newest.find(panel.label);
        if (it != datasets[i]->newest.end()) *fields[i] = it->second;
      }
    }
    slot.store(std::move(snap));
  }

  void run(std::stop_token stop) {
    while (!stop.stop_requested()) {
      try {
        poll();
      } catch (const std::exception& e) {
        // Nothing below throws by design (allocation aside); the thread must not end on it.
        util::log::error("CCA poll failed unexpectedly", {{"source", name}, {"error", e.what()}});
      }
      std::chrono::milliseconds wait{0};
      {
        const std::lock_guard lock(poll_mutex);
        wait = health.next_poll_in.count() > 0 ? health.next_poll_in : options.interval;
      }
      std::unique_lock lock(wait_mutex);
      wake.wait_for(lock, stop, wait, [] { return false; });
    }
  }
};

CcaSource::CcaSource(CcaSourceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

CcaSource::~CcaSource() { stop(); }

void CcaSource::start() {
  std::call_once(impl_->start_once, [this] {
    if (impl_->stopping.stop_requested()) return;
    impl_->thread =
        std::jthread([this](std::stop_token) { impl_->run(impl_->stopping.get_token()); });
  });
}

void CcaSource::stop() {
  impl_->stopping.request_stop();  // cuts the request in flight off and ends the wait
  if (impl_->thread.joinable()) impl_->thread.join();
}

void CcaSource::poll_once() { impl_->poll(); }

std::shared_ptr<const CcaSnapshot> CcaSource::snapshot() const { return impl_->slot.load(); }

const std::string& CcaSource::name() const { return impl_->name; }

}  // namespace local
