// Flags, environment and secret files -> a validated Config (docs/FLAGS.md is the reference).
//
// Every default is written once, as a member initialiser here: the flags show and take these,
// and the refresher's and the backfill's options start from the same structs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/log.hpp"

namespace config {

// `tigo_exporter backfill`: historical data to an OpenMetrics file (the tigo flags apply).
// backfill::Options extends it.
struct BackfillConfig {
  std::chrono::sys_seconds from{};  // inclusive
  std::chrono::sys_seconds to{};    // exclusive
  std::string output;
  int chunk_days = 1;  // site-local days of minute data per data/aggregate call
};

// How often each dataset is refreshed at most (the scheduler stretches them up to their bounds
// when the budget is short), and how long its data lasts: the --refresh.* and --alerts.* flags.
// refresh::RefresherOptions extends it.
struct RefreshSettings {
  // Shortest spacing of two panel power fetches of one system (they follow gateway batches).
  std::chrono::milliseconds panels_interval{std::chrono::seconds{60}};
  std::chrono::milliseconds panel_details_interval{std::chrono::minutes{15}};
  std::chrono::milliseconds summary_interval{std::chrono::seconds{300}};
  std::chrono::milliseconds sources_interval{std::chrono::seconds{120}};
  std::chrono::milliseconds alerts_interval{std::chrono::seconds{600}};
  std::chrono::milliseconds combined_interval{std::chrono::minutes{15}};
  std::chrono::milliseconds layout_interval{std::chrono::hours{6}};
  std::chrono::milliseconds panels_lookback{std::chrono::hours{2}};
  std::chrono::milliseconds max_staleness{std::chrono::hours{1}};
  std::chrono::milliseconds alerts_window{std::chrono::hours{24}};
};

// Where taptap's lines come from besides a command: a TCP peer, a Unix socket, or stdin.
struct BusAddress {
  enum class Kind { tcp, unix_socket, stdin_fd };
  Kind kind = Kind::tcp;
  std::string host;  // tcp
  int port = 0;      // tcp
  std::string path;  // unix_socket
};

// --local.*: the local sources beside the cloud (docs/LOCAL.md).
struct LocalConfig {
  std::vector<std::string> taptap_command;  // argv, split from the flag's text (no shell)
  std::vector<BusAddress> taptap_addresses;
  std::string mapping_file;
  // A bus reading is current this long after it was received.
  std::chrono::milliseconds stale_after{std::chrono::minutes{2}};
  // The command restarted, the connection reopened, after this long without a line (0: never).
  std::chrono::milliseconds silence_restart{std::chrono::minutes{15}};
  // The CCA's local web API (--local.cca.*): host empty means none.
  std::string cca_host;
  int cca_port = 80;
  std::string cca_password;       // secret: read from --local.cca.password-file, never printed
  std::string cca_password_file;  // where it was read
  std::int64_t cca_system = 0;    // the system its panel labels name
  std::string cca_timezone;       // the CCA clock's IANA zone
  std::chrono::milliseconds cca_interval{std::chrono::seconds{60}};
  bool any_bus() const { return !taptap_command.empty() || !taptap_addresses.empty(); }
  bool any() const { return any_bus() || !cca_host.empty(); }
};

// "host:port", "unix:/path" or "-" (stdin).
std::optional<BusAddress> parse_bus_address(std::string_view text);
// A command line split into argv: whitespace separates, '...' and "..." quote, no shell.
std::optional<std::vector<std::string>> split_command(std::string_view text);

struct Config : RefreshSettings {
  std::string listen_address = ":9980";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  std::string api_url = "https://api2.tigoenergy.com/api/v3/";
  std::string username;
  std::string password;       // secret: read from a file or TIGO_PASSWORD, never printed
  std::string token;          // secret: read from --tigo.token-file
  std::string password_file;  // where `password` was read (empty: TIGO_PASSWORD or none)
  std::string token_file;     // where `token` was read
  std::string ca_file;
  bool insecure_http = false;
  std::chrono::milliseconds timeout{std::chrono::seconds{30}};
  int concurrency = 4;
  double rate_limit = 100;            // requests per minute this exporter may use
  std::vector<std::int64_t> systems;  // empty: all
  int shard_index = 0;
  int shard_count = 1;
  util::log::Level log_level = util::log::Level::info;
  util::log::Format log_format = util::log::Format::logfmt;
  bool demo = false;
  // --debug.time, --debug.speed: the exporter's clock (and the demo simulator's) from a simulated
  // instant, as tigo_sim --time/--speed, so a pinned simulator's data is current; speed 0 holds it.
  std::optional<std::chrono::sys_seconds> debug_time;
  double debug_speed = 0;
  std::string storage_path;  // directory of the state file; empty: none (refresh/state_file.hpp)
  std::optional<BackfillConfig> backfill;  // set by the backfill subcommand
  LocalConfig local;
  // False when no Tigo credential was given but a local source was: the exporter serves the
  // local sources alone (labels from the mapping file or the bus).
  bool cloud = true;
};

struct ParseOutcome {
  std::optional<Config> config;  // set when the program should run
  int exit_code = 0;             // otherwise: 0 after --help/--version, 2 on bad input
  std::string output;            // what to print (stdout when exit_code is 0, else stderr)
};

ParseOutcome parse(int argc, const char* const* argv, const std::string& version_line);

// A backfill --from/--to: "2026-06-01" (midnight UTC), "2026-06-01T12:00:00Z" (no offset: UTC;
// an offset is honoured), "now", or back from now: "-7d", "-36h".
std::optional<std::chrono::sys_seconds> parse_backfill_time(std::string_view text,
                                                            std::chrono::sys_seconds now);

// The shard index from a StatefulSet pod name ("tigo-exporter-2" -> 2), if it ends in -N.
std::optional<int> shard_index_from_pod_name(std::string_view name);

}  // namespace config
