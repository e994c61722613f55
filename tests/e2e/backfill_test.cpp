// `tigo_exporter backfill` against a tigo_sim process with a fixed time and a small rate limit,
// imported by the real promtool, then read back through a real Prometheus at historical instants.
#include <httplib.h>
#include <simdjson.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/openmetrics.hpp"
#include "support/process.hpp"
#include "support/sim_api.hpp"
#include "tigo/csv.hpp"
#include "tigo/json_parse.hpp"
#include "tigo/local_time.hpp"
#include "util/time.hpp"

using namespace std::chrono_literals;
using testing::Process;
using testing::TempDir;

namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kSecret = "s3cret-backfill-pw";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using testing::SimApi;

// One value of a Prometheus instant query at `at`, if the query returned exactly one series.
std::optional<double> query_at(httplib::Client& prom, const std::string& expr, std::int64_t at) {
  auto res =
      prom.Get("/api/v1/query", httplib::Params{{"query", expr}, {"time", std::to_string(at)}},
               httplib::Headers{});
  if (!res || res->status != 200) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(res->body).get(doc)) return std::nullopt;
  simdjson::dom::array results;
  if (doc["data"]["result"].get_array().get(results) || results.size() != 1) return std::nullopt;
  std::string_view value;
  if ((*results.begin())["value"].at(1).get_string().get(value)) return std::nullopt;
  return std::stod(std::string(value));
}

}  // namespace

TEST_CASE("backfill: promtool imports the file and Prometheus answers the simulator's values") {
  REQUIRE(access(kPromtool, X_OK) == 0);  // Debian's prometheus package (scripts/setup.sh)
  REQUIRE(access(kPrometheus, X_OK) == 0);
  TempDir dir;
  // 20 requests a minute: the run needs about 30, so the governor has to wait for the window.
  Process sim(
      {TIGO_SIM_BIN, "--listen", "127.0.0.1:0", "--systems", "2", "--seed", "1", "--time",
       "2026-06-21T18:00:00Z", "--rate-limit", "20", "--users", std::string("demo:") + kSecret},
      dir.path() + "/sim.log");
  const auto api = sim.wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
  REQUIRE(api.has_value());

  const auto password = dir.file("password", std::string(kSecret) + "\n");
  const std::string output = dir.path() + "/backfill.om";
  const auto t0 = std::chrono::steady_clock::now();
  auto [code, log] = testing::run_to_completion(
      {TIGO_EXPORTER_BIN, "backfill", "--from", "2026-06-20", "--to", "2026-06-21T00:00:00Z",
       "--output", output, "--tigo.api-url", *api, "--tigo.username", "demo",
       "--tigo.password-file", password},
      240s);
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO(log);
  REQUIRE(code == 0);
  CHECK(log.find("msg=\"backfill finished\"") != std::string::npos);
  CHECK(log.find("rate_limited=0") != std::string::npos);
  CHECK(log.find(kSecret) == std::string::npos);
  CHECK(took > 30s);  // more calls than the limit: the run waited for budget, not for 429s
  httplib::Client sim_http(api->substr(0, api->find("/api/v3/")));
  auto stats = sim_http.Get("/sim/stats");
  REQUIRE(stats);
  CHECK(stats->body.find("\"429\"") == std::string::npos);

  // The file is well formed; promtool takes every sample of it.
  const auto text = slurp(output);
  const auto file = testing::om::parse(text);
  CHECK(file.problems.empty());
  REQUIRE(file.samples.size() > 1000);
  auto [created, created_out] = testing::run_to_completion(
      {kPromtool, "tsdb", "create-blocks-from", "openmetrics", output, dir.path() + "/data"}, 120s);
  INFO(created_out);
  REQUIRE(created == 0);
  auto [listed, listing] =
      testing::run_to_completion({kPromtool, "tsdb", "list", dir.path() + "/data"}, 60s);
  REQUIRE(listed == 0);
  std::size_t imported = 0;
  {
    std::istringstream in(listing);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream cols(line);
      std::string ulid, mint, maxt, duration;
      std::size_t samples = 0;
      if (cols >> ulid >> mint >> maxt >> duration >> samples) imported += samples;
    }
  }
  CHECK(imported == file.samples.size());  // none dropped as out of order or duplicate

  // A panel of the Athens system at 12:00 site time (09:00Z) and the system's power then, as
  // the simulator serves them.
  SimApi direct(*api, "demo", kSecret);
  const auto* athens = tigo::find_zone("Europe/Athens").value();
  tigo::CsvOptions keep;
  keep.keep_rows = true;
  auto pin = tigo::parse_csv(direct.get("data/aggregate?system_id=1001&level=min&param=Pin"
                                        "&header=id&start=2026-06-20T11:30:00"
                                        "&end=2026-06-20T12:30:00"),
                             keep);
  REQUIRE(pin.ok());
  const auto noon = tigo::LocalTime{date::local_days{date::year{2026} / 6 / 20}} + 12h;
  const std::int64_t at = tigo::local_to_utc(noon, athens).time_since_epoch().count();
  CHECK(at == util::parse_iso8601("2026-06-20T09:00:00Z")->time_since_epoch().count());
  std::string panel;
  double expected = 0;
  for (const auto& row : pin->rows) {
    if (row.time != noon) continue;
    for (std::size_t c = 0; c < row.cells.size(); ++c) {
      if (row.cells[c] && *row.cells[c] > 0 && panel.empty()) {
        panel = pin->columns[c].name;
        expected = *row.cells[c];
      }
    }
  }
  REQUIRE_FALSE(panel.empty());
  auto combined = tigo::parse_csv(direct.get("data/combined?system_id=1001&level=minute"
                                             "&start=2026-06-20T11:30:00&end=2026-06-20T12:30:00"),
                                  keep);
  REQUIRE(combined.ok());
  std::optional<double> system_power;
  for (const auto& row : combined->rows)
    if (row.time == noon && !row.cells.empty()) system_power = row.cells[0];
  REQUIRE(system_power.has_value());

  // Prometheus on the imported blocks (retention long enough for June's data).
  const int port = testing::free_loopback_port();
  const auto config = dir.file("prometheus.yml", "global:\n  scrape_interval: 1m\n");
  Process prometheus(
      {kPrometheus, "--config.file=" + config, "--storage.tsdb.path=" + dir.path() + "/data",
       "--storage.tsdb.retention.time=100y",
       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      dir.path() + "/prometheus.log");
  httplib::Client prom("http://127.0.0.1:" + std::to_string(port));
  prom.set_read_timeout(5);
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    auto r = prom.Get("/-/ready");
    ready = r && r->status == 200;
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  INFO(prometheus.log());
  REQUIRE(ready);
  const auto seen =
      query_at(prom, "tigo_panel_power_watts{system_id=\"1001\",object_id=\"" + panel + "\"}", at);
  REQUIRE(seen.has_value());
  CHECK(*seen == expected);
  const auto seen_system = query_at(prom, "tigo_system_dc_power_watts{system_id=\"1001\"}", at);
  REQUIRE(seen_system.has_value());
  CHECK(*seen_system == *system_power);
  // The minute after is another sample, not the same one seen through the lookback.
  const auto next = query_at(
      prom, "timestamp(tigo_panel_power_watts{system_id=\"1001\",object_id=\"" + panel + "\"})",
      at + 60);
  REQUIRE(next.has_value());
  CHECK(*next == static_cast<double>(at + 60));
  CHECK(prometheus.stop() == 0);
  CHECK(sim.stop() == 0);
}

TEST_CASE("backfill: a failed system exits 1 and keeps the file, a bad output exits 2") {
  TempDir dir;
  // "cheap" has no data subscription: every data call answers 402.
  Process sim({TIGO_SIM_BIN, "--listen", "127.0.0.1:0", "--systems", "2", "--time",
               "2026-06-21T18:00:00Z", "--users", std::string("cheap:") + kSecret + ":basic"},
              dir.path() + "/sim.log");
  const auto api = sim.wait_for_log(std::regex("listening on (http://\\S+)"), 10s);
  REQUIRE(api.has_value());
  const auto password = dir.file("password", std::string(kSecret) + "\n");
  const std::string output = dir.path() + "/out.om";
  auto args = [&](const std::string& out) {
    return std::vector<std::string>{TIGO_EXPORTER_BIN,
                                    "backfill",
                                    "--from",
                                    "-2d",
                                    "--to",
                                    "now",
                                    "--output",
                                    out,
                                    "--tigo.api-url",
                                    *api,
                                    "--tigo.username",
                                    "cheap",
                                    "--tigo.password-file",
                                    password};
  };
  auto [code, log] = testing::run_to_completion(args(output), 60s);
  INFO(log);
  CHECK(code == 1);
  CHECK(log.find("msg=\"backfill system failed\"") != std::string::npos);
  CHECK(log.find("failed=2") != std::string::npos);
  CHECK(log.find(kSecret) == std::string::npos);
  CHECK(slurp(output) == "# EOF\n");  // written: what succeeded, here nothing

  auto [bad, bad_out] = testing::run_to_completion(args(dir.path() + "/no/such/dir/x.om"), 20s);
  CHECK(bad == 2);
  CHECK(std::count(bad_out.begin(), bad_out.end(), '\n') == 1);
  CHECK(bad_out.find("no/such/dir") != std::string::npos);
  CHECK(sim.stop() == 0);
}
