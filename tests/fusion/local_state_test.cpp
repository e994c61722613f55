// The local state file: what survives a restart, and that a bad file is refused, never trusted.
#include "fusion/local_state.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

using namespace std::chrono;

namespace {

fusion::LocalState sample() {
  fusion::LocalState s;
  s.addresses["taptap"] = {{4609, 2, 0x04C05B40009A57A2}, {4609, 3, 0x04C05B40009A57A3}};
  s.addresses["tcp:10.0.0.5:7160"] = {};
  fusion::PanelEnergy e;
  e.system_id = 1001;
  e.panel = "A \"1\"";
  e.day = sys_days{year{2026} / 6 / 1};
  e.wh = 1234.5678;
  e.last_time = time_point_cast<microseconds>(e.day + hours{14} + microseconds{123});
  e.last_w = 301.25;
  s.energy.push_back(e);
  return s;
}

}  // namespace

TEST_CASE("local state file: written and read back the same", "[fusion][local_state]") {
  const auto state = sample();
  const auto parsed = fusion::parse_local_state(fusion::format_local_state(state));
  REQUIRE(parsed);
  CHECK(*parsed == state);

  const auto dir = std::filesystem::temp_directory_path() / "tigo_local_state_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "local-state.json").string();
  REQUIRE(fusion::write_local_state(path, state));
  const auto read = fusion::read_local_state(path);
  REQUIRE(read);
  CHECK(*read == state);
  std::filesystem::remove_all(dir);
  CHECK_FALSE(fusion::read_local_state(path));
}

TEST_CASE("local state file: any value out of what we could have written refuses the file",
          "[fusion][local_state]") {
  const auto good = fusion::format_local_state(sample());
  const std::pair<std::string, std::string> edits[] = {
      {"\"version\":1", "\"version\":2"},
      {"[4609,2,", "[32768,2,"},
      {"[4609,2,", "[4609,0,"},
      {"\"04:C0:5B:40:00:9A:57:A2\"", "\"04:C0:5B\""},
      {"\"wh\":1234.5678", "\"wh\":-1"},
      {"\"wh\":1234.5678", "\"wh\":1e300"},
      {"\"last_w\":301.25", "\"last_w\":1e9"},
      {"\"day\":", "\"day\":1"},
      {"\"last_us\":", "\"last_us\":9"},
      {"\"panel\":\"A \\\"1\\\"\"", "\"panel\":\"\""},
      {"\"system\":1001", "\"system\":\"1001\""},
      {"{\"version\"", "[{\"version\""},
  };
  for (const auto& [from, to] : edits) {
    INFO(from << " -> " << to);
    auto text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    CHECK_FALSE(fusion::parse_local_state(text));
  }
  CHECK_FALSE(fusion::parse_local_state("not json"));
  CHECK_FALSE(fusion::parse_local_state(""));
}
