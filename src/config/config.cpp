#include "config/config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>

#include "util/duration.hpp"
#include "util/listen_address.hpp"
#include "util/secret_file.hpp"
#include "util/time.hpp"
#include "util/url.hpp"

namespace config {
namespace {

// CLI11 validator for our duration syntax, so a bad value names its flag.
struct DurationValidator : CLI::Validator {
  DurationValidator() {
    name_ = "DURATION";
    func_ = [](const std::string& s) -> std::string {
      return util::parse_duration(s) ? "" : "bad duration \"" + s + "\" (e.g. 30s, 5m, 1h30m)";
    };
  }
};

// CLI11 validator for host:port, so a bad address fails before anything starts.
struct ListenAddressValidator : CLI::Validator {
  ListenAddressValidator() {
    name_ = "HOST:PORT";
    func_ = [](const std::string& s) -> std::string {
      auto parsed = util::parse_listen_address(s);
      return parsed ? "" : parsed.error().message;
    };
  }
};

// CLI11 validator for backfill times, so a bad value names its flag.
struct BackfillTimeValidator : CLI::Validator {
  BackfillTimeValidator() {
    name_ = "TIME";
    func_ = [](const std::string& s) -> std::string {
      return parse_backfill_time(s, std::chrono::sys_seconds{}) ? ""
                                                                : "bad time \"" + s +
                                                                      "\" (e.g. 2026-06-01, "
                                                                      "2026-06-01T12:00:00Z, "
                                                                      "-7d, now)";
    };
  }
};

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The names of util::log::Level and Format, in their enums' order.
const std::vector<std::string> kLogLevels = {"debug", "info", "warn", "error"};
const std::vector<std::string> kLogFormats = {"logfmt", "json"};

ParseOutcome fail(std::string message) {
  return ParseOutcome{std::nullopt, 2, "tigo_exporter: " + std::move(message)};
}

}  // namespace

ParseOutcome parse(int argc, const char* const* argv, const std::string& version_line) {
  Config c;
  CLI::App app{"Prometheus exporter for solar plants monitored by the Tigo Energy cloud (API v3).",
               "tigo_exporter"};
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", version_line);
  const DurationValidator duration;
  const ListenAddressValidator listen_address;

  // Text options start from Config's defaults, so --help shows them and an absent flag keeps them.
  std::string systems_csv;
  std::string log_level = kLogLevels.at(static_cast<std::size_t>(c.log_level));
  std::string log_format = kLogFormats.at(static_cast<std::size_t>(c.log_format));
  const auto text = [](std::chrono::milliseconds d) { return util::format_duration(d); };
  std::string timeout = text(c.timeout);
  std::optional<int> shard_index;

  app.add_option("--web.listen-address", c.listen_address, "Address to serve metrics on")
      ->envname("TIGO_LISTEN_ADDRESS")
      ->check(listen_address);
  app.add_option("--web.telemetry-path", c.telemetry_path, "Path of the metrics endpoint");
  app.add_option("--web.config.file", c.web_config_file,
                 "exporter-toolkit web config (YAML): TLS and client certificates, headers, "
                 "rate_limit, basic_auth_users (bcrypt); followed for changes");
  app.add_option("--tigo.api-url", c.api_url, "Tigo API v3 base URL")->envname("TIGO_API_URL");
  app.add_option("--tigo.username", c.username, "Tigo account login")->envname("TIGO_USERNAME");
  app.add_option("--tigo.password-file", c.password_file,
                 "File holding the password (TIGO_PASSWORD env also accepted)")
      ->envname("TIGO_PASSWORD_FILE");
  app.add_option("--tigo.token-file", c.token_file,
                 "File holding a pre-issued bearer token, used first (with a username and "
                 "password: they log in when the token is refused)")
      ->envname("TIGO_TOKEN_FILE");
  app.add_option("--tigo.ca-file", c.ca_file, "Extra CA bundle for the API's TLS");
  app.add_flag("--tigo.insecure-http", c.insecure_http,
               "Allow an http:// API URL on a non-loopback host");
  app.add_option("--tigo.timeout", timeout,
                 "Longest time one API request may take in all, connect to last byte")
      ->check(duration);
  app.add_option("--tigo.concurrency", c.concurrency, "Requests in flight at most")
      ->check(CLI::Range(1, 64));
  app.add_option("--tigo.rate-limit", c.rate_limit,
                 "Requests per minute this exporter may use (lowered further by X-Rate-Limit-*)")
      ->check(CLI::Range(1.0, 100000.0));
  app.add_option("--tigo.systems", systems_csv, "Comma list of system ids to export (default all)")
      ->envname("TIGO_SYSTEMS");
  app.add_option("--shard.index", shard_index,
                 "Export only systems with system_id % count == index (default: from a "
                 "StatefulSet pod name ending in -N in HOSTNAME; needed when count > 1)")
      ->envname("TIGO_SHARD_INDEX")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--shard.count", c.shard_count, "Number of shards")
      ->envname("TIGO_SHARD_COUNT")
      ->check(CLI::Range(1, 10000));
  // The refresh settings' flags: each reads its default from `c` and writes its value back.
  struct SettingFlag {
    const char* name;
    std::chrono::milliseconds Config::*value;
    const char* help;
  };
  const SettingFlag settings[] = {
      {"--refresh.panels-interval", &Config::panels_interval,
       "Shortest spacing of two panel power (Pin) fetches of a system; they follow its gateway's "
       "batches"},
      {"--refresh.panel-details-interval", &Config::panel_details_interval,
       "Wanted interval of panel voltage, current, RSSI and temperature (stretched up to 2h)"},
      {"--refresh.summary-interval", &Config::summary_interval, "Interval of data/summary"},
      {"--refresh.sources-interval", &Config::sources_interval, "Interval of sources/system"},
      {"--refresh.alerts-interval", &Config::alerts_interval, "Interval of alerts/system"},
      {"--refresh.combined-interval", &Config::combined_interval,
       "Interval of data/combined for system, inverter and string objects"},
      {"--refresh.layout-interval", &Config::layout_interval,
       "Interval of the systems list, view, layout, objects, types and user"},
      {"--refresh.panels-lookback", &Config::panels_lookback,
       "How far back the first minute-data fetch reaches, and the longest window asked for"},
      {"--refresh.max-staleness", &Config::max_staleness,
       "After this without success a dataset's series are dropped"},
      {"--alerts.window", &Config::alerts_window, "Lookback for tigo_system_alerts"}};
  std::vector<std::string> setting_text;
  for (const auto& s : settings) setting_text.push_back(text(c.*s.value));
  for (std::size_t i = 0; i < std::size(settings); ++i)
    app.add_option(settings[i].name, setting_text[i], settings[i].help)->check(duration);
  app.add_option("--log.level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember(kLogLevels));
  app.add_option("--log.format", log_format, "logfmt or json")->check(CLI::IsMember(kLogFormats));
  app.add_flag("--demo", c.demo,
               "Start the embedded simulator on a loopback port and export its demo fleet");
  std::string debug_time;
  app.add_option("--debug.time", debug_time,
                 "Run the exporter's clock from this ISO 8601 instant, for a tigo_sim started "
                 "with --time (fixed unless --debug.speed); with --demo, its simulator's too");
  app.add_option("--debug.speed", c.debug_speed,
                 "With --debug.time, run that clock N times faster (0: fixed), as tigo_sim --speed")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--storage.path", c.storage_path,
                 "Directory of the state file that lets a restart serve at once and skip the "
                 "hierarchy (default: none, every start is cold)");
  std::string taptap_command;
  std::vector<std::string> taptap_addresses;
  std::string stale_after = text(c.local.stale_after);
  std::string silence_restart = text(c.local.silence_restart);
  app.add_option("--local.taptap.command", taptap_command,
                 "Run this taptap command and read its power and infrastructure reports, e.g. "
                 "\"taptap observe --tcp 192.168.1.20 --port 502\" (no shell; restarted with "
                 "back-off when it exits)")
      ->envname("TIGO_LOCAL_TAPTAP_COMMAND");
  app.add_option("--local.taptap.address", taptap_addresses,
                 "Read taptap's lines from HOST:PORT (TCP), unix:PATH or - (stdin); repeatable")
      ->envname("TIGO_LOCAL_TAPTAP_ADDRESS")
      ->default_str("");
  app.add_option("--local.mapping-file", c.local.mapping_file,
                 "YAML naming the panel of bus nodes the cloud's serials do not name (barcode or "
                 "gateway and node to system, string and panel; taptap-mqtt's MODULES accepted)");
  app.add_option("--local.stale-after", stale_after,
                 "A bus reading is served as current this long after it was received")
      ->check(duration);
  app.add_option("--local.taptap.silence-restart", silence_restart,
                 "Restart the taptap command (reopen the connection) after this long without a "
                 "line; 0 never (the bus is quiet at night)")
      ->check(duration);

  // The tigo and log flags are the parent's: fallthrough lets them follow the subcommand too.
  const BackfillTimeValidator backfill_time;
  std::string from_text, to_text, output;
  std::string chunk = text(std::chrono::days{BackfillConfig{}.chunk_days});
  CLI::App* backfill = app.add_subcommand(
      "backfill",
      "Write historical minute and hourly data as OpenMetrics with timestamps, for promtool tsdb "
      "create-blocks-from openmetrics FILE DIR, within the same rate limit");
  backfill->fallthrough();
  backfill->footer(
      "The --tigo.* (api-url, username, password-file, token-file, rate-limit, timeout, "
      "ca-file, concurrency, systems), --shard.* and --log.* flags of tigo_exporter apply.");
  backfill
      ->add_option("--from", from_text,
                   "Start, inclusive: 2026-06-01 (UTC midnight), 2026-06-01T12:00:00Z, or "
                   "back from now: -7d, -36h")
      ->required()
      ->check(backfill_time);
  backfill->add_option("--to", to_text, "End, exclusive: same forms, or now")
      ->required()
      ->check(backfill_time);
  backfill
      ->add_option("--output", output,
                   "OpenMetrics file to write (a temp file beside it, renamed when complete)")
      ->required();
  backfill
      ->add_option("--chunk", chunk,
                   "Site-local days of minute data asked in one data/aggregate call (1d to 6d)")
      ->check(duration);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return ParseOutcome{std::nullopt, 0, app.help()};
  } catch (const CLI::CallForAllHelp&) {
    return ParseOutcome{std::nullopt, 0, app.help()};
  } catch (const CLI::CallForVersion&) {
    return ParseOutcome{std::nullopt, 0, version_line + "\n"};
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  }

  c.timeout = *util::parse_duration(timeout);
  if (c.timeout.count() <= 0) return fail("--tigo.timeout must be positive");
  for (std::size_t i = 0; i < std::size(settings); ++i) {
    c.*settings[i].value = *util::parse_duration(setting_text[i]);
    if ((c.*settings[i].value).count() <= 0)
      return fail(std::string(settings[i].name) + " must be positive");
  }
  if (shard_index) {
    c.shard_index = *shard_index;
  } else if (c.shard_count > 1) {
    // Guessing 0 would make every replica export shard 0 and leave the others unexported.
    const char* host = std::getenv("HOSTNAME");
    const auto from_pod = host ? shard_index_from_pod_name(host) : std::nullopt;
    if (!from_pod)
      return fail("--shard.count " + std::to_string(c.shard_count) +
                  " needs --shard.index, or HOSTNAME as a StatefulSet pod name ending in -N");
    c.shard_index = *from_pod;
  }
  if (c.shard_index >= c.shard_count)
    return fail("--shard.index " + std::to_string(c.shard_index) + " must be below --shard.count " +
                std::to_string(c.shard_count));
  if (!debug_time.empty()) {
    c.debug_time = util::parse_iso8601(debug_time);
    if (!c.debug_time) return fail("--debug.time: \"" + debug_time + "\" is not an ISO 8601 time");
  } else if (c.debug_speed != 0) {
    return fail("--debug.speed needs --debug.time");
  }
  util::log::parse_level(log_level, c.log_level);
  util::log::parse_format(log_format, c.log_format);
  if (c.telemetry_path.empty() || c.telemetry_path.front() != '/' || c.telemetry_path == "/")
    return fail("--web.telemetry-path must start with / and not be /");

  for (std::string_view rest = systems_csv; !rest.empty();) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    std::int64_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (ec != std::errc{} || ptr != item.data() + item.size() || id <= 0)
      return fail("--tigo.systems: \"" + std::string(item) + "\" is not a system id");
    c.systems.push_back(id);
  }

  if (!taptap_command.empty()) {
    auto words = split_command(taptap_command);
    if (!words || words->empty())
      return fail("--local.taptap.command: \"" + taptap_command +
                  "\" is not a command line (an unclosed quote?)");
    c.local.taptap_command = std::move(*words);
  }
  for (const auto& a : taptap_addresses) {
    auto address = parse_bus_address(a);
    if (!address)
      return fail("--local.taptap.address: \"" + a + "\" is not HOST:PORT, unix:PATH or -");
    c.local.taptap_addresses.push_back(std::move(*address));
  }
  c.local.stale_after = *util::parse_duration(stale_after);
  if (c.local.stale_after.count() <= 0) return fail("--local.stale-after must be positive");
  c.local.silence_restart = *util::parse_duration(silence_restart);
  if (c.local.silence_restart.count() < 0)
    return fail("--local.taptap.silence-restart must not be negative");

  if (backfill->parsed()) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    BackfillConfig b;
    b.from = *parse_backfill_time(from_text, now);
    b.to = *parse_backfill_time(to_text, now);
    b.output = output;
    if (b.to <= b.from) return fail("backfill: --to must be after --from");
    if (b.output.empty()) return fail("backfill: --output must name a file");
    const auto days = std::chrono::duration_cast<std::chrono::hours>(*util::parse_duration(chunk));
    if (days.count() % 24 != 0 || days.count() < 24 || days.count() > 6L * 24)
      return fail("backfill: --chunk must be whole days, 1d to 6d");
    b.chunk_days = static_cast<int>(days.count() / 24);
    if (c.demo)
      return fail("backfill: --demo is not supported (run tigo_sim and give its --tigo.api-url)");
    c.backfill = std::move(b);
  }

  if (c.demo) return ParseOutcome{std::move(c), 0, {}};

  auto base = util::parse_base_url(c.api_url);
  if (!base) return fail("--tigo.api-url: " + base.error().message);
  if (!base->https && !c.insecure_http && !is_loopback_host(base->host))
    return fail(
        "--tigo.api-url: http:// is allowed only for loopback hosts or with "
        "--tigo.insecure-http");

  // A token, a username with a password, or both (the token first, the password when the token
  // is refused). The client reads the files again later (a login, a refused token, SIGHUP).
  if (!c.token_file.empty()) {
    auto token = util::read_secret_file(c.token_file);
    if (!token) return fail("--tigo.token-file: " + token.error().message);
    if (token->empty()) return fail("--tigo.token-file: " + c.token_file + " is empty");
    c.token = std::move(*token);
  }
  if (!c.password_file.empty()) {
    auto password = util::read_secret_file(c.password_file);
    if (!password) return fail("--tigo.password-file: " + password.error().message);
    c.password = std::move(*password);
  } else if (const char* env = std::getenv("TIGO_PASSWORD")) {
    c.password = env;
  }
  if (!c.password.empty() && c.username.empty())
    return fail("a password (--tigo.password-file or TIGO_PASSWORD) needs --tigo.username");
  if (c.token.empty() && c.username.empty() && c.password.empty() && c.local.any_bus() &&
      !c.backfill) {
    c.cloud = false;  // local only: the bus alone
    return ParseOutcome{std::move(c), 0, {}};
  }
  if (c.token.empty() && (c.username.empty() || c.password.empty())) {
    return fail(
        "missing credential: give --tigo.username and --tigo.password-file (or TIGO_PASSWORD), "
        "or --tigo.token-file, or both, or a local source alone (--local.taptap.*), or run with "
        "--demo");
  }
  return ParseOutcome{std::move(c), 0, {}};
}

std::optional<std::chrono::sys_seconds> parse_backfill_time(std::string_view text,
                                                            std::chrono::sys_seconds now) {
  if (text == "now") return now;
  if (text.starts_with('-')) {
    const auto back = util::parse_duration(text.substr(1));
    if (!back || back->count() <= 0) return std::nullopt;
    return now - std::chrono::duration_cast<std::chrono::seconds>(*back);
  }
  return util::parse_iso8601(text);
}

std::optional<BusAddress> parse_bus_address(std::string_view text) {
  BusAddress a;
  if (text == "-") {
    a.kind = BusAddress::Kind::stdin_fd;
    return a;
  }
  if (text.starts_with("unix:")) {
    a.kind = BusAddress::Kind::unix_socket;
    a.path = std::string(text.substr(5));
    if (a.path.empty()) return std::nullopt;
    return a;
  }
  auto parsed = util::parse_listen_address(text);
  if (!parsed || parsed->host.empty() || parsed->port <= 0) return std::nullopt;
  a.host = parsed->host;
  a.port = parsed->port;
  return a;
}

std::optional<std::vector<std::string>> split_command(std::string_view text) {
  std::vector<std::string> argv;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char ch : text) {
    if (quote != 0) {
      if (ch == quote) {
        quote = 0;
      } else {
        word += ch;
      }
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      in_word = true;
    } else if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (in_word) argv.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += ch;
      in_word = true;
    }
  }
  if (quote != 0) return std::nullopt;
  if (in_word) argv.push_back(std::move(word));
  return argv;
}

std::optional<int> shard_index_from_pod_name(std::string_view name) {
  const auto dash = name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == name.size()) return std::nullopt;
  int index = 0;
  const auto digits = name.substr(dash + 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || index < 0) return std::nullopt;
  return index;
}

}  // namespace config
