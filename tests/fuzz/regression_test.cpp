// Every seed of the fuzz corpora (fuzz/corpus/<target>/, and the recorded answers of tests/data
// for the JSON and CSV parsers) and every input that ever crashed a fuzz target
// (tests/fuzz/regressions/<target>/) replayed through the target's own entry function: no
// crash (the ASan+UBSan unit job runs this too) and every property of the target holds.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "targets.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kTestData = TIGO_TEST_DATA_DIR;
const fs::path kRegressions = kTestData.parent_path() / "fuzz" / "regressions";
const fs::path kCorpus = kTestData.parent_path().parent_path() / "fuzz" / "corpus";

// The recorded API answers seed these targets too (scripts/fuzz.sh passes tests/data to them).
bool seeded_by_test_data(std::string_view target) { return target == "json" || target == "csv"; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> files_in(const fs::path& dir, std::string_view extension = "") {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
    if (!extension.empty() && entry.path().extension() != extension) continue;
    out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> folder_names(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) out.insert(entry.path().filename().string());
  return out;
}

// Replays every input of the target; returns how many seeds (not counting regressions) it had.
std::size_t replay(std::string_view name) {
  const fuzz::Target* target = fuzz::find_target(name);
  REQUIRE(target != nullptr);
  auto inputs = files_in(kCorpus / name);
  const std::size_t seeds = inputs.size();
  if (seeded_by_test_data(name)) {
    for (const auto* ext : {".json", ".csv", ".txt"})
      for (auto& p : files_in(kTestData, ext)) inputs.push_back(std::move(p));
  }
  for (auto& p : files_in(kRegressions / name)) inputs.push_back(std::move(p));
  for (const auto& path : inputs) {
    INFO("input " << path.string());
    const std::string input = read_file(path);
    CHECK_NOTHROW(target->run(input));
  }
  return seeds;
}

}  // namespace

TEST_CASE("fuzz corpora: one seed folder per target and no other", "[fuzz]") {
  std::set<std::string> names;
  for (const auto& t : fuzz::targets()) names.insert(std::string(t.name));
  CHECK(folder_names(kCorpus) == names);
  // A regression folder of a target that no longer exists would be replayed by nothing.
  for (const auto& folder : folder_names(kRegressions)) CHECK(names.count(folder) == 1);
}

#define TIGO_FUZZ_REPLAY(target)                                                         \
  TEST_CASE("fuzz target " target ": seeds and past crashes replay cleanly", "[fuzz]") { \
    CHECK(replay(target) > 0);                                                           \
  }

TIGO_FUZZ_REPLAY("json")
TIGO_FUZZ_REPLAY("csv")
TIGO_FUZZ_REPLAY("web_config")
TIGO_FUZZ_REPLAY("basic_auth")
TIGO_FUZZ_REPLAY("duration")
TIGO_FUZZ_REPLAY("time")
TIGO_FUZZ_REPLAY("url")
TIGO_FUZZ_REPLAY("listen_address")
TIGO_FUZZ_REPLAY("sim_query")
TIGO_FUZZ_REPLAY("rate_headers")
TIGO_FUZZ_REPLAY("state_file")
TIGO_FUZZ_REPLAY("taptap_event")
TIGO_FUZZ_REPLAY("http_request")
TIGO_FUZZ_REPLAY("cca_parse")
