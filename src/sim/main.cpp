// tigo_sim: a fake Tigo API v3 with a physical solar fleet (see docs/SIMULATOR.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <thread>

#include "build_revision.hpp"
#include "sim/chaos.hpp"
#include "sim/clock.hpp"
#include "sim/fleet.hpp"
#include "sim/quirks.hpp"
#include "sim/server.hpp"
#include "sim/uploads.hpp"
#include "util/duration.hpp"
#include "util/listen_address.hpp"
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

}  // namespace

namespace {

int run(int argc, char** argv) {
  util::block_termination_signals();
  CLI::App app{"tigo_sim: a fake Tigo API v3 serving a simulated solar fleet.", "tigo_sim"};
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", "tigo_sim " TIGO_VERSION " (revision " TIGO_REVISION ")");
  std::string listen = "127.0.0.1:8080", time_text, users = "demo:demo", rate_window = "1m",
              token_ttl = "24h", data_delay = "10m", upload_interval = "10m", quirks_text = "all",
              faults_text = "none", zones_text, region_text, arrivals_text = "irregular";
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
                 "truncated=0.01,drop_connection=0.01,expired_token=0.01,burst_429=0.01 "
                 "(counted in GET /sim/stats)");
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
  const sim::Clock clock(start, effective_speed);
  sim::Server server(fleet, clock, options);
  if (auto bound = server.bind(); !bound) {
    std::fprintf(stderr, "tigo_sim: %s\n", bound.error().message.c_str());
    return 1;
  }
  server.start();
  std::printf("listening on %s\n", server.base_url().c_str());
  std::fflush(stdout);
  const int sig = util::wait_for_termination_signal();
  std::fprintf(stderr, "tigo_sim: signal %d, stopping\n", sig);
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
