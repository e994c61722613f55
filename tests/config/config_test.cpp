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

TEST_CASE("--help and --version exit 0") {
  auto help = parse({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--web.listen-address") != std::string::npos);
  CHECK(parse({"--version"}).output.find("tigo_exporter test") != std::string::npos);
}
