// The exporter process around its data: an exclusive listen port, SIGHUP.
#include <crypt.h>
#include <httplib.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "support/process.hpp"

using namespace std::chrono_literals;
using testing::Process;
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

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

int status_of(const std::string& address, const std::string& path) {
  httplib::Client c("http://" + address);
  c.set_read_timeout(10);
  auto res = c.Get(path);
  return res ? res->status : -1;
}

}  // namespace

TEST_CASE("lifecycle: an exporter on a port another server holds exits 1 naming the reason") {
  TempDir dir;
  Process sim({TIGO_SIM_BIN, "--listen", "127.0.0.1:0"}, dir.path() + "/sim.log");
  const auto port =
      sim.wait_for_log(std::regex("listening on http://127\\.0\\.0\\.1:(\\d+)/"), 10s);
  REQUIRE(port.has_value());
  auto [code, out] = testing::run_to_completion(
      {TIGO_EXPORTER_BIN, "--demo", "--web.listen-address", "127.0.0.1:" + *port}, 20s);
  INFO(out);
  CHECK(code == 1);
  CHECK(out.find("cannot listen on 127.0.0.1:" + *port + ": Address already in use") !=
        std::string::npos);
  // The holder keeps every connection: it still answers.
  httplib::Client c("127.0.0.1", std::stoi(*port));
  auto res = c.Get("/api/v3/users/login");
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(sim.stop() == 0);
}

TEST_CASE("lifecycle: SIGHUP is logged, re-reads the web config and never stops the exporter") {
  TempDir dir;
  const std::string web_yml = dir.path() + "/web.yml";
  write_file(web_yml, "");
  Process exporter({TIGO_EXPORTER_BIN, "--demo", "--web.listen-address", "127.0.0.1:0",
                    "--web.config.file", web_yml},
                   dir.path() + "/exporter.log");
  const auto address = exporter.wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
  INFO(exporter.log());
  REQUIRE(address.has_value());
  CHECK(status_of(*address, "/metrics") == 200);

  // A user added to the file guards the endpoints after the reload.
  write_file(web_yml, "basic_auth_users:\n  prom: " + bcrypt("scrape-me") + "\n");
  REQUIRE(kill(exporter.pid(), SIGHUP) == 0);
  CHECK(exporter.wait_for_log(std::regex("msg=\"(web config reloaded)\""), 10s).has_value());
  CHECK_FALSE(exporter.wait_exit(500ms).has_value());
  CHECK(exporter.log().find("msg=\"reload requested\"") != std::string::npos);
  CHECK(status_of(*address, "/metrics") == 401);
  httplib::Client authorized("http://" + *address);
  authorized.set_basic_auth("prom", "scrape-me");
  auto res = authorized.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body.find("tigo_exporter_build_info") != std::string::npos);

  // A bad file is refused once and the one in use is kept.
  write_file(web_yml, "basic_auth_users: [not, a, mapping]\n");
  REQUIRE(kill(exporter.pid(), SIGHUP) == 0);
  CHECK(exporter.wait_for_log(std::regex("msg=\"(web config not reloaded)[^\"]*\""), 10s)
            .has_value());
  CHECK_FALSE(exporter.wait_exit(500ms).has_value());
  CHECK(status_of(*address, "/metrics") == 401);
  CHECK(authorized.Get("/metrics")->status == 200);

  CHECK(exporter.stop() == 0);
  CHECK(exporter.log().find("msg=\"shutting down\"") != std::string::npos);
}
