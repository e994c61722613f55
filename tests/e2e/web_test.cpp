// The exporter binary's web side: --web.config.file (bad files exit 2 with one line; mutual TLS;
// a certificate rotated on disk served without a restart) and OpenMetrics, negotiated as
// Prometheus asks and read by Prometheus' own parser (promtool). Loopback only.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "support/pki.hpp"
#include "support/process.hpp"
#include "util/gzip.hpp"

using namespace std::chrono_literals;
using testing::Pki;
using testing::Process;
using testing::TempDir;

namespace {

// What Prometheus 2.42 sends with every scrape.
constexpr const char* kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// The subject of the certificate a fresh TLS connection is served, by `openssl s_client`.
std::string served_subject(const std::string& port, const Pki& pki) {
  auto [code, out] = testing::run_to_completion(
      {"/bin/sh", "-c",
       "openssl s_client -connect 127.0.0.1:" + port + " -CAfile " + pki.crt("ca") + " -cert " +
           pki.crt("client") + " -key " + pki.key("client") +
           " </dev/null 2>/dev/null | openssl x509 -noout -subject"},
      20s);
  return code == 0 ? out : "";
}

template <class Client>
void wait_ready(Client& c) {
  for (int i = 0; i < 100; ++i) {
    auto r = c.Get("/-/ready");
    if (r && r->status == 200) return;
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace

TEST_CASE("web config: a bad file exits 2 at start with one line naming the problem") {
  Pki pki;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
       "  client_auth_type: Sometimes\n",
       "invalid ClientAuth: Sometimes"},
      {"tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
       "failed to read cert_file"},
      {"http_server_config:\n  headers:\n    Server: tigo\n",
       "HTTP header \"Server\" can not be configured"},
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
       "  min_version: TLS9\n",
       "unknown TLS version: TLS9"},
  };
  for (const auto& [yaml, message] : bad) {
    INFO(yaml);
    testing::write(pki.dir() + "/web.yml", yaml);
    auto [code, out] =
        testing::run_to_completion({TIGO_EXPORTER_BIN, "--demo", "--web.listen-address",
                                    "127.0.0.1:0", "--web.config.file", pki.dir() + "/web.yml"},
                                   20s);
    INFO(out);
    CHECK(code == 2);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK(out.rfind("tigo_exporter: --web.config.file: " + pki.dir() + "/web.yml: ", 0) == 0);
    CHECK(out.find(message) != std::string::npos);
  }
}

TEST_CASE(
    "web config: mutual TLS end to end, and a certificate rotated on disk is served to new "
    "connections without a restart") {
  // The refused client is hung up on; its write must fail, not kill the test with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  Pki pki;
  std::filesystem::copy_file(pki.crt("server"), pki.dir() + "/live.crt");
  std::filesystem::copy_file(pki.key("server"), pki.dir() + "/live.key");
  pki.crt("client");
  testing::write(pki.dir() + "/web.yml",
                 "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n"
                 "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                 "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n");
  Process exporter({TIGO_EXPORTER_BIN, "--demo", "--web.listen-address", "127.0.0.1:0",
                    "--web.config.file", pki.dir() + "/web.yml"},
                   pki.dir() + "/exporter.log");
  const auto address = exporter.wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
  INFO(exporter.log());
  REQUIRE(address.has_value());
  const auto port = address->substr(address->rfind(':') + 1);
  CHECK(exporter.log().find("url=https://") != std::string::npos);

  httplib::SSLClient scraper("127.0.0.1", std::stoi(port), pki.crt("client"), pki.key("client"));
  scraper.set_ca_cert_path(pki.crt("ca").c_str());
  scraper.enable_server_certificate_verification(true);
  wait_ready(scraper);
  // httplib's client inflates only the first gzip member of a body; Prometheus (Go) reads them
  // all, as util::gzip_decompress does.
  scraper.set_decompress(false);
  auto res = scraper.Get(
      "/metrics", httplib::Headers{{"Accept", kPrometheusAccept}, {"Accept-Encoding", "gzip"}});
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(res->get_header_value("Content-Encoding") == "gzip");
  CHECK(res->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(util::gzip_decompress(res->body).ends_with("\n# EOF\n"));

  httplib::SSLClient anonymous("127.0.0.1", std::stoi(port));
  anonymous.set_ca_cert_path(pki.crt("ca").c_str());
  anonymous.enable_server_certificate_verification(true);
  CHECK_FALSE(anonymous.Get("/metrics"));

  CHECK(served_subject(port, pki).find("CN = server") != std::string::npos);
  // Key first, then certificate: in between, the pair does not match and is refused (logged),
  // the old one served; then the new pair is taken up by the poll, not a signal.
  testing::write(pki.dir() + "/live.key", testing::slurp(pki.key("rotated")));
  testing::write(pki.dir() + "/live.crt", testing::slurp(pki.crt("rotated")));
  std::string subject;
  for (int i = 0; i < 60 && subject.find("CN = rotated") == std::string::npos; ++i) {
    std::this_thread::sleep_for(250ms);
    subject = served_subject(port, pki);
  }
  CHECK(subject.find("CN = rotated") != std::string::npos);
  CHECK(exporter.log().find("msg=\"web config reloaded\"") != std::string::npos);
  CHECK(exporter.log().find("trigger=change") != std::string::npos);
  // Scrapes go on (new connections, the new certificate from the same CA).
  CHECK(scraper.Get("/metrics")->status == 200);
  CHECK_FALSE(exporter.wait_exit(100ms).has_value());
  CHECK(exporter.stop() == 0);
}

TEST_CASE(
    "OpenMetrics: negotiated with Prometheus' Accept header and read by Prometheus' parser, "
    "text 0.0.4 otherwise") {
  TempDir dir;
  Process demo({TIGO_EXPORTER_BIN, "--demo", "--web.listen-address", "127.0.0.1:0"},
               dir.path() + "/demo.log");
  const auto address = demo.wait_for_log(std::regex("msg=listening address=(\\S+)"), 10s);
  INFO(demo.log());
  REQUIRE(address.has_value());
  httplib::Client c("http://" + *address);
  wait_ready(c);

  auto om = c.Get("/metrics", httplib::Headers{{"Accept", kPrometheusAccept}});
  auto text = c.Get("/metrics");
  REQUIRE(om);
  REQUIRE(text);
  CHECK(om->get_header_value("Content-Type") ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
  CHECK(text->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(om->body.ends_with("\n# EOF\n"));
  CHECK(om->body.find("# TYPE tigo_system_dc_energy_joules counter\n") != std::string::npos);
  CHECK(om->body.find("# UNIT tigo_system_dc_power_watts watts\n") != std::string::npos);
  CHECK(om->body.find("# TYPE tigo_api_requests counter\n") != std::string::npos);
  CHECK(text->body.find("# EOF") == std::string::npos);
  CHECK(text->body.find("# UNIT") == std::string::npos);

  // Prometheus' OpenMetrics parser, strict (promtool's backfill reads the file with it): it
  // wants timestamps, so every sample line gets one.
  std::istringstream in(om->body);
  std::string stamped;
  for (std::string line; std::getline(in, line);)
    stamped += line + (line.empty() || line[0] == '#' ? "\n" : " 1700000000\n");
  const auto file = dir.file("metrics.om", stamped);
  auto [om_code, om_out] =
      testing::run_to_completion({"/usr/bin/promtool", "tsdb", "create-blocks-from", "openmetrics",
                                  file, dir.path() + "/blocks"},
                                 60s);
  INFO(om_out);
  CHECK(om_code == 0);
  // promtool check metrics reads text 0.0.4 (lint advice on names aside).
  const auto text_file = dir.file("metrics.txt", text->body);
  auto [code, out] =
      testing::run_to_completion({"/bin/sh", "-c", "promtool check metrics < " + text_file}, 30s);
  INFO(out);
  CHECK((code == 0 || code == 3));
  CHECK(out.find("error") == std::string::npos);
  CHECK(demo.stop() == 0);
}
