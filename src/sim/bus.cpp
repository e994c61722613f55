#include "sim/bus.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "sim/json_writer.hpp"
#include "sim/pv_model.hpp"
#include "util/listen_address.hpp"
#include "util/log.hpp"
#include "util/socket.hpp"
#include "util/time.hpp"

namespace sim {
namespace {

using std::chrono::sys_seconds;

constexpr int kMaxGatewayId = 32767;  // link ids are 15 bits
constexpr std::uint8_t kGatewayHigh = 0x30;
// A TAP's version string as taptap reads it from the gateway (its \r separators as spaces).
constexpr const char* kGatewayVersions[] = {
    "Mgate Version G8.59 Jul 6 2020 16:51:51 GW-H158.4.3S0.12",
    "Mgate Version G8.62 Mar 2 2022 11:04:17 GW-H158.4.3S0.14",
};
// The optimizer's DC-DC stage passes this share of its input voltage at full duty (taptap's
// README line: voltage_in 30.6, voltage_out 30.2).
constexpr double kConversion = 0.987;
// A panel whose light is at least this share of its string's passes the string current through.
constexpr double kBuckBelow = 0.95;

int clamp_bits(long v, long lo, long hi) { return static_cast<int>(std::clamp(v, lo, hi)); }

}  // namespace

std::optional<BusFormat> parse_bus_format(std::string_view text) {
  if (text == "old") return BusFormat::Old;
  if (text == "new") return BusFormat::New;
  if (text == "mixed") return BusFormat::Mixed;
  return std::nullopt;
}

const char* bus_format_name(BusFormat format) {
  switch (format) {
    case BusFormat::Old:
      return "old";
    case BusFormat::Mixed:
      return "mixed";
    case BusFormat::New:
      break;
  }
  return "new";
}

SystemBus system_bus(const SystemContext& c) {
  SystemBus b;
  const int count = std::max(1, c.topo.gateway.gateway_count);
  const auto panels = static_cast<int>(c.topo.panels.size());
  const std::uint64_t h = mix(c.spec.seed ^ 0xB05ULL);
  for (int k = 0; k < count; ++k) {
    BusGateway g;
    const long ordinal = static_cast<long>(c.spec.index) * count + k;
    g.id = 1 + static_cast<int>((kFirstGatewayId - 1 + ordinal) % kMaxGatewayId);
    g.address =
        tigo_address(kGatewayHigh,
                     static_cast<std::uint32_t>(mix(h + static_cast<std::uint64_t>(k)) & 0xFFFFFF));
    g.version = kGatewayVersions[mix(h ^ 0x7E5ULL) % std::size(kGatewayVersions)];
    b.gateways.push_back(std::move(g));
  }
  // Panels in layout order, split evenly over the gateways; node ids in enumeration order, which
  // is not the layout's: a shuffle of 2..n+1 per gateway.
  b.gateway_of.resize(static_cast<std::size_t>(panels));
  b.node_of.resize(static_cast<std::size_t>(panels));
  for (int k = 0; k < count; ++k) {
    std::vector<int> members;
    for (int i = 0; i < panels; ++i)
      if (static_cast<long>(i) * count / std::max(panels, 1) == k) members.push_back(i);
    std::vector<int> ids(members.size());
    for (std::size_t j = 0; j < ids.size(); ++j) ids[j] = static_cast<int>(j) + 2;
    for (std::size_t j = ids.size(); j > 1; --j)
      std::swap(ids[j - 1], ids[mix(h + 100 + static_cast<std::uint64_t>(k) * 65536 + j) % j]);
    for (std::size_t j = 0; j < members.size(); ++j) {
      b.gateway_of[static_cast<std::size_t>(members[j])] = k;
      b.node_of[static_cast<std::size_t>(members[j])] = ids[j];
    }
  }
  return b;
}

std::optional<PowerReport> power_report(const PanelPoint& p, double poa_w_m2,
                                        double relative_light) {
  if (!p.present || !(poa_w_m2 >= pv::kWakeIrradianceWM2)) return std::nullopt;
  PowerReport r;
  r.voltage_in = clamp_bits(std::lround(p.vin_v * 20), 0, 4095);
  r.current = clamp_bits(std::lround(p.iin_a * 200), 0, 4095);
  const double light = std::clamp(relative_light, 0.0, 1.0);
  const double duty = light >= kBuckBelow ? 1.0 : light;
  r.duty_cycle = clamp_bits(std::lround(duty * 255), 0, 255);
  r.voltage_out = clamp_bits(
      std::lround(r.voltage_in / 20.0 * (r.duty_cycle / 255.0) * kConversion * 10), 0, 4095);
  r.temperature = clamp_bits(std::lround(p.temp_c * 10), -2048, 2047);
  r.rssi = std::clamp(p.rssi, 0, 255);
  return r;
}

std::string rfc3339_micros(std::chrono::system_clock::time_point t, const date::time_zone* zone) {
  const auto us = std::chrono::floor<std::chrono::microseconds>(t);
  const auto secs = std::chrono::floor<std::chrono::seconds>(us);
  const auto offset = zone ? zone->get_info(secs).offset : std::chrono::seconds{0};
  const auto local = secs + offset;
  const auto day = std::chrono::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<std::chrono::seconds> tod{local - day};
  const long minutes = static_cast<long>(offset.count() / 60);
  const long abs_minutes = minutes < 0 ? -minutes : minutes;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ld%c%02ld:%02ld",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(tod.hours().count()),
                static_cast<long>(tod.minutes().count()), static_cast<long>(tod.seconds().count()),
                static_cast<long>((us - secs).count()), minutes < 0 ? '-' : '+', abs_minutes / 60,
                abs_minutes % 60);
  return buf;
}

void append_float(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  const std::string_view text(buf, ec == std::errc{} ? static_cast<std::size_t>(ptr - buf) : 0);
  out += text;
  if (text.find_first_of(".en") == std::string_view::npos) out += ".0";
}

std::string power_report_line(const PowerReport& r, const date::time_zone* zone, bool old_format) {
  std::string out;
  out.reserve(240);
  if (old_format) {
    out += R"({"gateway":{"id":)";
    json::append_int(out, r.gateway);
    out += R"(},"node":{"id":)";
    json::append_int(out, r.node);
    out += '}';
  } else {
    out += R"({"event_type":"power_report","gateway":)";
    json::append_int(out, r.gateway);
    out += ",\"node\":";
    json::append_int(out, r.node);
  }
  out += R"(,"timestamp":")";
  out += rfc3339_micros(r.at, zone);
  out += R"(","voltage_in":)";
  append_float(out, r.voltage_in / 20.0);
  out += ",\"voltage_out\":";
  append_float(out, r.voltage_out / 10.0);
  out += ",\"current\":";
  append_float(out, r.current / 200.0);
  out += ",\"dc_dc_duty_cycle\":";
  append_float(out, r.duty_cycle / 255.0);
  out += ",\"temperature\":";
  append_float(out, r.temperature / 10.0);
  out += ",\"rssi\":";
  json::append_int(out, r.rssi);
  out += "}\n";
  return out;
}

std::string infrastructure_line(const std::vector<BusSystem>& systems) {
  // Keys in numeric order, as taptap's maps print them.
  std::map<int, const BusGateway*> gateways;
  std::map<int, std::map<int, LongAddress>> nodes;
  for (const auto& s : systems) {
    for (const auto& g : s.bus->gateways) gateways[g.id] = &g;
    for (std::size_t i = 0; i < s.bus->node_of.size(); ++i) {
      const auto& g = s.bus->gateways[static_cast<std::size_t>(s.bus->gateway_of[i])];
      nodes[g.id][s.bus->node_of[i]] = tigo_address(0x40, s.context->topo.panels[i].address);
    }
  }
  std::string out = R"({"event_type":"infrastructure_report","gateways":{)";
  bool first = true;
  for (const auto& [id, g] : gateways) {
    json::append_key(out, std::to_string(id), first);
    out += "{\"address\":";
    json::append_string(out, address_text(g->address));
    out += ",\"version\":";
    json::append_string(out, g->version);
    out += '}';
  }
  out += "},\"nodes\":{";
  first = true;
  for (const auto& [gateway, members] : nodes) {
    json::append_key(out, std::to_string(gateway), first);
    out += '{';
    bool first_node = true;
    for (const auto& [node, address] : members) {
      json::append_key(out, std::to_string(node), first_node);
      out += "{\"address\":";
      json::append_string(out, address_text(address));
      out += ",\"barcode\":";
      json::append_string(out, barcode(address));
      out += '}';
    }
    out += '}';
  }
  out += "}}\n";
  return out;
}

BusSchedule::BusSchedule(std::size_t nodes, std::chrono::milliseconds interval, std::uint64_t seed,
                         int silence_one_in)
    : reports_(nodes, 0), interval_(interval), seed_(seed), silence_one_in_(silence_one_in) {
  std::vector<Entry> entries;
  entries.reserve(nodes);
  // First reports spread over one interval, so the stream is steady from the start.
  for (std::size_t n = 0; n < nodes; ++n)
    entries.emplace_back(Offset{static_cast<std::int64_t>(draw(n, 0xF1257) *
                                                          static_cast<double>(interval_.count()))},
                         n);
  heap_ = decltype(heap_)(std::greater<>{}, std::move(entries));
}

double BusSchedule::draw(std::size_t node, std::uint64_t salt) const {
  return unit(mix(seed_ ^ mix(0xB5ULL + node) ^ mix(salt + (std::uint64_t{reports_[node]} << 8))));
}

std::size_t BusSchedule::pop() {
  const auto [at, node] = heap_.top();
  heap_.pop();
  ++reports_[node];
  auto gap = Offset{static_cast<std::int64_t>(static_cast<double>(interval_.count()) *
                                              (0.85 + 0.3 * draw(node, 1)))};
  if (silence_one_in_ > 0 && draw(node, 2) * silence_one_in_ < 1.0)
    gap += Offset{static_cast<std::int64_t>((120.0 + 180.0 * draw(node, 3)) * 1e6)};
  heap_.emplace(at + gap, node);
  return node;
}

Bus::Bus(const Fleet& fleet, const Clock& clock, BusOptions options, Stats* stats)
    : fleet_(fleet), clock_(clock), model_(fleet), options_(std::move(options)), stats_(stats) {
  std::vector<std::size_t> indices;
  if (options_.systems.empty()) {
    for (std::size_t i = 0; i < fleet_.size(); ++i) indices.push_back(i);
  } else {
    for (const auto id : options_.systems) {
      const auto index = fleet_.index_of(id);
      if (!index)
        throw std::invalid_argument("system " + std::to_string(id) + " is not in the fleet");
      if (std::find(indices.begin(), indices.end(), *index) == indices.end())
        indices.push_back(*index);
    }
  }
  std::size_t total = 0;
  for (const auto i : indices) total += static_cast<std::size_t>(fleet_.system(i).panels);
  if (total > kMaxBusNodes)
    throw std::invalid_argument(std::to_string(total) + " nodes on the bus, at most " +
                                std::to_string(kMaxBusNodes) + ": name fewer systems");
  systems_.reserve(indices.size());
  for (const auto i : indices) {
    SystemState s;
    s.context = make_context(fleet_, fleet_.system(i));
    s.bus = system_bus(s.context);
    systems_.push_back(std::move(s));
  }
  for (std::size_t s = 0; s < systems_.size(); ++s)
    for (std::size_t p = 0; p < systems_[s].context.topo.panels.size(); ++p)
      nodes_.push_back(Node{static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(p)});
  last_.resize(nodes_.size());
  client_buffer_ = std::max(options_.client_buffer, 2 * infrastructure().size() + (64u << 10));
}

Bus::~Bus() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

util::Result<int> Bus::bind() {
  auto fd = util::listen_tcp(options_.host, options_.port);
  if (!fd)
    return util::make_error("cannot listen on " + util::host_port(options_.host, options_.port) +
                            ": " + fd.error().message);
  listen_fd_ = *fd;
  port_ = util::bound_port(listen_fd_);
  return port_;
}

std::string Bus::address() const { return util::host_port(options_.host, port_); }

void Bus::start() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = UINT64_MAX;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.u64 = UINT64_MAX - 1;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { run(); });
}

void Bus::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
  while (!clients_.empty()) close_client(clients_.size() - 1);
  ::close(epoll_fd_);
  ::close(wake_fd_);
  epoll_fd_ = wake_fd_ = -1;
}

double Bus::draw(std::uint64_t salt) {
  return unit(mix(fleet_.options().seed * 0x9E3779B97F4A7C15ULL ^ mix(++draws_) ^ salt));
}

const std::string& Bus::infrastructure() {
  if (infra_.empty()) {
    std::vector<BusSystem> all;
    all.reserve(systems_.size());
    for (const auto& s : systems_) all.push_back(BusSystem{&s.context, &s.bus});
    infra_ = infrastructure_line(all);
  }
  return infra_;
}

void Bus::run() {
  using Steady = std::chrono::steady_clock;
  const auto start = Steady::now();
  BusSchedule schedule(nodes_.size(), options_.interval, fleet_.options().seed,
                       options_.silence_one_in);
  auto next_infra = start + options_.infra_every;
  epoll_event events[64];
  while (!stop_) {
    auto now = Steady::now();
    auto next = next_infra;
    if (!nodes_.empty()) next = std::min(next, start + schedule.next_at());
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    const int n =
        epoll_wait(epoll_fd_, events, 64, static_cast<int>(std::clamp<long>(wait, 0, 1000)));
    for (int i = 0; i < n; ++i) {
      const auto tag = events[i].data.u64;
      if (tag == UINT64_MAX) {
        accept_clients();
        continue;
      }
      if (tag == UINT64_MAX - 1) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      // Clients are found by descriptor: the vector moves when one closes.
      const int fd = static_cast<int>(tag);
      const auto it = std::find_if(clients_.begin(), clients_.end(),
                                   [fd](const Client& c) { return c.fd == fd; });
      if (it == clients_.end()) continue;
      const auto index = static_cast<std::size_t>(it - clients_.begin());
      bool closed = false;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        // Clients have nothing to say: what they send is read and dropped, an end closes them.
        char buf[4096];
        for (;;) {
          const auto got = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
          if (got > 0) continue;
          if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close_client(index);
            closed = true;
          }
          break;
        }
      }
      if (!closed && (events[i].events & EPOLLOUT)) flush(clients_[index]);
    }
    if (stop_) break;
    now = Steady::now();
    std::string lines;
    while (!nodes_.empty() && start + schedule.next_at() <= now) {
      const auto node = schedule.pop();
      power_line(node, lines);
    }
    if (!lines.empty()) queue_line(lines);
    if (now >= next_infra) {
      next_infra += options_.infra_every;
      if (next_infra <= now) next_infra = now + options_.infra_every;
      std::string line = infrastructure();
      lines_.fetch_add(1, std::memory_order_relaxed);
      if (options_.faults.bus_garbage > 0 && draw(0x6A1) < options_.faults.bus_garbage) {
        garbage_.fetch_add(1, std::memory_order_relaxed);
        if (stats_) stats_->fault("bus_garbage");
        line = line.substr(0, line.size() / 2) + "\n";
      } else {
        infra_reports_.fetch_add(1, std::memory_order_relaxed);
      }
      queue_line(line);
    }
    for (std::size_t i = clients_.size(); i-- > 0;) {
      if (clients_[i].queue.size() > clients_[i].sent) flush(clients_[i]);
      if (clients_[i].fd < 0) close_client(i);
    }
  }
}

void Bus::power_line(std::size_t node, std::string& lines) {
  const auto& n = nodes_[node];
  auto& s = systems_[n.system];
  const auto sim_now = clock_.now_precise();
  const auto minute = std::chrono::floor<std::chrono::minutes>(sim_now);
  const auto minute_key = static_cast<std::int64_t>(minute.time_since_epoch().count());
  // One evaluation of the model per system and minute serves every report of that minute.
  if (s.minute != minute_key) {
    s.poa = model_.points(s.context, sys_seconds{minute}, s.points);
    s.minute = minute_key;
  }
  const auto panel = static_cast<int>(n.panel);
  auto report = power_report(s.points[n.panel], s.poa,
                             model_.relative_light(s.context, panel, sys_seconds{minute}));
  if (!report) return;  // asleep: an optimizer without light says nothing
  const auto g = static_cast<std::size_t>(s.bus.gateway_of[n.panel]);
  report->gateway = s.bus.gateways[g].id;
  report->node = s.bus.node_of[n.panel];
  report->at = sim_now;
  const bool old_format = options_.format == BusFormat::Old ||
                          (options_.format == BusFormat::Mixed && draw(0x01D) < 0.5);
  std::string line = power_report_line(*report, s.context.zone, old_format);
  lines_.fetch_add(1, std::memory_order_relaxed);
  if (options_.faults.bus_garbage > 0 && draw(0x6A2) < options_.faults.bus_garbage) {
    garbage_.fetch_add(1, std::memory_order_relaxed);
    if (stats_) stats_->fault("bus_garbage");
    // Half the lines cut short (a read torn mid-object), half noise from the serial line.
    if (draw(0x6A3) < 0.5) {
      lines += line.substr(0, line.size() / 2);
    } else {
      lines += "\x7e\x07\x92\x01\xff garbage \x01\x02";
    }
    lines += '\n';
  } else {
    power_reports_.fetch_add(1, std::memory_order_relaxed);
    lines += line;
    const auto wall = std::chrono::system_clock::now();
    std::lock_guard lock(last_mutex_);
    auto& last = last_[node];
    last.valid = true;
    last.report = *report;
    last.timestamp = rfc3339_micros(report->at, s.context.zone);
    last.emitted_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  }
  if (options_.faults.bus_reassign > 0 && draw(0x4EA) < options_.faults.bus_reassign) {
    // The node id moves to another optimizer of the same gateway (the two swap ids); clients
    // learn it from the next infrastructure report.
    std::vector<std::size_t> peers;
    for (std::size_t p = 0; p < s.bus.gateway_of.size(); ++p)
      if (p != n.panel && static_cast<std::size_t>(s.bus.gateway_of[p]) == g) peers.push_back(p);
    if (!peers.empty()) {
      const auto other =
          peers[static_cast<std::size_t>(draw(0x4EB) * static_cast<double>(peers.size())) %
                peers.size()];
      std::swap(s.bus.node_of[n.panel], s.bus.node_of[other]);
      infra_.clear();
      reassigned_.fetch_add(1, std::memory_order_relaxed);
      if (stats_) stats_->fault("bus_reassign");
    }
  }
}

void Bus::queue_line(std::string_view lines) {
  // bus_drop: per line and client.
  std::size_t count = static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
  for (auto& c : clients_) {
    if (c.fd < 0) continue;
    if (options_.faults.bus_drop > 0) {
      bool drop = false;
      for (std::size_t i = 0; i < count && !drop; ++i)
        drop = draw(0xD20) < options_.faults.bus_drop;
      if (drop) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        if (stats_) stats_->fault("bus_drop");
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
    }
    if (c.queue.size() - c.sent + lines.size() > client_buffer_) {
      // Too slow to take the stream: dropped, never waited for.
      slow_dropped_.fetch_add(1, std::memory_order_relaxed);
      util::log::warn("bus client too slow, dropped",
                      {{"queued_bytes", std::to_string(c.queue.size() - c.sent)}});
      ::close(c.fd);
      c.fd = -1;
      continue;
    }
    if (c.sent > 0 && c.sent * 2 >= c.queue.size()) {
      c.queue.erase(0, c.sent);
      c.sent = 0;
    }
    c.queue.append(lines);
  }
}

void Bus::flush(Client& c) {
  if (c.fd < 0) return;
  while (c.sent < c.queue.size()) {
    const auto n =
        ::send(c.fd, c.queue.data() + c.sent, c.queue.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    ::close(c.fd);  // the peer is gone
    c.fd = -1;
    return;
  }
  if (c.sent == c.queue.size()) {
    c.queue.clear();
    c.sent = 0;
  }
  const bool want = c.sent < c.queue.size();
  if (want != c.want_write) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = static_cast<std::uint64_t>(c.fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_write = want;
  }
}

void Bus::close_client(std::size_t i) {
  if (clients_[i].fd >= 0) ::close(clients_[i].fd);  // closing also leaves the epoll set
  clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
  client_count_ = clients_.size();
}

void Bus::accept_clients() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: all taken; EMFILE and the like: the next round tries again
    }
    connections_.fetch_add(1, std::memory_order_relaxed);
    if (clients_.size() >= options_.max_clients) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);
      continue;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options_.socket_buffer, sizeof options_.socket_buffer);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<std::uint64_t>(fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    Client c;
    c.fd = fd;
    // A client learns the nodes first, as taptap prints its persistent state at start.
    c.queue = infrastructure();
    lines_.fetch_add(1, std::memory_order_relaxed);
    infra_reports_.fetch_add(1, std::memory_order_relaxed);
    clients_.push_back(std::move(c));
    client_count_ = clients_.size();
    flush(clients_.back());
  }
}

std::optional<std::string> Bus::last_json(std::int64_t system_id) const {
  const auto it = std::find_if(systems_.begin(), systems_.end(), [&](const SystemState& s) {
    return s.context.spec.system_id == system_id;
  });
  if (it == systems_.end()) return std::nullopt;
  const auto system = static_cast<std::uint32_t>(it - systems_.begin());
  const auto& c = it->context;
  std::string out = "{\"system_id\":";
  json::append_int(out, system_id);
  out += ",\"time\":";
  json::append_string(out, util::format_iso8601_utc(clock_.now()));
  out += ",\"panels\":[";
  bool first = true;
  std::lock_guard lock(last_mutex_);
  for (std::size_t node = 0; node < nodes_.size(); ++node) {
    if (nodes_[node].system != system || !last_[node].valid) continue;
    const auto& l = last_[node];
    const auto& pn = c.topo.panels[nodes_[node].panel];
    const auto address = tigo_address(0x40, pn.address);
    if (!first) out += ',';
    first = false;
    bool f = true;
    out += '{';
    json::append_key(out, "object_id", f);
    json::append_int(out, pn.object_id);
    json::append_key(out, "label", f);
    json::append_string(out, pn.label);
    json::append_key(out, "serial", f);
    json::append_string(out, pn.serial);
    json::append_key(out, "address", f);
    json::append_string(out, address_text(address));
    json::append_key(out, "barcode", f);
    json::append_string(out, barcode(address));
    json::append_key(out, "gateway", f);
    json::append_int(out, l.report.gateway);
    json::append_key(out, "node", f);
    json::append_int(out, l.report.node);
    json::append_key(out, "timestamp", f);
    json::append_string(out, l.timestamp);
    json::append_key(out, "voltage_in", f);
    append_float(out, l.report.voltage_in_v());
    json::append_key(out, "current", f);
    append_float(out, l.report.current_a());
    json::append_key(out, "power", f);
    append_float(out, l.report.voltage_in_v() * l.report.current_a());
    json::append_key(out, "voltage_out", f);
    append_float(out, l.report.voltage_out / 10.0);
    json::append_key(out, "temperature", f);
    append_float(out, l.report.temperature / 10.0);
    json::append_key(out, "rssi", f);
    json::append_int(out, l.report.rssi);
    json::append_key(out, "emitted_ms", f);
    json::append_int(out, l.emitted_ms);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string Bus::overview_json() const {
  std::string out = "{";
  bool f = true;
  const auto num = [&](std::string_view key, std::uint64_t v) {
    json::append_key(out, key, f);
    json::append_int(out, static_cast<std::int64_t>(v));
  };
  json::append_key(out, "listen", f);
  json::append_string(out, address());
  json::append_key(out, "format", f);
  json::append_string(out, bus_format_name(options_.format));
  num("interval_ms", static_cast<std::uint64_t>(options_.interval.count()));
  num("infra_every_ms", static_cast<std::uint64_t>(options_.infra_every.count()));
  json::append_key(out, "systems", f);
  out += '[';
  std::size_t gateways = 0;
  for (std::size_t i = 0; i < systems_.size(); ++i) {
    if (i) out += ',';
    json::append_int(out, systems_[i].context.spec.system_id);
    gateways += systems_[i].bus.gateways.size();
  }
  out += ']';
  num("gateways", gateways);
  num("nodes", nodes_.size());
  num("clients", client_count_.load());
  num("connections", connections_.load());
  num("lines", lines_.load());
  num("power_reports", power_reports_.load());
  num("infrastructure_reports", infra_reports_.load());
  num("garbage_lines", garbage_.load());
  num("clients_dropped", dropped_.load());
  num("slow_clients_dropped", slow_dropped_.load());
  num("clients_refused", refused_.load());
  num("reassignments", reassigned_.load());
  out += '}';
  return out;
}

}  // namespace sim
