// The exporter under slow and idle clients: 40 connections that trickle a request, sit idle after
// one, or say nothing, held open (and reopened when closed) from another address while a scraper
// with credentials keeps asking. Asserts answers, not times: every scrape answered whole, the
// trickling and silent connections ended by the server although they kept sending or stayed
// connected, refused credentials counted.
#include "support/slow_clients.hpp"

#include <crypt.h>
#include <httplib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <thread>

#include "support/process.hpp"

using namespace std::chrono_literals;
using testing::Process;
using testing::SlowClients;
using testing::SlowMode;
using testing::TempDir;

namespace {

std::string bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  REQUIRE(hash != nullptr);
  return hash;
}

// The value of a sample line "name{labels} value" in an exposition, or -1.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("slow clients: 40 trickling, idle and silent connections never silence /metrics") {
  TempDir dir;
  const std::string web_yml =
      dir.file("web.yml", "basic_auth_users:\n  prom: " + bcrypt("scrape-me") + "\n");
  Process exporter({TIGO_EXPORTER_BIN, "--demo", "--web.listen-address", "127.0.0.1:0",
                    "--web.config.file", web_yml},
                   dir.path() + "/exporter.log");
  const auto port =
      exporter.wait_for_log(std::regex("msg=listening address=127\\.0\\.0\\.1:(\\d+)"), 20s);
  INFO(exporter.log());
  REQUIRE(port.has_value());

  testing::SlowClientsOptions attack;
  attack.port = std::stoi(*port);
  attack.sources = {"127.0.0.2"};  // the scraper is 127.0.0.1: its own per-client budget
  attack.slowloris = 14;
  attack.idle = 13;
  attack.silent = 13;
  attack.line_interval = 1s;  // more often than any per-read timeout would allow
  SlowClients clients(attack);
  for (int i = 0; i < 200 && clients.connects() < 40; ++i) std::this_thread::sleep_for(20ms);
  REQUIRE(clients.connects() >= 40);

  httplib::Client scraper("127.0.0.1", attack.port);
  scraper.set_basic_auth("prom", "scrape-me");
  scraper.set_connection_timeout(10);
  scraper.set_read_timeout(10);  // only a hang fails here: the bench measures the times
  int answered = 0;
  std::string last;
  // Long enough for the server's deadlines (5 s) to end the first round of slow connections.
  for (int i = 0; i < 16; ++i) {
    auto res = scraper.Get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
    if (res->status == 200 && res->body.find("tigo_exporter_build_info{") != std::string::npos &&
        res->body.ends_with("\n")) {
      ++answered;
      last = res->body;
    }
    std::this_thread::sleep_for(500ms);
  }
  CHECK(answered == 16);
  httplib::Client wrong("127.0.0.1", attack.port);
  wrong.set_basic_auth("prom", "guess");
  auto refused = wrong.Get("/metrics");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  auto health = scraper.Get("/-/healthy");
  REQUIRE(health);
  CHECK(health->status == 200);

  // The server ended trickling requests and silent connections although each kept its side
  // open; the idle ones got their answer (401: no credentials) and were closed after it.
  CHECK(clients.closed_by_server(SlowMode::slowloris) >= 14);
  CHECK(clients.closed_by_server(SlowMode::silent) >= 13);
  CHECK(clients.idle_answers() >= 13);
  CHECK(clients.closed_by_server(SlowMode::idle) >= 13);

  // Refusals are counted: the idle clients' anonymous requests, and the wrong password.
  auto after = scraper.Get("/metrics");
  REQUIRE(after);
  CHECK(sample(after->body, "tigo_exporter_web_auth_failures_total{reason=\"missing\"}") >= 13);
  CHECK(sample(after->body, "tigo_exporter_web_auth_failures_total{reason=\"invalid\"}") >= 1);
  CHECK(exporter.stop() == 0);
}
