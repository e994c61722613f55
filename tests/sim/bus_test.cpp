// The Tigo bus stream (--bus-listen): taptap's line formats, barcodes, the schedule, readings that
// agree with the cloud's minutes, the infrastructure report, faults and slow clients, and the
// ground truth at /sim/bus/last. Real TCP and HTTP on 127.0.0.1.
#include "sim/bus.hpp"

#include <arpa/inet.h>
#include <date/tz.h>
#include <netinet/in.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sim/serials.hpp"
#include "sim_fixture.hpp"

using namespace simtest;

namespace {

sim::LongAddress address(std::uint8_t a, std::uint8_t b, std::uint8_t c) {
  return {0x04, 0xC0, 0x5B, 0x40, 0x00, a, b, c};
}

// A client of the bus: connects to 127.0.0.1:port and reads whole lines.
class BusClient {
 public:
  explicit BusClient(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    if (receive_buffer > 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~BusClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  BusClient(const BusClient&) = delete;
  BusClient& operator=(const BusClient&) = delete;

  // Reads until `count` lines came, the server closed, or `limit` passed.
  std::vector<std::string> lines(std::size_t count, milliseconds limit = milliseconds{10'000}) {
    const auto until = steady_clock::now() + limit;
    while (out_.size() < count && !closed_ && steady_clock::now() < until) read_some(until);
    std::vector<std::string> taken;
    const auto n = std::min(count, out_.size());
    taken.assign(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(n));
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(n));
    return taken;
  }
  bool closed() const { return closed_; }
  // Reads until the server closes (true) or `limit` passes (false).
  bool wait_closed(milliseconds limit) {
    const auto until = steady_clock::now() + limit;
    while (!closed_ && steady_clock::now() < until) read_some(until);
    return closed_;
  }

 private:
  void read_some(steady_clock::time_point until) {
    pollfd p{fd_, POLLIN, 0};
    const auto left = duration_cast<milliseconds>(until - steady_clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 0))) <= 0) return;
    char buf[65536];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return;
    }
    partial_.append(buf, static_cast<std::size_t>(n));
    for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n')) {
      out_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
  }
  int fd_ = -1;
  std::string partial_;
  std::vector<std::string> out_;
  bool closed_ = false;
};

// An in-process simulator (HTTP) with a bus beside it on the same fleet and clock.
struct BusSim {
  RunningSim sim;
  sim::Bus bus;
  int port = 0;
  BusSim(sim::BusOptions options, sys_seconds at, int systems = 3, int panels = 24)
      : sim(plain(), systems, at, panels),
        bus(sim.fleet, sim.clock, with_port0(std::move(options)), &sim.server.stats()) {
    auto bound = bus.bind();
    REQUIRE(bound.ok());
    port = *bound;
    sim.server.attach_bus(&bus);
    bus.start();
  }
  // The server's threads answer /sim/bus from the bus: they end before the bus (a member declared
  // after the server) is destroyed, as tigo_sim's main stops its server first.
  ~BusSim() { sim.server.stop(); }
  static sim::BusOptions with_port0(sim::BusOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  std::string get(const std::string& path) {
    auto res = sim.client->Get(path);
    REQUIRE(res);
    INFO(path << " -> " << res->body.substr(0, 300));
    REQUIRE(res->status == 200);
    return res->body;
  }
  std::int64_t overview(const char* key) {
    simdjson::dom::parser p;
    return p.parse(get("/sim/bus"))[key].get_int64().value();
  }
};

// The first system in daylight at `at` (irradiance well above wake-up); with `uploading`, one
// whose gateway still uploads to the cloud (a stalled one keeps talking on the bus only).
std::int64_t sunny_system(const sim::Fleet& fleet, sys_seconds at, bool uploading = false) {
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto c = sim::make_context(fleet, fleet.system(i));
    if (uploading && c.fault.kind == sim::FaultKind::GatewayStall && c.fault.active(at)) continue;
    if (sim::plane_irradiance_w_m2(fleet.system(i), at) > 200) return fleet.system(i).system_id;
  }
  FAIL("no system in daylight");
  return 0;
}

std::string text(simdjson::dom::element e) { return std::string(std::string_view(e)); }

bool multiple_of(double v, double step) {
  const double n = v / step;
  return std::abs(n - std::round(n)) < 1e-6;
}

}  // namespace

TEST_CASE("barcodes: taptap's check letters, leading zeros dropped, serial forms", "[sim][bus]") {
  // The examples of taptap's src/barcode.rs.
  CHECK(sim::barcode(address(0x9A, 0x57, 0xA2)) == "4-9A57A2L");
  CHECK(sim::barcode_check(address(0x79, 0xAC, 0x16)) == 'V');
  CHECK(sim::barcode_check(address(0x79, 0xAB, 0x99)) == 'W');
  CHECK(sim::address_text(address(0x9A, 0x57, 0xA2)) == "04:C0:5B:40:00:9A:57:A2");
  // Leading zero nibbles after the dash are not printed; the check letter still covers them.
  const auto small = sim::barcode(address(0x00, 0x57, 0xA2));
  CHECK(small.substr(0, 6) == "4-57A2");
  CHECK(small.size() == 7);
  CHECK(std::string("GHJKLMNPRSTVWXYZ").find(small.back()) != std::string::npos);
  // Not a Tigo address: no barcode, the address itself.
  CHECK(sim::barcode({1, 2, 3, 4, 5, 6, 7, 8}) == "01:02:03:04:05:06:07:08");

  CHECK(sim::panel_serial(0x9A57A2, sim::SerialFormat::Mac) == "04C05B9A57A2");
  CHECK(sim::panel_serial(0x9A57A2, sim::SerialFormat::Address) == "04:C0:5B:40:00:9A:57:A2");
  CHECK(sim::panel_serial(0x9A57A2, sim::SerialFormat::Barcode) == "4-9A57A2L");
  CHECK(sim::panel_serial(0x00A1B2, sim::SerialFormat::Mac) == "04C05B00A1B2");
  CHECK(sim::parse_serial_format("barcode") == sim::SerialFormat::Barcode);
  CHECK_FALSE(sim::parse_serial_format("qr").has_value());
}

TEST_CASE("serial forms (--serial-format): the layout prints each form of the same panels",
          "[sim][bus]") {
  const auto at = at_utc(2026, 6, 21, 18);
  std::map<std::string, std::vector<std::string>> serials;
  for (const auto format :
       {sim::SerialFormat::Mac, sim::SerialFormat::Address, sim::SerialFormat::Barcode}) {
    sim::FleetOptions fo{1, 2, 24, {}};
    fo.serial_format = format;
    const sim::Fleet fleet(fo);
    sim::Clock clock(at, 0.0);
    sim::Server server(fleet, clock, RunningSim::with_port0(plain()));
    REQUIRE(server.bind().ok());
    server.start();
    const auto url = server.base_url();
    httplib::Client client(url.substr(0, url.find("/api/v3/")));
    auto login =
        client.Get("/api/v3/users/login",
                   httplib::Headers{httplib::make_basic_authentication_header("demo", "demo")});
    REQUIRE(login);
    simdjson::dom::parser p;
    const std::string token = text(p.parse(login->body)["user"]["auth"]);
    auto layout = client.Get("/api/v3/systems/layout?id=1001",
                             httplib::Headers{{"Authorization", "Bearer " + token}});
    REQUIRE(layout);
    REQUIRE(layout->status == 200);
    auto& list = serials[std::to_string(static_cast<int>(format))];
    for (const auto& panel : layout_panels(layout->body)) list.push_back(panel.serial);
    server.stop();
  }
  const auto& mac = serials["0"];
  const auto& addr = serials["1"];
  const auto& code = serials["2"];
  REQUIRE(mac.size() == 24);
  REQUIRE(addr.size() == mac.size());
  REQUIRE(code.size() == mac.size());
  const std::regex mac_form("04C05B[0-9A-F]{6}");
  const std::regex code_form("4-[1-9A-F][0-9A-F]{0,5}[GHJKLMNPRSTVWXYZ]");
  for (std::size_t i = 0; i < mac.size(); ++i) {
    INFO(mac[i] << " " << addr[i] << " " << code[i]);
    CHECK(std::regex_match(mac[i], mac_form));
    const auto hex = mac[i].substr(6);
    CHECK(addr[i] ==
          "04:C0:5B:40:00:" + hex.substr(0, 2) + ":" + hex.substr(2, 2) + ":" + hex.substr(4, 2));
    CHECK(std::regex_match(code[i], code_form));
    const auto digits = hex.substr(std::min(hex.find_first_not_of('0'), hex.size()));
    CHECK(code[i].substr(2, code[i].size() - 3) == digits);
  }
}

TEST_CASE("power report lines: taptap's old and new formats, quantised as the hardware",
          "[sim][bus]") {
  // taptap's README line, from the raw integers of the radio frame.
  sim::PowerReport r;
  r.gateway = 4609;
  r.node = 116;
  r.at =
      sys_days{year{2024} / 8 / 24} + hours{14} + minutes{16} + seconds{41} + microseconds{686961};
  r.voltage_in = 612;
  r.voltage_out = 302;
  r.current = 1388;
  r.duty_cycle = 255;
  r.temperature = 268;
  r.rssi = 132;
  const auto* chicago = date::locate_zone("America/Chicago");
  CHECK(
      sim::power_report_line(r, chicago, true) ==
      R"({"gateway":{"id":4609},"node":{"id":116},"timestamp":"2024-08-24T09:16:41.686961-05:00",)"
      R"("voltage_in":30.6,"voltage_out":30.2,"current":6.94,"dc_dc_duty_cycle":1.0,)"
      R"("temperature":26.8,"rssi":132})"
      "\n");
  r.temperature = -1;
  r.duty_cycle = 128;
  CHECK(sim::power_report_line(r, date::locate_zone("Asia/Kathmandu"), false) ==
        R"({"event_type":"power_report","gateway":4609,"node":116,)"
        R"("timestamp":"2024-08-24T20:01:41.686961+05:45","voltage_in":30.6,"voltage_out":30.2,)"
        R"("current":6.94,"dc_dc_duty_cycle":0.5019607843137255,"temperature":-0.1,"rssi":132})"
        "\n");

  // From an operating point: 0.05 V, 0.005 A and 0.1 C steps; a shaded panel bucks.
  sim::PanelPoint p;
  p.present = true;
  p.vin_v = 30.63;
  p.iin_a = 6.9437;
  p.temp_c = -3.26;
  p.rssi = 300;
  const auto full = sim::power_report(p, 500, 1.0);
  REQUIRE(full);
  CHECK(full->voltage_in == 613);
  CHECK(full->current == 1389);
  CHECK(full->duty_cycle == 255);
  CHECK(full->voltage_out == 303);  // 30.65 V x 0.987
  CHECK(full->temperature == -33);
  CHECK(full->rssi == 255);
  const auto shaded = sim::power_report(p, 500, 0.3);
  REQUIRE(shaded);
  CHECK(shaded->duty_cycle == 77);
  CHECK(shaded->voltage_out < 100);
  // Asleep: no light to wake the optimizer, or no reading at all.
  CHECK_FALSE(sim::power_report(p, 0.5, 1.0));
  p.present = false;
  CHECK_FALSE(sim::power_report(p, 500, 1.0));

  std::string s;
  sim::append_float(s, 25.0);
  s += ' ';
  sim::append_float(s, 6.945);
  s += ' ';
  sim::append_float(s, -0.1);
  CHECK(s == "25.0 6.945 -0.1");
}

TEST_CASE("bus schedule: each node about every interval, with jitter and rare silences",
          "[sim][bus]") {
  using Offset = sim::BusSchedule::Offset;
  const auto run = [](int silence_one_in, std::int64_t hours_run) {
    sim::BusSchedule schedule(50, milliseconds{20'000}, 7, silence_one_in);
    std::vector<std::vector<Offset>> at(50);
    while (schedule.next_at() < Offset{hours_run * 3'600'000'000LL}) {
      const auto when = schedule.next_at();
      at[schedule.pop()].push_back(when);
    }
    return at;
  };
  // Without silences: 180 reports an hour, gaps within +-15 % of 20 s.
  const auto steady = run(0, 1);
  for (const auto& node : steady) {
    CHECK(node.size() >= 170);
    CHECK(node.size() <= 190);
    CHECK(node.front() < Offset{20'000'000});  // phases spread over the first interval
    for (std::size_t i = 1; i < node.size(); ++i) {
      CHECK(node[i] - node[i - 1] >= Offset{17'000'000});
      CHECK(node[i] - node[i - 1] <= Offset{23'000'000});
    }
  }
  // With silences (about one report in 300): 2 to 5 minutes without a report now and then.
  const auto quiet = run(300, 10);
  std::size_t silences = 0, gaps = 0;
  for (const auto& node : quiet) {
    for (std::size_t i = 1; i < node.size(); ++i) {
      const auto gap = node[i] - node[i - 1];
      ++gaps;
      if (gap <= Offset{23'000'000}) continue;
      ++silences;
      CHECK(gap >= Offset{137'000'000});
      CHECK(gap <= Offset{323'000'000});
    }
  }
  CHECK(silences > gaps / 600);
  CHECK(silences < gaps / 150);
  // Deterministic: the same seed gives the same schedule.
  CHECK(run(300, 1) == run(300, 1));
}

TEST_CASE("bus stream: an infrastructure report, then power reports that parse, over TCP",
          "[sim][bus]") {
  const auto at = at_utc(2026, 6, 21, 18);
  sim::BusOptions o;
  o.interval = milliseconds{100};
  BusSim b(o, at);
  BusClient client(b.port);
  const auto lines = client.lines(80);
  REQUIRE(lines.size() == 80);
  simdjson::dom::parser p;
  const auto infra = p.parse(lines[0]);
  CHECK(std::string_view(infra["event_type"]) == "infrastructure_report");
  std::map<std::pair<std::int64_t, std::int64_t>, std::string> barcodes;  // (gateway, node)
  for (auto [gateway, g] : infra["gateways"].get_object()) {
    CHECK(std::regex_match(text(g["address"]), std::regex("04:C0:5B:30(:[0-9A-F]{2}){4}")));
    CHECK(!std::string_view(g["version"]).empty());
    (void)gateway;
  }
  for (auto [gateway, nodes] : infra["nodes"].get_object())
    for (auto [node, n] : nodes.get_object()) {
      const std::string addr = text(n["address"]);
      const std::string code = text(n["barcode"]);
      REQUIRE(std::regex_match(addr, std::regex("04:C0:5B:40:00(:[0-9A-F]{2}){3}")));
      sim::LongAddress a{};
      for (std::size_t i = 0; i < 8; ++i)
        a[i] = static_cast<std::uint8_t>(std::stoi(addr.substr(i * 3, 2), nullptr, 16));
      CHECK(code == sim::barcode(a));
      barcodes[{std::stoll(std::string(gateway)), std::stoll(std::string(node))}] = code;
    }
  CHECK(barcodes.size() == 72);  // 3 systems x 24 panels, one gateway each

  const std::regex stamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d)");
  std::set<std::int64_t> gateways;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    INFO(lines[i]);
    simdjson::dom::element e;
    REQUIRE(p.parse(lines[i]).get(e) == simdjson::SUCCESS);
    CHECK(std::string_view(e["event_type"]) == "power_report");
    const auto gateway = e["gateway"].get_int64().value();
    const auto node = e["node"].get_int64().value();
    CHECK(barcodes.count({gateway, node}) == 1);
    gateways.insert(gateway);
    CHECK(std::regex_match(text(e["timestamp"]), stamp));
    CHECK(multiple_of(e["voltage_in"].get_double(), 0.05));
    CHECK(multiple_of(e["voltage_out"].get_double(), 0.1));
    CHECK(multiple_of(e["current"].get_double(), 0.005));
    CHECK(multiple_of(e["dc_dc_duty_cycle"].get_double() * 255, 1));
    CHECK(multiple_of(e["temperature"].get_double(), 0.1));
    const auto rssi = e["rssi"].get_int64().value();
    CHECK(rssi >= 0);
    CHECK(rssi <= 255);
    CHECK(e["voltage_in"].get_double().value() > 20);
    CHECK(e["current"].get_double().value() > 0.5);
  }
  // Only the system in daylight speaks (the others are at night).
  CHECK(gateways.size() == 1);
}

TEST_CASE("bus readings agree with the cloud's minute within their rounding", "[sim][bus]") {
  const auto at = at_utc(2026, 6, 21, 18, 7);
  sim::BusOptions o;
  o.interval = milliseconds{100};
  BusSim b(o, at, 4);
  const auto system = sunny_system(b.sim.fleet, at, true);
  BusClient client(b.port);
  // Every node has reported at least once by then (4 intervals and more).
  auto lines = client.lines(200);
  REQUIRE(lines.size() == 200);
  simdjson::dom::parser p;
  // (gateway, node) -> serial's last 6 hex digits, from the infrastructure report.
  std::map<std::pair<std::int64_t, std::int64_t>, std::string> hex_of;
  for (auto [gateway, nodes] : p.parse(lines[0])["nodes"].get_object())
    for (auto [node, n] : nodes.get_object()) {
      std::string addr = text(n["address"]);
      addr.erase(std::remove(addr.begin(), addr.end(), ':'), addr.end());
      hex_of[{std::stoll(std::string(gateway)), std::stoll(std::string(node))}] = addr.substr(10);
    }
  std::map<std::string, std::pair<double, double>> bus;  // serial -> (voltage_in, current)
  for (std::size_t i = 1; i < lines.size(); ++i) {
    simdjson::dom::parser lp;
    const auto e = lp.parse(lines[i]);
    const auto key = std::pair{e["gateway"].get_int64().value(), e["node"].get_int64().value()};
    bus["04C05B" + hex_of.at(key)] = {e["voltage_in"].get_double(), e["current"].get_double()};
  }

  // The cloud has the minute once its batch is uploaded: look an hour later.
  std::map<std::int64_t, std::string> serial_of;  // object id -> serial
  for (const auto& panel : layout_panels(b.sim.ok("systems/layout?id=" + std::to_string(system))))
    serial_of[panel.object_id] = panel.serial;
  b.sim.clock.set(at + hours{1});
  const auto zone = date::locate_zone(b.sim.fleet.system(*b.sim.fleet.index_of(system)).timezone);
  const auto window =
      "&start=" + site(zone, at) + "&end=" + site(zone, at + minutes{1}) + "&level=min&header=id";
  std::map<std::string, Csv> cloud;
  for (const char* param : {"Vin", "Iin"}) {
    cloud[param] = parse_csv(b.sim.ok("data/aggregate?system_id=" + std::to_string(system) +
                                      "&param=" + param + window));
    REQUIRE(!cloud[param].rows.empty());
  }
  const auto& vin = cloud["Vin"];
  const auto& iin = cloud["Iin"];
  REQUIRE(vin.rows[0][0].find(date::format("%H:%M", zone->to_local(at))) != std::string::npos);
  int compared = 0;
  for (std::size_t col = 1; col < vin.header.size(); ++col) {
    const auto serial = serial_of.find(std::stoll(vin.header[col]));
    if (serial == serial_of.end()) continue;  // the gateway's own column
    const auto& [bus_v, bus_i] = bus.at(serial->second);
    const double cloud_v = std::stod(vin.rows[0][col]);
    const double cloud_i = std::stod(iin.rows[0][col]);
    INFO(serial->second << " bus " << bus_v << " V " << bus_i << " A, cloud " << cloud_v << " V "
                        << cloud_i << " A");
    // Both round the same operating point: the cloud to 0.1 V and 0.01 A, the bus to 0.05 V
    // and 0.005 A.
    CHECK(std::abs(bus_v - cloud_v) <= 0.05 + 0.025 + 1e-9);
    CHECK(std::abs(bus_i - cloud_i) <= 0.005 + 0.0025 + 1e-9);
    ++compared;
  }
  CHECK(compared == 24);
}

TEST_CASE("bus: nothing at night, the infrastructure report still", "[sim][bus]") {
  // Local midnight at every system of the fleet is not at one instant: take one system alone.
  const auto at = at_utc(2026, 6, 21, 18);
  const sim::Fleet probe({1, 3, 24, {}});
  std::int64_t dark = 0;
  for (std::size_t i = 0; i < probe.size(); ++i)
    if (sim::plane_irradiance_w_m2(probe.system(i), at) <= 0) dark = probe.system(i).system_id;
  REQUIRE(dark != 0);
  sim::BusOptions o;
  o.interval = milliseconds{100};
  o.systems = {dark};
  BusSim b(o, at);
  BusClient client(b.port);
  const auto lines = client.lines(5, milliseconds{1500});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"infrastructure_report\"") != std::string::npos);
  CHECK(b.overview("power_reports") == 0);
}

TEST_CASE("bus formats: old objects without event_type, mixed lines of both", "[sim][bus]") {
  const auto at = at_utc(2026, 6, 21, 18);
  for (const auto format : {sim::BusFormat::Old, sim::BusFormat::Mixed}) {
    sim::BusOptions o;
    o.interval = milliseconds{100};
    o.format = format;
    BusSim b(o, at);
    BusClient client(b.port);
    const auto lines = client.lines(61);
    REQUIRE(lines.size() == 61);
    int old_lines = 0, new_lines = 0;
    simdjson::dom::parser p;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      INFO(lines[i]);
      const auto e = p.parse(lines[i]);
      if (e["event_type"].error() == simdjson::NO_SUCH_FIELD) {
        ++old_lines;
        CHECK(e["gateway"]["id"].get_int64().value() >= sim::kFirstGatewayId);
        CHECK(e["node"]["id"].get_int64().value() >= 2);
      } else {
        ++new_lines;
        CHECK(std::string_view(e["event_type"]) == "power_report");
        CHECK(e["gateway"].get_int64().value() >= sim::kFirstGatewayId);
      }
    }
    if (format == sim::BusFormat::Old) {
      CHECK(old_lines == 60);
    } else {
      CHECK(old_lines > 10);
      CHECK(new_lines > 10);
    }
  }
}

TEST_CASE("bus fault options: parsed with the API's, not faults of its answers", "[sim][bus]") {
  const auto f = sim::parse_faults("bus_garbage=0.1,bus_drop=0.2,bus_reassign=0.3");
  REQUIRE(f.ok());
  CHECK(f->bus_garbage == 0.1);
  CHECK(f->bus_drop == 0.2);
  CHECK(f->bus_reassign == 0.3);
  CHECK_FALSE(f->any());
  CHECK_FALSE(sim::parse_faults("bus_drop=1.5").ok());
  CHECK(sim::parse_bus_format("mixed") == sim::BusFormat::Mixed);
  CHECK_FALSE(sim::parse_bus_format("json").has_value());
}

TEST_CASE("bus faults: garbage lines, dropped connections, reassigned node ids", "[sim][bus]") {
  const auto at = at_utc(2026, 6, 21, 18);
  const auto stat = [](BusSim& b, const char* kind) {
    simdjson::dom::parser p;
    return p.parse(b.get("/sim/stats"))["faults"][kind].get_int64().value();
  };

  SECTION("bus_garbage: every line broken, and counted") {
    sim::BusOptions o;
    o.interval = milliseconds{100};
    o.faults = sim::parse_faults("bus_garbage=1").value();
    BusSim b(o, at);
    BusClient client(b.port);
    const auto lines = client.lines(31);
    REQUIRE(lines.size() == 31);
    simdjson::dom::parser p;
    CHECK(p.parse(lines[0]).error() == simdjson::SUCCESS);  // on connect: whole
    for (std::size_t i = 1; i < lines.size(); ++i) {
      INFO(lines[i]);
      simdjson::dom::element e;
      CHECK(p.parse(lines[i]).get(e) != simdjson::SUCCESS);
    }
    CHECK(stat(b, "bus_garbage") >= 30);
    CHECK(b.overview("garbage_lines") >= 30);
    CHECK(b.overview("power_reports") == 0);
  }
  SECTION("bus_drop: the connection closes, counted; a new one is served") {
    sim::BusOptions o;
    o.interval = milliseconds{100};
    o.faults = sim::parse_faults("bus_drop=1").value();
    BusSim b(o, at);
    BusClient client(b.port);
    CHECK(client.wait_closed(milliseconds{10'000}));
    CHECK(stat(b, "bus_drop") >= 1);
    BusClient again(b.port);
    const auto lines = again.lines(1);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("\"infrastructure_report\"") != std::string::npos);
  }
  SECTION("bus_reassign: node ids move between optimizers, the next infra report says so") {
    sim::BusOptions o;
    o.interval = milliseconds{100};
    o.infra_every = milliseconds{500};
    o.faults = sim::parse_faults("bus_reassign=1").value();
    BusSim b(o, at);
    BusClient client(b.port);
    std::vector<std::string> infra;
    for (int i = 0; i < 2000 && infra.size() < 2; ++i) {
      const auto line = client.lines(1);
      REQUIRE(line.size() == 1);
      if (line[0].find("infrastructure_report") != std::string::npos) infra.push_back(line[0]);
    }
    REQUIRE(infra.size() == 2);
    // node key -> address in each report: the same keys, some addresses moved.
    std::vector<std::map<std::string, std::string>> maps(2);
    for (std::size_t k = 0; k < 2; ++k) {
      simdjson::dom::parser p;
      for (auto [gateway, nodes] : p.parse(infra[k])["nodes"].get_object())
        for (auto [node, n] : nodes.get_object())
          maps[k][std::string(gateway) + "/" + std::string(node)] = text(n["address"]);
    }
    REQUIRE(maps[0].size() == maps[1].size());
    int moved = 0;
    std::set<std::string> before, after;
    for (const auto& [key, addr] : maps[0]) {
      REQUIRE(maps[1].count(key) == 1);
      moved += maps[1].at(key) != addr;
      before.insert(addr);
      after.insert(maps[1].at(key));
    }
    CHECK(moved > 0);
    CHECK(before == after);  // the same optimizers, only their ids changed
    CHECK(stat(b, "bus_reassign") > 0);
    CHECK(b.overview("reassignments") > 0);
  }
}

TEST_CASE("bus: a client that does not read is dropped, the others keep the stream", "[sim][bus]") {
  const auto at = at_utc(2026, 6, 21, 18);
  sim::BusOptions o;
  o.interval = milliseconds{100};
  o.infra_every = milliseconds{100};
  o.client_buffer = 512 << 10;
  o.socket_buffer = 4096;
  BusSim b(o, at, 10);
  BusClient stuck(b.port, 4096);
  BusClient reader(b.port);
  const auto until = steady_clock::now() + seconds{30};
  std::size_t read = 0;
  while (b.overview("slow_clients_dropped") == 0 && steady_clock::now() < until)
    read += reader.lines(50, milliseconds{200}).size();
  CHECK(b.overview("slow_clients_dropped") == 1);
  CHECK(b.overview("clients") == 1);
  const auto more = reader.lines(20);
  CHECK(more.size() == 20);
  CHECK(read + more.size() > 20);
}

TEST_CASE("/sim/bus/last: the newest report emitted per panel, as the stream sent it",
          "[sim][bus]") {
  const auto at = at_utc(2026, 6, 21, 18);
  sim::BusOptions o;
  o.interval = milliseconds{100};
  BusSim b(o, at);
  const auto system = sunny_system(b.sim.fleet, at);
  BusClient client(b.port);
  const auto lines = client.lines(100);
  REQUIRE(lines.size() == 100);
  // The stream stops changing only if the clock stands still: it does, so every report of a
  // node carries the same values; compare the stream with the ground truth.
  std::map<std::pair<std::int64_t, std::int64_t>, std::pair<double, double>> sent;
  simdjson::dom::parser p;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto e = p.parse(lines[i]);
    sent[{e["gateway"].get_int64().value(), e["node"].get_int64().value()}] = {
        e["voltage_in"].get_double(), e["current"].get_double()};
  }
  const auto body = b.get("/sim/bus/last?system=" + std::to_string(system));
  const auto doc = p.parse(body);
  CHECK(doc["system_id"].get_int64().value() == system);
  std::set<std::int64_t> objects;
  const auto wall_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  for (auto panel : doc["panels"].get_array()) {
    const auto key =
        std::pair{panel["gateway"].get_int64().value(), panel["node"].get_int64().value()};
    INFO(simdjson::to_string(panel));
    REQUIRE(sent.count(key) == 1);
    const double v = panel["voltage_in"].get_double();
    const double i = panel["current"].get_double();
    CHECK(v == sent[key].first);
    CHECK(i == sent[key].second);
    CHECK(panel["power"].get_double().value() == v * i);
    const std::string serial = text(panel["serial"]);
    const std::string addr = text(panel["address"]);
    CHECK(serial.substr(6) == addr.substr(15, 2) + addr.substr(18, 2) + addr.substr(21, 2));
    CHECK(std::string_view(panel["barcode"]).substr(0, 2) == "4-");
    const auto emitted = panel["emitted_ms"].get_int64().value();
    CHECK(emitted <= wall_ms);
    CHECK(emitted > wall_ms - 60'000);
    objects.insert(panel["object_id"].get_int64().value());
  }
  CHECK(objects.size() == 24);

  auto night = b.sim.client->Get("/sim/bus/last?system=99");
  REQUIRE(night);
  CHECK(night->status == 404);
  auto bad = b.sim.client->Get("/sim/bus/last?system=x");
  REQUIRE(bad);
  CHECK(bad->status == 400);
}

TEST_CASE("/sim/bus answers 404 when the bus is off", "[sim][bus]") {
  RunningSim sim(plain());
  for (const char* path : {"/sim/bus", "/sim/bus/last?system=1001"}) {
    auto res = sim.client->Get(path);
    REQUIRE(res);
    CHECK(res->status == 404);
  }
}
