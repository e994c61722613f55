#include "config/config.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

namespace {

config::ParseOutcome parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tigo_exporter");
  return config::parse(static_cast<int>(args.size()), args.data(), "tigo_exporter test");
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/tigo_config_testXXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("demo needs no credentials") {
  unsetenv("TIGO_PASSWORD");
  auto out = parse({"--demo"});
  REQUIRE(out.config.has_value());
  CHECK(out.config->demo);
  CHECK(out.config->listen_address == ":9980");
  CHECK(out.config->summary_interval == std::chrono::minutes(5));
}

TEST_CASE("a missing credential exits 2 with one line") {
  unsetenv("TIGO_PASSWORD");
  auto out = parse({"--tigo.username", "me"});
  CHECK_FALSE(out.config.has_value());
  CHECK(out.exit_code == 2);
  CHECK(out.output.find("missing credential") != std::string::npos);
  CHECK(out.output.find('\n') == std::string::npos);
}

TEST_CASE("a bad flag exits 2") {
  CHECK(parse({"--no-such-flag"}).exit_code == 2);
  auto bad_duration = parse({"--demo", "--refresh.summary-interval", "soon"});
  CHECK(bad_duration.exit_code == 2);
  CHECK(bad_duration.output.find("summary-interval") != std::string::npos);
  CHECK(parse({"--demo", "--log.level", "loud"}).exit_code == 2);
  for (const char* address : {"nope", "127.0.0.1:http", ":70000", "[::1]:"}) {
    auto bad_listen = parse({"--demo", "--web.listen-address", address});
    CHECK(bad_listen.exit_code == 2);
    CHECK(bad_listen.output.find("--web.listen-address") != std::string::npos);
    CHECK(bad_listen.output.find(address) != std::string::npos);
  }
  CHECK(parse({"--demo", "--web.listen-address", "[::1]:0"}).config.has_value());
}

TEST_CASE("password file is read and never echoed") {
  TempFile pw("s3cret-pass\n");
  auto out = parse({"--tigo.username", "me", "--tigo.password-file", pw.path.c_str(),
                    "--tigo.api-url", "http://127.0.0.1:1/api/v3/"});
  REQUIRE(out.config.has_value());
  CHECK(out.config->password == "s3cret-pass");
  CHECK(out.output.find("s3cret") == std::string::npos);
}

TEST_CASE("an unreadable secret file exits 2 naming the flag") {
  auto out = parse({"--tigo.username", "me", "--tigo.password-file", "/nonexistent/pw"});
  CHECK(out.exit_code == 2);
  CHECK(out.output.find("--tigo.password-file") != std::string::npos);
}

TEST_CASE("a token file and a password file are both read, with their paths") {
  unsetenv("TIGO_PASSWORD");
  TempFile pw("s3cret-pass\n");
  TempFile token("pre-issued-token\r\n");
  auto both = parse({"--tigo.username", "me", "--tigo.password-file", pw.path.c_str(),
                     "--tigo.token-file", token.path.c_str()});
  REQUIRE(both.config.has_value());
  CHECK(both.config->token == "pre-issued-token");
  CHECK(both.config->password == "s3cret-pass");
  CHECK(both.config->token_file == token.path);
  CHECK(both.config->password_file == pw.path);
  // A token alone, with or without a username.
  auto alone = parse({"--tigo.token-file", token.path.c_str()});
  REQUIRE(alone.config.has_value());
  CHECK(alone.config->password.empty());
  CHECK(
      parse({"--tigo.username", "me", "--tigo.token-file", token.path.c_str()}).config.has_value());
}

TEST_CASE("a password without a username, or an empty token file, exits 2") {
  unsetenv("TIGO_PASSWORD");
  TempFile pw("s3cret-pass\n");
  TempFile token("pre-issued-token\n");
  auto no_user =
      parse({"--tigo.password-file", pw.path.c_str(), "--tigo.token-file", token.path.c_str()});
  CHECK(no_user.exit_code == 2);
  CHECK(no_user.output.find("needs --tigo.username") != std::string::npos);
  CHECK(no_user.output.find("s3cret") == std::string::npos);
  TempFile empty("\n");
  auto empty_token = parse({"--tigo.token-file", empty.path.c_str()});
  CHECK(empty_token.exit_code == 2);
  CHECK(empty_token.output.find("--tigo.token-file: " + empty.path + " is empty") !=
        std::string::npos);
  auto missing = parse({"--tigo.token-file", "/nonexistent/token"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.output.find("--tigo.token-file: cannot read /nonexistent/token: No such file") !=
        std::string::npos);
}

TEST_CASE("TIGO_PASSWORD is accepted when no file is given") {
  setenv("TIGO_PASSWORD", "from-env", 1);
  auto out = parse({"--tigo.username", "me"});
  unsetenv("TIGO_PASSWORD");
  REQUIRE(out.config.has_value());
  CHECK(out.config->password == "from-env");
}

TEST_CASE("plain http only for loopback") {
  setenv("TIGO_PASSWORD", "x", 1);
  CHECK(
      parse({"--tigo.username", "me", "--tigo.api-url", "http://example.com/api/v3/"}).exit_code ==
      2);
  CHECK(parse({"--tigo.username", "me", "--tigo.api-url", "http://localhost:8080/api/v3/"})
            .config.has_value());
  unsetenv("TIGO_PASSWORD");
}

TEST_CASE("system filter parses a comma list") {
  auto out = parse({"--demo", "--tigo.systems", "12, 7,99"});
  REQUIRE(out.config.has_value());
  CHECK(out.config->systems == std::vector<std::int64_t>{12, 7, 99});
  CHECK(parse({"--demo", "--tigo.systems", "12,abc"}).exit_code == 2);
}

TEST_CASE("flags --help and --version exit 0") {
  auto help = parse({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--web.listen-address") != std::string::npos);
  CHECK(parse({"--version"}).output.find("tigo_exporter test") != std::string::npos);
}

TEST_CASE("shards: flags, pod names and bounds") {
  auto out = parse({"--demo", "--shard.count", "3", "--shard.index", "2"});
  REQUIRE(out.config.has_value());
  CHECK(out.config->shard_index == 2);
  CHECK(out.config->shard_count == 3);
  CHECK(parse({"--demo", "--shard.count", "3", "--shard.index", "3"}).exit_code == 2);
  setenv("HOSTNAME", "tigo-exporter-1", 1);
  auto from_pod = parse({"--demo", "--shard.count", "3"});
  unsetenv("HOSTNAME");
  REQUIRE(from_pod.config.has_value());
  CHECK(from_pod.config->shard_index == 1);
  setenv("HOSTNAME", "my-laptop", 1);
  auto unnamed = parse({"--demo", "--shard.count", "3"});
  unsetenv("HOSTNAME");
  CHECK(unnamed.exit_code == 2);
  CHECK(unnamed.output.find("--shard.index") != std::string::npos);
  CHECK(parse({"--demo", "--shard.count", "3"}).exit_code == 2);
  CHECK(config::shard_index_from_pod_name("tigo-exporter-12") == std::optional<int>(12));
  CHECK_FALSE(config::shard_index_from_pod_name("tigo-exporter").has_value());
  CHECK_FALSE(config::shard_index_from_pod_name("web-1a").has_value());
}

TEST_CASE("every refresh interval of docs/FLAGS.md is a flag with its default") {
  auto out = parse({"--demo", "--refresh.panels-interval", "90s", "--refresh.combined-interval",
                    "1h", "--alerts.window", "2d"});
  REQUIRE(out.config.has_value());
  CHECK(out.config->panels_interval == std::chrono::seconds(90));
  CHECK(out.config->combined_interval == std::chrono::hours(1));
  CHECK(out.config->alerts_window == std::chrono::hours(48));
  CHECK(out.config->sources_interval == std::chrono::seconds(120));
  CHECK(out.config->panels_lookback == std::chrono::hours(2));
  CHECK(parse({"--demo", "--refresh.alerts-interval", "0s"}).exit_code == 2);
}

TEST_CASE("the flags show Config's defaults in --help, and no flag keeps them") {
  auto help = parse({"--help"});
  CHECK(help.exit_code == 0);
  // The flags' defaults are Config's member initialisers, written as durations.
  for (const char* shown :
       {"--refresh.summary-interval TEXT=5m", "--refresh.panels-lookback TEXT=2h",
        "--alerts.window TEXT=1d", "--tigo.timeout TEXT=30s",
        "--log.level TEXT:{debug,info,warn,error}=info"}) {
    INFO(shown << "\n" << help.output);
    CHECK(help.output.find(shown) != std::string::npos);
  }
  auto out = parse({"--demo"});
  REQUIRE(out.config.has_value());
  const config::Config defaults;
  CHECK(out.config->layout_interval == std::chrono::hours(6));
  CHECK(out.config->layout_interval == defaults.layout_interval);
  CHECK(out.config->max_staleness == defaults.max_staleness);
  CHECK(out.config->timeout == defaults.timeout);
  CHECK(out.config->log_level == util::log::Level::info);
}

TEST_CASE("backfill: the subcommand with its times, output and the tigo flags") {
  unsetenv("TIGO_PASSWORD");
  TempFile pw("pw\n");
  // The tigo flags may come before or after the subcommand's own.
  auto out = parse({"--tigo.username", "me", "backfill", "--from", "2026-06-01", "--to",
                    "2026-06-02T12:30:00Z", "--output", "/tmp/x.om", "--tigo.password-file",
                    pw.path.c_str(), "--tigo.rate-limit", "30", "--chunk", "2d"});
  INFO(out.output);
  REQUIRE(out.config.has_value());
  REQUIRE(out.config->backfill.has_value());
  const auto& b = *out.config->backfill;
  CHECK(b.from == std::chrono::sys_days{std::chrono::year{2026} / 6 / 1});
  CHECK(b.to == std::chrono::sys_days{std::chrono::year{2026} / 6 / 2} + std::chrono::hours{12} +
                    std::chrono::minutes{30});
  CHECK(b.output == "/tmp/x.om");
  CHECK(b.chunk_days == 2);
  CHECK(out.config->rate_limit == 30);
  CHECK(out.config->password == "pw");
  // Without the subcommand there is no backfill.
  auto plain = parse({"--demo"});
  REQUIRE(plain.config.has_value());
  CHECK_FALSE(plain.config->backfill.has_value());
}

TEST_CASE("backfill: relative and offset times") {
  const auto now =
      std::chrono::sys_seconds{std::chrono::sys_days{std::chrono::year{2026} / 6 / 21}};
  CHECK(config::parse_backfill_time("now", now) == now);
  CHECK(config::parse_backfill_time("-7d", now) == now - std::chrono::hours{7 * 24});
  CHECK(config::parse_backfill_time("-1h30m", now) == now - std::chrono::minutes{90});
  CHECK(config::parse_backfill_time("2026-06-20T12:00:00+02:00", now) ==
        std::chrono::sys_days{std::chrono::year{2026} / 6 / 20} + std::chrono::hours{10});
  CHECK(config::parse_backfill_time("2026-06-20T12:00:00", now) ==
        std::chrono::sys_days{std::chrono::year{2026} / 6 / 20} + std::chrono::hours{12});
  CHECK_FALSE(config::parse_backfill_time("-0s", now).has_value());
  CHECK_FALSE(config::parse_backfill_time("yesterday", now).has_value());
  CHECK_FALSE(config::parse_backfill_time("2026-13-01", now).has_value());
}

TEST_CASE("backfill: bad input exits 2 with one line naming the problem") {
  unsetenv("TIGO_PASSWORD");
  TempFile pw("pw\n");
  auto with = [&](std::vector<const char*> args) {
    std::vector<const char*> all = {"--tigo.username", "me", "--tigo.password-file",
                                    pw.path.c_str(), "backfill"};
    all.insert(all.end(), args.begin(), args.end());
    return parse(all);
  };
  const struct {
    std::vector<const char*> args;
    const char* says;
  } cases[] = {
      {{"--from", "2026-06-02", "--to", "2026-06-01", "--output", "x"}, "--to must be after"},
      {{"--from", "2026-06-02", "--to", "2026-06-02", "--output", "x"}, "--to must be after"},
      {{"--from", "last week", "--to", "now", "--output", "x"}, "--from"},
      {{"--from", "-7d", "--to", "soon", "--output", "x"}, "--to"},
      {{"--from", "-7d", "--to", "now"}, "--output"},
      {{"--to", "now", "--output", "x"}, "--from"},
      {{"--from", "-7d", "--to", "now", "--output", ""}, "--output"},
      {{"--from", "-7d", "--to", "now", "--output", "x", "--chunk", "12h"}, "--chunk"},
      {{"--from", "-7d", "--to", "now", "--output", "x", "--chunk", "7d"}, "--chunk"},
  };
  for (const auto& c : cases) {
    auto out = with(c.args);
    INFO(out.output);
    CHECK_FALSE(out.config.has_value());
    CHECK(out.exit_code == 2);
    CHECK(out.output.find(c.says) != std::string::npos);
    CHECK(out.output.find('\n') == std::string::npos);
    CHECK(out.output.find("pw") == std::string::npos);
  }
  auto demo = parse({"--demo", "backfill", "--from", "-1d", "--to", "now", "--output", "x"});
  CHECK(demo.exit_code == 2);
  CHECK(demo.output.find("--demo") != std::string::npos);
  // And the credentials are checked as for the exporter.
  auto nocred = parse({"backfill", "--from", "-1d", "--to", "now", "--output", "x"});
  CHECK(nocred.exit_code == 2);
  CHECK(nocred.output.find("missing credential") != std::string::npos);
}

TEST_CASE("backfill: --help lists the subcommand, and its own help its flags") {
  auto top = parse({"--help"});
  CHECK(top.exit_code == 0);
  CHECK(top.output.find("backfill") != std::string::npos);
  auto sub = parse({"backfill", "--help"});
  CHECK(sub.exit_code == 0);
  for (const char* flag : {"--from", "--to", "--output", "--chunk", "--tigo."})
    CHECK(sub.output.find(flag) != std::string::npos);
}

TEST_CASE(
    "debug clock: --debug.time sets the exporter's clock, --debug.speed runs it, speed alone exits "
    "2") {
  auto none = parse({"--demo"});
  REQUIRE(none.config.has_value());
  CHECK_FALSE(none.config->debug_time.has_value());
  auto pinned = parse({"--demo", "--debug.time", "2026-06-21T12:00:00Z"});
  REQUIRE(pinned.config.has_value());
  CHECK(pinned.config->debug_time ==
        std::chrono::sys_days{std::chrono::June / 21 / 2026} + std::chrono::hours{12});
  CHECK(pinned.config->debug_speed == 0);
  auto fast = parse({"--demo", "--debug.time", "2026-06-21T12:00:00Z", "--debug.speed", "60"});
  REQUIRE(fast.config.has_value());
  CHECK(fast.config->debug_speed == 60);
  auto alone = parse({"--demo", "--debug.speed", "60"});
  CHECK(alone.exit_code == 2);
  CHECK(alone.output == "tigo_exporter: --debug.speed needs --debug.time");
  auto bad = parse({"--demo", "--debug.time", "noon"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("--debug.time") != std::string::npos);
  CHECK(
      parse({"--demo", "--debug.time", "2026-06-21T12:00:00Z", "--debug.speed", "-1"}).exit_code ==
      2);
}

TEST_CASE("local sources: a taptap command, addresses, and the bus alone without a credential") {
  unsetenv("TIGO_PASSWORD");
  auto out = parse({"--local.taptap.command", "taptap observe --tcp '192.168.1.20' --port \"502\"",
                    "--local.taptap.address", "127.0.0.1:7160", "--local.taptap.address",
                    "unix:/run/taptap.sock", "--local.taptap.address", "-", "--local.stale-after",
                    "90s", "--local.taptap.silence-restart", "0"});
  REQUIRE(out.config.has_value());
  const auto& l = out.config->local;
  CHECK(l.taptap_command ==
        std::vector<std::string>{"taptap", "observe", "--tcp", "192.168.1.20", "--port", "502"});
  REQUIRE(l.taptap_addresses.size() == 3);
  CHECK(l.taptap_addresses[0].kind == config::BusAddress::Kind::tcp);
  CHECK(l.taptap_addresses[0].host == "127.0.0.1");
  CHECK(l.taptap_addresses[0].port == 7160);
  CHECK(l.taptap_addresses[1].kind == config::BusAddress::Kind::unix_socket);
  CHECK(l.taptap_addresses[1].path == "/run/taptap.sock");
  CHECK(l.taptap_addresses[2].kind == config::BusAddress::Kind::stdin_fd);
  CHECK(l.stale_after == std::chrono::seconds{90});
  CHECK(l.silence_restart.count() == 0);
  CHECK_FALSE(out.config->cloud);  // no credential: the bus alone

  auto both = parse({"--local.taptap.address", "127.0.0.1:7160", "--tigo.username", "u",
                     "--tigo.token-file", TempFile("t\n").path.c_str()});
  REQUIRE(both.config.has_value());
  CHECK(both.config->cloud);
  CHECK(parse({"--tigo.username", "u"}).exit_code == 2);  // a local source is what excuses none
}

TEST_CASE("local sources: bad values exit 2 naming the flag") {
  const std::pair<std::vector<const char*>, const char*> cases[] = {
      {{"--local.taptap.address", "nowhere"}, "--local.taptap.address"},
      {{"--local.taptap.address", "unix:"}, "--local.taptap.address"},
      {{"--local.taptap.command", "taptap 'observe"}, "--local.taptap.command"},
      {{"--local.taptap.command", "   "}, "--local.taptap.command"},
      {{"--local.taptap.address", "127.0.0.1:1", "--local.stale-after", "0"},
       "--local.stale-after"},
  };
  for (const auto& [args, flag] : cases) {
    auto out = parse(args);
    INFO(out.output);
    CHECK(out.exit_code == 2);
    CHECK_THAT(out.output, Catch::Contains(flag));
  }
}

TEST_CASE("split_command: words, quotes, no shell") {
  CHECK(config::split_command("a  b\tc") == std::vector<std::string>{"a", "b", "c"});
  CHECK(config::split_command("a 'b c' \"d e\" f'g h'") ==
        std::vector<std::string>{"a", "b c", "d e", "fg h"});
  CHECK(config::split_command("a ''") == std::vector<std::string>{"a", ""});
  CHECK(config::split_command("$(rm -rf /)") == std::vector<std::string>{"$(rm", "-rf", "/)"});
  CHECK_FALSE(config::split_command("a \"b").has_value());
}
