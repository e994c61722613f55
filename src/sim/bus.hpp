// The Tigo bus of the simulated systems as `taptap observe` prints it: one JSON object per line
// over TCP (`tigo_sim --bus-listen`), to every client connected. Each panel's optimizer is a node
// behind one of its system's gateways; nodes report about every --bus-interval in daylight (with
// jitter, now and then silent for a few minutes), the readings the optimizer's operating point at
// that minute from the same model as the cloud's minute data, quantised as the hardware does
// (voltage_in 0.05 V, voltage_out 0.1 V, current 0.005 A, duty cycle n/255, temperature 0.1 C).
// An infrastructure report (gateway and node addresses, barcodes) goes to each client on connect
// and to all every --bus-infra-every. See docs/SIMULATOR.md, "The Tigo bus".
//
// One thread does everything: a schedule heap says which node reports next, lines go into each
// client's bounded queue and out through non-blocking sockets; a client that cannot keep up is
// dropped, never waited for.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sim/chaos.hpp"
#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "sim/serials.hpp"
#include "util/result.hpp"

namespace date {
class time_zone;
}

namespace sim {

// old: {"gateway":{"id":N},"node":{"id":N},...} as taptap printed before 2025; new:
// "event_type":"power_report" first and integer ids; mixed: either, line by line.
enum class BusFormat { Old, New, Mixed };
std::optional<BusFormat> parse_bus_format(std::string_view text);
const char* bus_format_name(BusFormat format);

struct BusOptions {
  std::string host = "127.0.0.1";
  int port = 0;                       // 0 picks a free port
  std::vector<std::int64_t> systems;  // on the bus; empty: the whole fleet
  std::chrono::milliseconds interval{20'000};
  std::chrono::milliseconds infra_every{600'000};
  BusFormat format = BusFormat::New;
  FaultOptions faults{};  // bus_garbage, bus_drop, bus_reassign
  // After about one report in this many a node falls silent for 2 to 5 minutes; 0: never.
  int silence_one_in = 300;
  std::size_t max_clients = 64;
  // Bytes queued for one client before it is dropped as too slow (at least two infra reports),
  // on top of its socket's send buffer (SO_SNDBUF, which the kernel doubles).
  std::size_t client_buffer = 4u << 20;
  int socket_buffer = 256 << 10;
};

// Most nodes one bus serves (a few KB of state each): larger fleets name --bus-systems.
inline constexpr std::size_t kMaxBusNodes = 250'000;

// Gateway link ids start here (taptap's README shows 4609) and are unique across the stream up to
// 28,159 gateways: system position x gateways per system + gateway, wrapped into 15 bits.
inline constexpr int kFirstGatewayId = 4609;

struct BusGateway {
  int id = 0;             // link-layer id, 1..32767
  LongAddress address{};  // 04:C0:5B:30:00:xx:xx:xx
  std::string version;
};

// A system's bus: its gateways (the cloud's gateway_count of them) and, per panel, the gateway it
// reports through (index into gateways) and its node id there (2.., unique per gateway; 1 is the
// gateway itself). Pure function of the fleet and system.
struct SystemBus {
  std::vector<BusGateway> gateways;
  std::vector<int> gateway_of;
  std::vector<int> node_of;
};
SystemBus system_bus(const SystemContext& c);

// One power report as the optimizer sends it: the raw integers of the radio frame.
struct PowerReport {
  int gateway = 0;
  int node = 0;
  std::chrono::system_clock::time_point at{};  // simulated time of the measurement
  int voltage_in = 0;                          // 1/20 V
  int voltage_out = 0;                         // 1/10 V
  int current = 0;                             // 1/200 A, input current
  int duty_cycle = 0;                          // n/255
  int temperature = 0;                         // 1/10 C, may be negative
  int rssi = 0;                                // 0..255
  double voltage_in_v() const { return voltage_in / 20.0; }
  double current_a() const { return current / 200.0; }
};

// The report of a panel at its operating point `p` (its light relative to its string's in
// [0, 1]: below 1 the optimizer bucks, PV-Off has 0); nullopt while its optimizer is asleep
// (no reading, or irradiance below pv::kWakeIrradianceWM2).
std::optional<PowerReport> power_report(const PanelPoint& p, double poa_w_m2,
                                        double relative_light);

// RFC 3339 with microseconds and the zone's offset at t: "2024-08-24T09:16:41.686961-05:00".
std::string rfc3339_micros(std::chrono::system_clock::time_point t, const date::time_zone* zone);
// A number as taptap's JSON prints a float: the shortest text that reads back the same, with
// ".0" on whole numbers ("30.65", "1.0", "-0.1").
void append_float(std::string& out, double v);

// One line each, newline included.
std::string power_report_line(const PowerReport& r, const date::time_zone* zone, bool old_format);
struct BusSystem {
  const SystemContext* context = nullptr;
  const SystemBus* bus = nullptr;
};
std::string infrastructure_line(const std::vector<BusSystem>& systems);

// When each node reports: every `interval` +-15 %, at a phase of its own, and after about one
// report in `silence_one_in` a silence of 2 to 5 minutes. Pure: times are offsets from the bus's
// start, draws a function of (seed, node, report number).
class BusSchedule {
 public:
  using Offset = std::chrono::microseconds;
  BusSchedule(std::size_t nodes, std::chrono::milliseconds interval, std::uint64_t seed,
              int silence_one_in);
  Offset next_at() const { return heap_.top().first; }
  // The node due first, rescheduled after this report.
  std::size_t pop();

 private:
  double draw(std::size_t node, std::uint64_t salt) const;
  using Entry = std::pair<Offset, std::size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::vector<std::uint32_t> reports_;
  Offset interval_;
  std::uint64_t seed_;
  int silence_one_in_;
};

class Bus {
 public:
  // Throws std::invalid_argument for a system outside the fleet or more than kMaxBusNodes nodes.
  Bus(const Fleet& fleet, const Clock& clock, BusOptions options, Stats* stats = nullptr);
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  util::Result<int> bind();  // listens; returns the port
  void start();              // bind() must have succeeded
  void stop();
  std::string address() const;  // host:port

  // GET /sim/bus/last?system=ID: the newest report emitted for each panel of the system (those
  // that have reported); nullopt when the system is not on the bus.
  std::optional<std::string> last_json(std::int64_t system_id) const;
  // GET /sim/bus: where it listens, what it serves and its counters.
  std::string overview_json() const;

 private:
  struct Client {
    int fd = -1;
    std::string queue;  // bytes not yet sent, from `sent` on
    std::size_t sent = 0;
    bool want_write = false;
  };
  struct Last {
    bool valid = false;
    PowerReport report;
    std::string timestamp;
    std::int64_t emitted_ms = 0;
  };
  struct Node {
    std::uint32_t system = 0;  // index into systems_
    std::uint32_t panel = 0;
  };
  struct SystemState {
    SystemContext context;
    SystemBus bus;
    std::int64_t minute = -1;  // the minute `points` hold (seconds since the epoch)
    double poa = 0;
    std::vector<PanelPoint> points;
  };

  void run();
  void accept_clients();
  void close_client(std::size_t i);
  void flush(Client& c);
  void queue_line(std::string_view line);
  void power_line(std::size_t node, std::string& lines);
  const std::string& infrastructure();
  double draw(std::uint64_t salt);

  const Fleet& fleet_;
  const Clock& clock_;
  PowerModel model_;
  BusOptions options_;
  Stats* stats_;
  std::vector<SystemState> systems_;
  std::vector<Node> nodes_;
  std::size_t client_buffer_ = 0;
  std::string infra_;  // the current infrastructure report; empty after a reassignment
  std::uint64_t draws_ = 0;

  int listen_fd_ = -1, wake_fd_ = -1, epoll_fd_ = -1, port_ = 0;
  std::vector<Client> clients_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex last_mutex_;  // guards last_
  std::vector<Last> last_;

  std::atomic<std::uint64_t> lines_{0}, power_reports_{0}, infra_reports_{0}, garbage_{0},
      dropped_{0}, slow_dropped_{0}, refused_{0}, reassigned_{0}, connections_{0};
  std::atomic<std::size_t> client_count_{0};
};

}  // namespace sim
