// The OpenMetrics lines and the spool that orders them: escaping, timestamps, families whole,
// series together in time order, `# EOF`, atomic output.
#include "backfill/openmetrics.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "../support/openmetrics.hpp"
#include "backfill/spool.hpp"
#include "backfill_fixture.hpp"
#include "metrics/exposition.hpp"

namespace fs = std::filesystem;
using backfill::Family;
using backfill::Spool;
using backfill::Timestamp;

using backfilltest::slurp;
using backfilltest::TempDir;

namespace {

Timestamp at(std::int64_t s) { return Timestamp{std::chrono::seconds{s}}; }

const std::vector<Family> kFamilies = {
    {"a_watts", "gauge", "watts", "A power."},
    {"b_rssi", "gauge", "", "B, raw."},
    {"c_volts", "gauge", "volts", "Never written."},
};

std::string line(std::string_view name, std::string_view labels, double v, std::int64_t t) {
  std::string out;
  backfill::append_sample(out, name, labels, v, at(t));
  return out;
}

}  // namespace

TEST_CASE("family headers: TYPE, UNIT when known, HELP escaped", "[backfill][openmetrics]") {
  std::string out;
  backfill::append_family_header(out, {"tigo_panel_power_watts", "gauge", "watts", "Power."});
  CHECK(out ==
        "# TYPE tigo_panel_power_watts gauge\n# UNIT tigo_panel_power_watts watts\n"
        "# HELP tigo_panel_power_watts Power.\n");
  out.clear();
  backfill::append_family_header(out, {"tigo_panel_rssi", "gauge", "", "Raw \"0-255\" a\\b\nc"});
  CHECK(out ==
        "# TYPE tigo_panel_rssi gauge\n# HELP tigo_panel_rssi Raw \\\"0-255\\\" a\\\\b\\nc\n");
}

TEST_CASE("samples carry escaped labels, the value and Unix seconds", "[backfill][openmetrics]") {
  const auto labels = metrics::LabelBlock()
                          .add("system_id", "1001")
                          .add("panel", "M\xC3\xBCller \"A\\1\"\nx")
                          .str();
  CHECK(line("tigo_panel_power_watts", labels, 231.456, 1781913600) ==
        "tigo_panel_power_watts{system_id=\"1001\",panel=\"M\xC3\xBCller \\\"A\\\\1\\\"\\nx\"} "
        "231.456 1781913600\n");
  CHECK(line("x", "", 0, 0) == "x 0 0\n");
  CHECK(line("x", "", 1e21, 1) == "x 1e+21 1\n");
  CHECK(line("x", "", -0.05, 1700000000) == "x -0.05 1700000000\n");
  // What the test reader makes of it: the same label value and timestamp.
  const auto parsed =
      testing::om::parse("# TYPE tigo_panel_power_watts gauge\n" +
                         line("tigo_panel_power_watts", labels, 231.456, 1781913600) + "# EOF\n");
  REQUIRE(parsed.problems.empty());
  REQUIRE(parsed.samples.size() == 1);
  CHECK(parsed.samples[0].labels.at("panel") == "M\xC3\xBCller \"A\\1\"\nx");
  CHECK(parsed.samples[0].timestamp == 1781913600);
}

TEST_CASE("the spool writes families whole and series together, in the order added",
          "[backfill][spool]") {
  TempDir dir;
  const std::string output = dir.path + "/out.om";
  auto made = Spool::create(output, kFamilies);
  REQUIRE(made.ok());
  auto& spool = **made;
  // System 1, two chunks of time, series and families interleaved as the API answers them.
  for (int chunk = 0; chunk < 2; ++chunk) {
    const std::int64_t t0 = 1000 + chunk * 100;
    for (std::uint32_t series = 0; series < 2; ++series) {
      const std::string labels = "system_id=\"1\",s=\"" + std::to_string(series) + "\"";
      REQUIRE_FALSE(
          spool.add(1, series, line("b_rssi", labels, 7, t0) + line("b_rssi", labels, 8, t0 + 60)));
      REQUIRE_FALSE(spool.add(0, series, line("a_watts", labels, 1, t0)));
    }
  }
  REQUIRE_FALSE(spool.end_system());
  REQUIRE_FALSE(spool.add(0, 0, line("a_watts", "system_id=\"2\"", 5, 1000)));
  REQUIRE_FALSE(spool.end_system());
  CHECK_FALSE(fs::exists(output));  // nothing at the final name before commit
  REQUIRE_FALSE(spool.commit());

  const auto text = slurp(output);
  CHECK(text ==
        "# TYPE a_watts gauge\n# UNIT a_watts watts\n# HELP a_watts A power.\n"
        "a_watts{system_id=\"1\",s=\"0\"} 1 1000\n"
        "a_watts{system_id=\"1\",s=\"0\"} 1 1100\n"
        "a_watts{system_id=\"1\",s=\"1\"} 1 1000\n"
        "a_watts{system_id=\"1\",s=\"1\"} 1 1100\n"
        "a_watts{system_id=\"2\"} 5 1000\n"
        "# TYPE b_rssi gauge\n# HELP b_rssi B, raw.\n"
        "b_rssi{system_id=\"1\",s=\"0\"} 7 1000\n"
        "b_rssi{system_id=\"1\",s=\"0\"} 8 1060\n"
        "b_rssi{system_id=\"1\",s=\"0\"} 7 1100\n"
        "b_rssi{system_id=\"1\",s=\"0\"} 8 1160\n"
        "b_rssi{system_id=\"1\",s=\"1\"} 7 1000\n"
        "b_rssi{system_id=\"1\",s=\"1\"} 8 1060\n"
        "b_rssi{system_id=\"1\",s=\"1\"} 7 1100\n"
        "b_rssi{system_id=\"1\",s=\"1\"} 8 1160\n"
        "# EOF\n");
  CHECK(testing::om::parse(text).problems.empty());
  CHECK(spool.bytes_written() == text.size());
  // Only the output is left: scratch files were never visible, the temp file was renamed.
  CHECK(dir.entries() == std::vector<std::string>{"out.om"});
  struct stat st {};
  REQUIRE(::stat(output.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("an empty run is just # EOF", "[backfill][spool]") {
  TempDir dir;
  auto spool = Spool::create(dir.path + "/empty.om", kFamilies);
  REQUIRE(spool.ok());
  REQUIRE_FALSE((*spool)->commit());
  CHECK(slurp(dir.path + "/empty.om") == "# EOF\n");
}

TEST_CASE("a spool dropped before commit leaves the old output and no temp file",
          "[backfill][spool]") {
  TempDir dir;
  const std::string output = dir.path + "/out.om";
  std::ofstream(output) << "previous\n";
  {
    auto spool = Spool::create(output, kFamilies);
    REQUIRE(spool.ok());
    CHECK(fs::exists((*spool)->temp_path()));
    CHECK((*spool)->temp_path().rfind(output + ".tmp-", 0) == 0);
    REQUIRE_FALSE((*spool)->add(0, 0, line("a_watts", "", 1, 1)));
  }
  CHECK(slurp(output) == "previous\n");
  CHECK(dir.entries() == std::vector<std::string>{"out.om"});
}

TEST_CASE("an output that cannot be written fails at creation", "[backfill][spool]") {
  TempDir dir;
  auto missing = Spool::create(dir.path + "/no/such/dir/out.om", kFamilies);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("no/such/dir") != std::string::npos);
  auto is_dir = Spool::create(dir.path, kFamilies);
  REQUIRE_FALSE(is_dir.ok());
  CHECK(is_dir.error().message.find("is a directory") != std::string::npos);
  CHECK_FALSE(Spool::create("", kFamilies).ok());
}

TEST_CASE("large segments cross the copy buffer intact", "[backfill][spool]") {
  TempDir dir;
  auto made = Spool::create(dir.path + "/big.om", kFamilies);
  REQUIRE(made.ok());
  auto& spool = **made;
  // ~3 MB per chunk and series: bigger than the 1 MiB buffers, so writes and reads go in pieces.
  std::int64_t t = 0;
  for (int chunk = 0; chunk < 3; ++chunk) {
    for (std::uint32_t series = 0; series < 2; ++series) {
      std::string lines;
      for (int i = 0; i < 40000; ++i)
        backfill::append_sample(lines, "a_watts", "s=\"" + std::to_string(series) + "\"", i,
                                at(t + i));
      REQUIRE_FALSE(spool.add(0, series, lines));
    }
    t += 40000;
  }
  REQUIRE_FALSE(spool.commit());
  const auto parsed = testing::om::parse(slurp(dir.path + "/big.om"));
  CHECK(parsed.problems.empty());
  CHECK(parsed.samples.size() == 3 * 2 * 40000);
}
