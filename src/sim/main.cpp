// tigo_sim: a fake Tigo API v3 with a physical solar fleet (see docs/SIMULATOR.md).
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <exception>
#include <memory>
#include <thread>

#include "build_revision.hpp"
#include "sim/bus.hpp"
#include "sim/cca.hpp"
#include "sim/chaos.hpp"
#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/quirks.hpp"
#include "sim/server.hpp"
#include "sim/uploads.hpp"
#include "util/duration.hpp"
#include "util/listen_address.hpp"
#include "util/secret_file.hpp"
#include "util/signals.hpp"
#include "util/time.hpp"

namespace {

struct DurationCheck : CLI::Validator {
  DurationCheck() {
    name_ = "DURATION";
    func_ = [](const std::string& s) -> std::string {
      return util::parse_duration(s) ? "" : "bad duration \"" + s + "\"";
    };
  }
};

// "1001,1003" -> ids; false on an empty or non-numeric item.
bool parse_ids(const std::string& text, std::vector<std::int64_t>& out) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = std::min(text.find(',', pos), text.size());
    std::int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + comma, id);
    if (ec != std::errc{} || ptr != text.data() + comma || comma == pos) return false;
    out.push_back(id);
    pos = comma + 1;
  }
  return true;
}

std::chrono::milliseconds millis(const std::string& duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(*util::parse_duration(duration));
}

}  // namespace

namespace {

int run(int argc, char** argv) {
  util::block_termination_signals();
  CLI::App app{"tigo_sim: a fake Tigo API v3 serving a simulated solar fleet.", "tigo_sim"};
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", "tigo_sim " TIGO_VERSION " (revision " TIGO_REVISION ")");
  std::string listen = "127.0.0.1:8080", time_text, users = "demo:demo", rate_window = "1m",
              token_ttl = "24h", data_delay = "10m", upload_interval = "10m", quirks_text = "all",
              faults_text = "none", zones_text, region_text, arrivals_text = "irregular",
              serial_format_text = "mac", bus_listen, bus_systems_text, bus_interval = "20s",
              bus_format_text = "new", bus_infra_every = "10m", cca_listen, cca_password_file;
  std::int64_t cca_system = 1001;
  bool cca_locked = false;
  sim::FleetOptions fleet_options;
  double speed = 1.0;
  int rate_limit = 100;
  const DurationCheck duration;
  app.add_option("--listen", listen, "Address to serve on (port 0 picks a free one)");
  app.add_option("--systems", fleet_options.systems, "Systems in the fleet")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--panels-per-system", fleet_options.panels_per_system, "Panels per system")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--seed", fleet_options.seed, "Everything generated derives from it");
  app.add_option("--zones", zones_text,
                 "Place the fleet in these IANA zones only, over their real towns, e.g. "
                 "America/Los_Angeles,America/Denver (default: cities around the globe)");
  app.add_option(
      "--region", region_text,
      "Place the fleet in a region's zones (with --zones: both): " + sim::region_names());
  bool list_zones = false;
  app.add_flag("--list-zones", list_zones,
               "Print the zones --zones takes, their towns and regions, and exit");
  app.add_option("--time", time_text,
                 "Simulated start time, ISO 8601 (default now); fixed unless --speed is given");
  auto* speed_opt = app.add_option("--speed", speed, "Run simulated time N times faster")
                        ->check(CLI::PositiveNumber);
  app.add_option("--rate-limit", rate_limit, "Requests per window per account")
      ->check(CLI::Range(1, 1'000'000'000));
  app.add_option("--rate-window", rate_window, "Rate-limit window")->check(duration);
  app.add_option("--token-ttl", token_ttl, "Lifetime of a login token")->check(duration);
  app.add_option("--users", users,
                 "Accounts: user:password[:basic][:systems=ID+ID...],... (basic: no premium, "
                 "data endpoints answer 402; systems: the only systems it sees, others 403)");
  app.add_option("--data-delay", data_delay,
                 "An uploaded batch of minute data becomes visible after this")
      ->check(duration);
  app.add_option("--upload-interval", upload_interval,
                 "Gateways upload minute data this often (irregular arrivals: each gateway every "
                 "1 to 1.5 times this)")
      ->check(duration);
  app.add_option("--arrivals", arrivals_text,
                 "irregular: per-gateway cadence of 1-1.5 upload intervals, +-1/5 interval of "
                 "jitter, about 1 upload in 12 missed and delivered with the next; periodic: "
                 "exactly every upload interval")
      ->check(CLI::IsMember({"irregular", "periodic"}));
  app.add_option("--quirks", quirks_text,
                 "Real-API quirks: all, none, or a list of names to enable and -names to disable "
                 "(e.g. -future_rows,-millis; none,nulls). Names: " +
                     sim::quirk_names());
  app.add_option("--faults", faults_text,
                 "Injected faults, e.g. error_rate=0.05,latency=200ms,malformed=0.01,"
                 "truncated=0.01,drop_connection=0.01,expired_token=0.01,burst_429=0.01; on the "
                 "bus, per line: bus_garbage=0.01,bus_drop=0.001,bus_reassign=0.001 (counted in "
                 "GET /sim/stats)");
  app.add_option("--serial-format", serial_format_text,
                 "How the cloud prints panel serials: mac (04C05B + 6 hex), address "
                 "(04:C0:5B:40:00:xx:xx:xx) or barcode (4-XXXXXXC)")
      ->check(CLI::IsMember({"mac", "address", "barcode"}));
  app.add_option("--bus-listen", bus_listen,
                 "Serve the systems' Tigo bus as taptap observe prints it (JSON lines) over TCP "
                 "here (default off)");
  app.add_option("--bus-systems", bus_systems_text,
                 "Systems on the bus: comma list of ids (default all)");
  app.add_option("--bus-interval", bus_interval, "A node reports about this often")
      ->check(duration);
  app.add_option("--bus-format", bus_format_text,
                 "old: gateway/node as {\"id\":N} objects, no event_type; new: event_type and "
                 "integer ids; mixed: either, line by line")
      ->check(CLI::IsMember({"old", "new", "mixed"}));
  app.add_option("--bus-infra-every", bus_infra_every,
                 "Infrastructure report (node addresses, barcodes) this often, and on connect")
      ->check(duration);
  app.add_option("--cca-listen", cca_listen,
                 "Serve one system's CCA local API (/cgi-bin/summary_*) here (default off)");
  app.add_option("--cca-system", cca_system, "The system the CCA local API serves");
  app.add_option("--cca-password-file", cca_password_file,
                 "File holding the CCA's password: basic auth as user Tigo (default: none asked)");
  app.add_flag("--cca-locked", cca_locked,
               "The CCA answers 401 to everything, as firmware 4.0.4 and later do");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tigo_sim: %s\n", e.what());
    return 2;
  }

  if (list_zones) {
    std::fputs(sim::zones_listing().c_str(), stdout);
    return 0;
  }
  auto zones = sim::placement_zones(zones_text, region_text);
  if (!zones) {
    std::fprintf(stderr, "tigo_sim: %s\n", zones.error().message.c_str());
    return 2;
  }
  fleet_options.zones = std::move(*zones);
  fleet_options.serial_format = *sim::parse_serial_format(serial_format_text);

  std::optional<std::chrono::sys_seconds> start;
  if (!time_text.empty()) {
    start = util::parse_iso8601(time_text);
    if (!start) {
      std::fprintf(stderr, "tigo_sim: --time: \"%s\" is not an ISO 8601 time\n", time_text.c_str());
      return 2;
    }
  }
  // A given --time stands still unless --speed says otherwise.
  const double effective_speed = start && speed_opt->count() == 0 ? 0.0 : speed;
  auto accounts = sim::parse_accounts(users);
  if (!accounts) {
    std::fprintf(stderr, "tigo_sim: %s\n", accounts.error().message.c_str());
    return 2;
  }
  auto quirks = sim::parse_quirks(quirks_text);
  if (!quirks) {
    std::fprintf(stderr, "tigo_sim: %s\n", quirks.error().message.c_str());
    return 2;
  }
  auto faults = sim::parse_faults(faults_text);
  if (!faults) {
    std::fprintf(stderr, "tigo_sim: %s\n", faults.error().message.c_str());
    return 2;
  }
  auto address = util::parse_listen_address(listen);
  if (!address) {
    std::fprintf(stderr, "tigo_sim: --listen: %s\n", address.error().message.c_str());
    return 2;
  }

  sim::ServerOptions options;
  options.host = address->host.empty() ? "0.0.0.0" : address->host;
  options.port = address->port;
  options.accounts = std::move(*accounts);
  options.rate_limit = rate_limit;
  options.rate_window =
      std::chrono::duration_cast<std::chrono::seconds>(*util::parse_duration(rate_window));
  options.token_ttl =
      std::chrono::duration_cast<std::chrono::seconds>(*util::parse_duration(token_ttl));
  if (options.rate_window.count() < 1) options.rate_window = std::chrono::seconds{1};
  options.data_delay =
      std::chrono::duration_cast<std::chrono::seconds>(*util::parse_duration(data_delay));
  options.upload_interval =
      std::chrono::duration_cast<std::chrono::seconds>(*util::parse_duration(upload_interval));
  if (options.upload_interval.count() < 60) {
    std::fprintf(stderr, "tigo_sim: --upload-interval: at least 1m\n");
    return 2;
  }
  options.arrivals = *sim::parse_arrivals(arrivals_text);
  options.quirks = *quirks;
  options.faults = *faults;

  const sim::Fleet fleet(fleet_options);
  for (const auto& account : options.accounts)
    for (const auto id : account.systems)
      if (!fleet.index_of(id)) {
        std::fprintf(stderr, "tigo_sim: --users: system %lld is not in the fleet (%lld..%lld)\n",
                     static_cast<long long>(id), static_cast<long long>(fleet.system(0).system_id),
                     static_cast<long long>(fleet.system(fleet.size() - 1).system_id));
        return 2;
      }
  sim::BusOptions bus_options;
  std::optional<util::ListenAddress> bus_address;
  if (!bus_listen.empty()) {
    auto a = util::parse_listen_address(bus_listen);
    if (!a) {
      std::fprintf(stderr, "tigo_sim: --bus-listen: %s\n", a.error().message.c_str());
      return 2;
    }
    bus_address = *a;
    bus_options.host = a->host.empty() ? "0.0.0.0" : a->host;
    bus_options.port = a->port;
    if (!bus_systems_text.empty() && !parse_ids(bus_systems_text, bus_options.systems)) {
      std::fprintf(stderr, "tigo_sim: --bus-systems: comma list of system ids expected\n");
      return 2;
    }
    for (const auto id : bus_options.systems)
      if (!fleet.index_of(id)) {
        std::fprintf(stderr, "tigo_sim: --bus-systems: system %lld is not in the fleet\n",
                     static_cast<long long>(id));
        return 2;
      }
    bus_options.interval = millis(bus_interval);
    bus_options.infra_every = millis(bus_infra_every);
    if (bus_options.interval.count() < 100 || bus_options.infra_every.count() < 100) {
      std::fprintf(stderr, "tigo_sim: --bus-interval and --bus-infra-every: at least 100ms\n");
      return 2;
    }
    bus_options.format = *sim::parse_bus_format(bus_format_text);
    bus_options.faults = *faults;
    const auto per_system = static_cast<std::size_t>(fleet_options.panels_per_system);
    const std::size_t systems =
        bus_options.systems.empty() ? fleet.size() : bus_options.systems.size();
    if (systems * per_system > sim::kMaxBusNodes) {
      std::fprintf(stderr, "tigo_sim: --bus-listen: %zu nodes, at most %zu: name --bus-systems\n",
                   systems * per_system, sim::kMaxBusNodes);
      return 2;
    }
  }
  sim::CcaOptions cca_options;
  if (!cca_listen.empty()) {
    auto a = util::parse_listen_address(cca_listen);
    if (!a) {
      std::fprintf(stderr, "tigo_sim: --cca-listen: %s\n", a.error().message.c_str());
      return 2;
    }
    cca_options.host = a->host.empty() ? "0.0.0.0" : a->host;
    cca_options.port = a->port;
    if (!fleet.index_of(cca_system)) {
      std::fprintf(stderr, "tigo_sim: --cca-system: system %lld is not in the fleet\n",
                   static_cast<long long>(cca_system));
      return 2;
    }
    cca_options.system_id = cca_system;
    cca_options.locked = cca_locked;
    if (!cca_password_file.empty()) {
      auto password = util::read_secret_file(cca_password_file);
      if (!password) {
        std::fprintf(stderr, "tigo_sim: --cca-password-file: %s\n",
                     password.error().message.c_str());
        return 2;
      }
      cca_options.password = std::move(*password);
    }
  }

  const sim::Clock clock(start, effective_speed);
  sim::Server server(fleet, clock, options);
  if (auto bound = server.bind(); !bound) {
    std::fprintf(stderr, "tigo_sim: %s\n", bound.error().message.c_str());
    return 1;
  }
  std::unique_ptr<sim::Bus> bus;
  if (bus_address) {
    bus = std::make_unique<sim::Bus>(fleet, clock, bus_options, &server.stats());
    if (auto bound = bus->bind(); !bound) {
      std::fprintf(stderr, "tigo_sim: --bus-listen: %s\n", bound.error().message.c_str());
      return 1;
    }
    server.attach_bus(bus.get());
  }
  std::unique_ptr<sim::CcaServer> cca;
  if (!cca_listen.empty()) {
    cca = std::make_unique<sim::CcaServer>(fleet, clock, cca_options);
    if (auto bound = cca->bind(); !bound) {
      std::fprintf(stderr, "tigo_sim: --cca-listen: %s\n", bound.error().message.c_str());
      return 1;
    }
  }
  server.start();
  if (bus) bus->start();
  if (cca) cca->start();
  std::printf("listening on %s\n", server.base_url().c_str());
  if (bus) std::printf("bus on tcp://%s (taptap JSON lines)\n", bus->address().c_str());
  if (cca) std::printf("cca on %s/cgi-bin/\n", cca->base_url().c_str());
  std::fflush(stdout);
  const int sig = util::wait_for_termination_signal();
  std::fprintf(stderr, "tigo_sim: signal %d, stopping\n", sig);
  if (cca) cca->stop();
  if (bus) bus->stop();
  server.stop();
  return 0;
}

}  // namespace

// An exception run() lets through ends the simulator with a message and status 1, not an abort.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tigo_sim: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "tigo_sim: unknown error\n");
  }
  return 1;
}
