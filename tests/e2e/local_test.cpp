// The local path end to end: tigo_sim serving the cloud API and its bus (taptap's JSON lines over
// TCP), the exporter reading both. Every panel's power reaches /metrics within seconds of the
// simulator emitting its report, equal to that report's voltage_in x current, under the cloud's
// labels; the mapping file and the local-only path; a taptap command that exits, crashes, hangs
// or prints garbage never stops /metrics and is restarted.
//
// TIGO_E2E_LOCAL_SECONDS sets how long the latency is measured (30 s by default; the record in
// bench/RESULTS.md is of a 10-minute run).
#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "metrics/family_table.hpp"
#include "support/exposition.hpp"
#include "support/process.hpp"
#include "util/time.hpp"

using namespace std::chrono_literals;
using testing::Process;
using testing::Sample;
using testing::TempDir;

namespace {

// 14:00 UTC on the longest day: Athens (1001), New York (1007) and London (1009) in daylight.
constexpr const char* kSimTime = "2026-06-21T14:00:00Z";
const std::vector<std::string> kBusSystems = {"1001", "1007", "1009"};

std::string http_get(const std::string& address, const std::string& path) {
  httplib::Client c("http://" + address);
  c.set_read_timeout(10);
  auto r = c.Get(path);
  return r && r->status == 200 ? r->body : std::string{};
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Sim {
  std::unique_ptr<Process> process;
  std::string api, address, bus;
  Sim(const TempDir& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {TIGO_SIM_BIN,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--systems",
                                     "9",
                                     "--seed",
                                     "1",
                                     "--rate-limit",
                                     "100000",
                                     "--time",
                                     kSimTime,
                                     "--speed",
                                     "1",
                                     "--bus-listen",
                                     "127.0.0.1:0",
                                     "--bus-systems",
                                     "1001,1007,1009",
                                     "--bus-interval",
                                     "5s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(argv, dir.path() + "/sim.log");
    auto url = process->wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
    REQUIRE(url);
    api = *url;
    address = api.substr(7, api.find("/api/v3/") - 7);
    auto b = process->wait_for_log(std::regex("bus on tcp://(\\S+)"), 10s);
    REQUIRE(b);
    bus = *b;
  }
};

// One emitted report of the simulator's bus (GET /sim/bus/last).
struct Emitted {
  std::string system, label, barcode, timestamp;
  std::int64_t gateway = 0, node = 0;
  double power = 0;
  std::int64_t emitted_ms = 0;
};

std::vector<Emitted> bus_last(const std::string& sim, const std::string& system) {
  std::vector<Emitted> out;
  const auto body = http_get(sim, "/sim/bus/last?system=" + system);
  simdjson::dom::parser parser;
  simdjson::dom::array panels;
  if (parser.parse(body)["panels"].get(panels) != simdjson::SUCCESS) return out;
  for (auto p : panels) {
    Emitted e;
    e.system = system;
    e.label = std::string(p["label"].get_string().value());
    e.barcode = std::string(p["barcode"].get_string().value());
    e.timestamp = std::string(p["timestamp"].get_string().value());
    e.gateway = p["gateway"].get_int64().value();
    e.node = p["node"].get_int64().value();
    e.power = p["power"].get_double().value();
    e.emitted_ms = p["emitted_ms"].get_int64().value();
    out.push_back(std::move(e));
  }
  return out;
}

// Seconds of a taptap timestamp ("2026-06-21T17:00:08.143844+03:00"), Unix time, whole.
std::int64_t unix_seconds(const std::string& rfc3339) {
  const auto t = util::parse_iso8601(rfc3339);
  REQUIRE(t);
  return t->time_since_epoch().count();
}

struct Exporter {
  std::unique_ptr<Process> process;
  std::string address;
  Exporter(const TempDir& dir, std::vector<std::string> args, const std::string& name) {
    std::vector<std::string> argv = {TIGO_EXPORTER_BIN,
                                     "--web.listen-address",
                                     "127.0.0.1:0",
                                     "--debug.time",
                                     kSimTime,
                                     "--debug.speed",
                                     "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    process = std::make_unique<Process>(argv, dir.path() + "/" + name + ".log");
    auto a = process->wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
    INFO(process->log());
    REQUIRE(a);
    address = *a;
  }
  std::vector<Sample> scrape() const {
    return testing::parse_exposition(http_get(address, "/metrics"));
  }
};

std::vector<std::string> cloud_args(const TempDir& dir, const Sim& sim) {
  return {"--tigo.api-url",         sim.api,
          "--tigo.username",        "demo",
          "--tigo.password-file",   dir.file("pw", "demo\n"),
          "--tigo.rate-limit",      "100000",
          "--tigo.systems",         "1001,1007,1009",
          "--local.taptap.address", sim.bus};
}

const Sample* find(const std::vector<Sample>& samples, const std::string& name,
                   const std::string& system, const std::string& panel) {
  for (const auto& s : samples)
    if (s.name == name && s.labels.count("panel") && s.labels.at("system_id") == system &&
        s.labels.at("panel") == panel)
      return &s;
  return nullptr;
}

double value_of(const std::vector<Sample>& samples, const std::string& name,
                const std::map<std::string, std::string>& labels) {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) all = all && s.labels.count(k) && s.labels.at(k) == v;
    if (all) return s.value;
  }
  return NAN;
}

int measure_seconds() {
  const char* env = std::getenv("TIGO_E2E_LOCAL_SECONDS");
  return env ? std::max(10, std::atoi(env)) : 30;
}

}  // namespace

TEST_CASE(
    "local bus and cloud together: every panel's power on /metrics within seconds of its "
    "report, equal to voltage_in x current, under the cloud's labels") {
  TempDir dir;
  Sim sim(dir);
  Exporter exporter(dir, cloud_args(dir, sim), "exporter");

  // The infrastructure report comes on connect: all 72 nodes matched to the cloud's panels once
  // the layouts are in.
  std::vector<Sample> samples;
  for (int i = 0; i < 120; ++i) {
    samples = exporter.scrape();
    if (value_of(samples, "tigo_local_nodes_matched", {}) == 72) break;
    std::this_thread::sleep_for(500ms);
  }
  INFO(exporter.process->log().substr(0, 4000));
  REQUIRE(value_of(samples, "tigo_local_nodes_matched", {}) == 72);
  CHECK(value_of(samples, "tigo_local_nodes_unmatched", {}) == 0);
  CHECK(value_of(samples, "tigo_local_source_connected", {{"kind", "bus"}}) == 1);

  // Every emitted report: when the simulator emitted it, and when /metrics first carried it.
  struct Seen {
    Emitted report;
    std::optional<std::int64_t> served_ms;
    bool value_ok = false;
    double served = NAN;
  };
  std::map<std::pair<std::string, std::string>, Seen> pending;  // (label key, timestamp)
  std::vector<Seen> done;
  std::set<std::pair<std::string, std::string>> known;  // reports that existed before we began
  for (const auto& system : kBusSystems)
    for (const auto& e : bus_last(sim.address, system))
      known.insert({system + "/" + e.label, e.timestamp});

  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{measure_seconds()};
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& system : kBusSystems)
      for (auto& e : bus_last(sim.address, system)) {
        const std::pair key{system + "/" + e.label, e.timestamp};
        if (known.count(key) || pending.count(key)) continue;
        pending[key] = Seen{std::move(e), std::nullopt, false, NAN};
      }
    samples = exporter.scrape();
    const auto scraped_ms = now_ms();
    for (auto it = pending.begin(); it != pending.end();) {
      auto& seen = it->second;
      const auto& r = seen.report;
      const auto* ts = find(samples, "tigo_panel_sample_timestamp_seconds", r.system, r.label);
      const auto* power = find(samples, "tigo_panel_power_watts", r.system, r.label);
      if (ts && power && ts->value >= static_cast<double>(unix_seconds(r.timestamp))) {
        seen.served_ms = scraped_ms;
        seen.served = power->value;
        seen.value_ok = ts->value != static_cast<double>(unix_seconds(r.timestamp)) ||
                        std::abs(power->value - r.power) <= 1e-9 * std::max(1.0, r.power);
        known.insert(it->first);
        done.push_back(std::move(seen));
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  // Reports still pending for 10 s and more were never served.
  std::size_t lost = 0;
  for (const auto& [key, seen] : pending)
    if (now_ms() - seen.report.emitted_ms > 10'000) ++lost;

  REQUIRE(done.size() >= 100);
  std::vector<std::int64_t> latency;
  std::size_t wrong = 0;
  for (const auto& s : done) {
    latency.push_back(*s.served_ms - s.report.emitted_ms);
    if (!s.value_ok) {
      ++wrong;
      UNSCOPED_INFO(s.report.system << "/" << s.report.label << " " << s.report.timestamp
                                    << ": served " << s.served << ", emitted " << s.report.power);
    }
  }
  std::sort(latency.begin(), latency.end());
  const auto p50 = latency[latency.size() / 2];
  const auto p99 = latency[latency.size() * 99 / 100];
  WARN("local e2e: " << done.size() << " reports, latency emitted -> /metrics p50 " << p50
                     << " ms, p99 " << p99 << " ms, max " << latency.back() << " ms, lost "
                     << lost);
  CHECK(wrong == 0);
  CHECK(lost == 0);
  CHECK(p99 <= 5'000);

  // Labels: the bus's readings under the cloud's hierarchy, with what only the bus measures.
  samples = exporter.scrape();
  std::size_t on_bus = 0;
  for (const auto& s : samples) {
    if (s.name != "tigo_panel_source_info" || s.labels.at("source") != "bus") continue;
    ++on_bus;
    CHECK(std::stoll(s.labels.at("object_id")) > 0);
    CHECK_FALSE(s.labels.at("string").empty());
    CHECK(std::find(kBusSystems.begin(), kBusSystems.end(), s.labels.at("system_id")) !=
          kBusSystems.end());
  }
  CHECK(on_bus >= 60);  // a few nodes may be in one of their silences
  std::size_t output_voltages = 0, energies = 0;
  for (const auto& s : samples) {
    output_voltages += s.name == "tigo_panel_output_voltage_volts" && s.value > 0;
    energies += s.name == "tigo_panel_energy_today_joules" && s.value > 0;
  }
  CHECK(output_voltages >= 60);
  CHECK(energies >= 60);
  CHECK(value_of(samples, "tigo_local_lines_dropped_total", {{"reason", "malformed"}}) == 0);
  CHECK(value_of(samples, "tigo_local_events_total", {{"type", "power_report"}}) >= 100);
  // With a local source, every family of the contract is announced, each once.
  const auto families = testing::family_names(http_get(exporter.address, "/metrics"));
  for (const auto& f : metrics::kFamilies) {
    INFO(f.name);
    CHECK(std::count(families.begin(), families.end(), f.name) == 1);
  }
  CHECK(exporter.process->stop() == 0);
}

TEST_CASE("local bus: the mapping file wins over the serials, and names what they do not") {
  TempDir dir;
  Sim sim(dir);
  // The simulator's own map of 1001's first two panels, swapped: A1's optimizer said to be A2.
  std::vector<Emitted> last;
  for (int i = 0; i < 40 && last.size() < 24; ++i) {
    last = bus_last(sim.address, "1001");
    std::this_thread::sleep_for(250ms);
  }
  REQUIRE(last.size() >= 2);
  std::sort(last.begin(), last.end(),
            [](const Emitted& a, const Emitted& b) { return a.label < b.label; });
  const auto& a = last[0];
  const auto& b = last[1];
  const auto mapping = dir.file(
      "mapping.yaml", "panels:\n  - {barcode: " + a.barcode + ", system: 1001, panel: " + b.label +
                          "}\n  - {gateway: " + std::to_string(b.gateway) +
                          ", node: " + std::to_string(b.node) +
                          ", system: 42, string: X, panel: " + a.label + "}\n");
  auto args = cloud_args(dir, sim);
  args.insert(args.end(), {"--local.mapping-file", mapping});
  Exporter exporter(dir, args, "exporter");

  bool swapped = false;
  std::vector<Sample> samples;
  for (int i = 0; i < 120 && !swapped; ++i) {
    std::this_thread::sleep_for(500ms);
    samples = exporter.scrape();
    const auto now = bus_last(sim.address, "1001");
    const auto* served = find(samples, "tigo_panel_power_watts", "1001", b.label);
    const auto* ts = find(samples, "tigo_panel_sample_timestamp_seconds", "1001", b.label);
    const auto* moved = find(samples, "tigo_panel_power_watts", "42", a.label);
    for (const auto& e : now)
      if (e.label == a.label && served && ts && moved &&
          ts->value == static_cast<double>(unix_seconds(e.timestamp)))
        swapped = std::abs(served->value - e.power) < 1e-9 * std::max(1.0, e.power);
  }
  INFO(exporter.process->log().substr(0, 3000));
  CHECK(swapped);
  const auto* moved = find(samples, "tigo_panel_power_watts", "42", a.label);
  REQUIRE(moved);
  CHECK(moved->labels.at("string") == "X");
  CHECK(std::stoll(moved->labels.at("object_id")) < 0);  // known only to the bus
  CHECK(exporter.process->stop() == 0);
}

TEST_CASE("local only: no cloud account, the bus served under the mapping's and the bus's names") {
  TempDir dir;
  Sim sim(dir);
  const auto mapping = dir.file("mapping.yaml", "system: 7\nsystem_name: Home\n");
  Exporter exporter(dir,
                    {"--local.taptap.address", sim.bus, "--local.mapping-file", mapping,
                     "--storage.path", dir.path() + "/state"},
                    "exporter");
  std::vector<Sample> samples;
  std::size_t panels = 0;
  for (int i = 0; i < 60; ++i) {
    samples = exporter.scrape();
    panels = 0;
    for (const auto& s : samples) panels += s.name == "tigo_panel_power_watts";
    if (panels >= 60) break;
    std::this_thread::sleep_for(500ms);
  }
  INFO(exporter.process->log().substr(0, 3000));
  CHECK(panels >= 60);
  // Unmatched nodes (no cloud): under their barcodes in system 0, named by the infrastructure
  // report; the exporter is ready without any cloud answer and never called one.
  for (const auto& s : samples)
    if (s.name == "tigo_panel_power_watts") {
      CHECK(s.labels.at("system_id") == "0");
      CHECK(std::regex_match(s.labels.at("panel"), std::regex("4-[0-9A-F]+[A-Z]")));
    }
  CHECK(value_of(samples, "tigo_local_nodes_unmatched", {}) == 72);
  httplib::Client c("http://" + exporter.address);
  auto ready = c.Get("/-/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(std::isnan(value_of(samples, "tigo_api_requests_total", {})));  // no call: no series
  auto page = c.Get("/");
  REQUIRE(page);
  CHECK_THAT(page->body, Catch::Contains("Local sources") && Catch::Contains(sim.bus));
  CHECK(exporter.process->stop() == 0);
  // What the bus taught is kept for the next start.
  std::ifstream saved(dir.path() + "/state/local-state.json");
  std::string text((std::istreambuf_iterator<char>(saved)), {});
  CHECK_THAT(text, Catch::Contains("\"addresses\":[[") && Catch::Contains("\"energy\":[{"));
}

TEST_CASE(
    "local bus: a taptap command that exits, crashes, hangs or prints garbage never stops "
    "/metrics and is restarted") {
  TempDir dir;
  // Each run prints one good report, then garbage, then ends one of four ways in turn.
  const auto counter = dir.path() + "/runs";
  const auto script = dir.file("taptap.sh", R"(#!/bin/sh
n=$(cat ")" + counter + R"(" 2>/dev/null || echo 0)
echo $((n + 1)) > ")" + counter + R"("
echo '{"event_type":"power_report","gateway":4609,"node":2,"timestamp":"2026-06-21T14:00:05.5+00:00","voltage_in":30.5,"voltage_out":30.1,"current":5.0,"dc_dc_duty_cycle":1.0,"temperature":25.5,"rssi":150}'
echo 'this is not json'
echo '{"event_type":"power_report","gateway":4609,"node":2,"timestamp":"2026-06-21T14:00:05.5+00:00","voltage_in":1e999}'
echo 'taptap: a message on stderr' >&2
case $((n % 4)) in
  0) exit 3 ;;
  1) kill -SEGV $$ ;;
  2) exec sleep 1000 ;;
  3) printf '{"event_type":"power_rep' ; exit 0 ;;
esac
)");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  Exporter exporter(dir, {"--local.taptap.command", script, "--local.taptap.silence-restart", "2s"},
                    "exporter");
  std::vector<Sample> samples;
  const auto restarts = [&] {
    return value_of(samples, "tigo_local_source_restarts_total", {{"source", "taptap.sh"}});
  };
  for (int i = 0; i < 80; ++i) {
    samples = exporter.scrape();  // /metrics answers throughout
    REQUIRE_FALSE(samples.empty());
    if (restarts() >= 4) break;
    std::this_thread::sleep_for(500ms);
  }
  INFO(exporter.process->log().substr(0, 6000));
  CHECK(restarts() >= 4);  // an exit, a crash, a hang (silence), a cut line
  CHECK(value_of(samples, "tigo_local_lines_dropped_total", {{"reason", "malformed"}}) >= 8);
  CHECK(value_of(samples, "tigo_local_lines_dropped_total", {{"reason", "partial"}}) >= 1);
  CHECK(value_of(samples, "tigo_panel_power_watts", {{"panel", "4609.2"}}) == Approx(152.5));
  const auto log = exporter.process->log();
  CHECK_THAT(log, Catch::Contains("taptap: a message on stderr"));
  CHECK_THAT(log, Catch::Contains("bus line refused"));
  CHECK(exporter.process->stop() == 0);
}

namespace {

struct CcaSim {
  std::unique_ptr<Process> process;
  std::string api, cca;  // cca: host:port
  CcaSim(const TempDir& dir, const std::string& password_file, bool locked) {
    std::vector<std::string> argv = {TIGO_SIM_BIN,  "--listen",
                                     "127.0.0.1:0", "--systems",
                                     "9",           "--seed",
                                     "1",           "--rate-limit",
                                     "100000",      "--time",
                                     kSimTime,      "--speed",
                                     "1",           "--cca-listen",
                                     "127.0.0.1:0", "--cca-system",
                                     "1001",        "--cca-password-file",
                                     password_file};
    if (locked) argv.push_back("--cca-locked");
    process = std::make_unique<Process>(argv, dir.path() + "/sim.log");
    auto url = process->wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
    REQUIRE(url);
    api = *url;
    auto c = process->wait_for_log(std::regex("cca on http://(\\S+)/cgi-bin/"), 10s);
    REQUIRE(c);
    cca = *c;
  }
};

// The newest minute of `label` in the CCA's pin data of the simulated day: (Unix time, W).
std::optional<std::pair<std::int64_t, double>> cca_newest(const std::string& cca,
                                                          const std::string& password,
                                                          const std::string& label) {
  httplib::Client c("http://" + cca);
  c.set_basic_auth("Tigo", password);
  auto r = c.Get("/cgi-bin/summary_data?date=2026-06-21&temp=pin");
  if (!r || r->status != 200) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::array datasets;
  if (parser.parse(r->body)["dataset"].get(datasets) != simdjson::SUCCESS) return std::nullopt;
  std::optional<std::pair<std::string, double>> newest;  // (HH:MM, W)
  for (auto segment : datasets) {
    simdjson::dom::array order, data;
    if (segment["order"].get(order) != simdjson::SUCCESS ||
        segment["data"].get(data) != simdjson::SUCCESS)
      continue;
    std::size_t at = SIZE_MAX, k = 0;
    for (auto name : order) {
      std::string_view n;
      if (name.get(n) == simdjson::SUCCESS && n == label) at = k;
      ++k;
    }
    if (at == SIZE_MAX) continue;
    for (auto row : data) {
      std::string_view t;
      simdjson::dom::array d;
      double w = 0;
      if (row["t"].get(t) != simdjson::SUCCESS || row["d"].get(d) != simdjson::SUCCESS ||
          d.at(at).get(w) != simdjson::SUCCESS)
        continue;
      if (!newest || t > newest->first) newest = {std::string(t), w};
    }
  }
  if (!newest) return std::nullopt;
  // Athens in June is UTC+3.
  const auto local = util::parse_iso8601("2026-06-21T" + newest->first + ":00+03:00");
  REQUIRE(local);
  return std::pair{local->time_since_epoch().count(), newest->second};
}

}  // namespace

TEST_CASE(
    "CCA local API and cloud together: each panel's newest CCA minute served under the "
    "cloud's labels") {
  TempDir dir;
  const auto password = dir.file("cca.password", "s3cret-cca\n");
  CcaSim sim(dir, password, false);
  Exporter exporter(dir,
                    {"--tigo.api-url",
                     sim.api,
                     "--tigo.username",
                     "demo",
                     "--tigo.password-file",
                     dir.file("pw", "demo\n"),
                     "--tigo.rate-limit",
                     "100000",
                     "--tigo.systems",
                     "1001,1007",
                     "--local.cca.address",
                     sim.cca,
                     "--local.cca.password-file",
                     password,
                     "--local.cca.system",
                     "1001",
                     "--local.cca.timezone",
                     "Europe/Athens",
                     "--local.cca.interval",
                     "2s"},
                    "exporter");
  std::vector<Sample> samples;
  std::size_t on_cca = 0;
  for (int i = 0; i < 120; ++i) {
    samples = exporter.scrape();
    on_cca = 0;
    for (const auto& s : samples)
      on_cca += s.name == "tigo_panel_source_info" && s.labels.at("source") == "cca";
    // Matched once the cloud's hierarchy of 1001 is in (before, served as the CCA names them).
    if (on_cca == 24 && value_of(samples, "tigo_local_nodes_matched", {}) == 24) break;
    std::this_thread::sleep_for(500ms);
  }
  INFO(exporter.process->log().substr(0, 4000));
  REQUIRE(on_cca == 24);  // every panel of 1001 on the CCA's minutes, none of 1007's
  for (const auto& s : samples)
    if (s.name == "tigo_panel_source_info" && s.labels.at("source") == "cca") {
      CHECK(s.labels.at("system_id") == "1001");
      CHECK(std::stoll(s.labels.at("object_id")) > 0);  // the cloud's panel, its labels
    }
  // The value is the CCA's minute: when /metrics carries the minute the CCA shows, they agree.
  bool agreed = false;
  for (int i = 0; i < 60 && !agreed; ++i) {
    const auto cca = cca_newest(sim.cca, "s3cret-cca", "A1");
    samples = exporter.scrape();
    const auto* ts = find(samples, "tigo_panel_sample_timestamp_seconds", "1001", "A1");
    const auto* power = find(samples, "tigo_panel_power_watts", "1001", "A1");
    if (cca && ts && power && ts->value == static_cast<double>(cca->first)) {
      CHECK(power->value == Approx(cca->second).margin(0.5));
      agreed = true;
    }
    if (!agreed) std::this_thread::sleep_for(500ms);
  }
  CHECK(agreed);
  CHECK(value_of(samples, "tigo_local_source_connected", {{"kind", "cca"}}) == 1);
  CHECK(value_of(samples, "tigo_local_nodes_matched", {}) == 24);
  CHECK(exporter.process->stop() == 0);
  CHECK(exporter.process->log().find("s3cret-cca") == std::string::npos);
}

TEST_CASE("CCA local API locked (firmware 4.0.4's 401): said once and clearly, /metrics goes on") {
  TempDir dir;
  const auto password = dir.file("cca.password", "s3cret-cca\n");
  CcaSim sim(dir, password, true);
  Exporter exporter(
      dir,
      {"--local.cca.address", sim.cca, "--local.cca.password-file", password, "--local.cca.system",
       "1001", "--local.cca.timezone", "Europe/Athens", "--local.cca.interval", "1s"},
      "exporter");
  std::this_thread::sleep_for(5s);  // five polls' worth
  const auto samples = exporter.scrape();
  REQUIRE_FALSE(samples.empty());
  CHECK(value_of(samples, "tigo_local_source_connected", {{"kind", "cca"}}) == 0);
  const auto log = exporter.process->log();
  INFO(log);
  std::size_t refused = 0;
  for (std::size_t at = 0; (at = log.find("CCA local API refused (401)", at)) != std::string::npos;
       ++at)
    ++refused;
  CHECK(refused == 1);
  CHECK(log.find("s3cret-cca") == std::string::npos);
  httplib::Client c("http://" + exporter.address);
  auto page = c.Get("/");
  REQUIRE(page);
  CHECK_THAT(page->body, Catch::Contains("Local sources") && Catch::Contains("401"));
  CHECK(exporter.process->stop() == 0);
}
