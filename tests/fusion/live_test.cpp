// The local path at run time: a bus source (a command printing taptap's lines), the fusing thread
// publishing, and the local state file carrying the learned addresses over a restart.
#include "fusion/live.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

using namespace std::chrono_literals;

namespace {

constexpr const char* kInfra =
    R"({"event_type":"infrastructure_report","gateways":{},"nodes":{"4609":{"2":{"address":"04:C0:5B:40:00:9A:57:A2"}}}})";
constexpr const char* kReport =
    R"({"event_type":"power_report","gateway":4609,"node":2,"timestamp":"2026-06-21T14:00:05.5+00:00","voltage_in":30.5,"voltage_out":30.1,"current":5.0,"dc_dc_duty_cycle":1.0,"temperature":25.5,"rssi":150})";

// A taptap stand-in: prints the lines, then stays (as taptap does between reports).
local::SourceSpec printing(std::vector<std::string> lines) {
  std::string script = "printf '%s\\n'";
  for (const auto& l : lines) script += " '" + l + "'";
  script += "; exec sleep 60";
  auto spec = local::SourceSpec::command({"/bin/sh", "-c", script});
  spec.name = "taptap";
  return spec;
}

// Publishes collected until one satisfies `done`.
struct Published {
  std::mutex mutex;
  std::condition_variable cv;
  std::shared_ptr<const refresh::Snapshot> last;
  void operator()(const std::shared_ptr<const refresh::Snapshot>& s) {
    std::lock_guard lock(mutex);
    last = s;
    cv.notify_all();
  }
  template <class F>
  std::shared_ptr<const refresh::Snapshot> wait(F done) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return last && done(*last); });
    return last;
  }
};

const refresh::Panel* panel(const refresh::Snapshot& s, std::string_view label) {
  for (const auto& e : s.systems)
    for (const auto& p : e.panels)
      if (p.label == label) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE(
    "live fusion: bus lines become a published snapshot, the cloud's arrives beside them, "
    "and the learned addresses survive a restart",
    "[fusion][live]") {
  const auto dir = std::filesystem::temp_directory_path() / "tigo_live_fusion_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  fusion::LiveOptions options;
  options.state_path = (dir / "local-state.json").string();
  options.wall_clock = [] {
    return std::chrono::system_clock::time_point{
        std::chrono::sys_days{std::chrono::year{2026} / 6 / 21} + std::chrono::hours{14}};
  };
  const std::string barcode = local::format_barcode(0x04C05B40009A57A2).value();
  {
    Published published;
    fusion::LiveFusion live({}, {printing({kInfra, kReport})}, {}, options, std::ref(published));
    live.start();
    auto snap = published.wait([&](const refresh::Snapshot& s) { return panel(s, barcode); });
    REQUIRE(snap);
    const auto* p = panel(*snap, barcode);
    REQUIRE(p);
    CHECK(p->readings[tigo::PanelParam::power]->value == Approx(152.5));
    CHECK(p->source == refresh::ReadingSource::bus);
    CHECK(snap->local_sources.at(0).name == "taptap");
    CHECK(snap->built_at == std::chrono::floor<std::chrono::seconds>(options.wall_clock()));

    // The cloud's snapshot, once set, is fused in: its systems beside the bus's.
    auto cloud = std::make_shared<refresh::Snapshot>();
    refresh::SystemEntry e;
    e.system.system_id = 1001;
    cloud->systems.push_back(e);
    cloud->ready = true;
    live.set_cloud(cloud);
    snap = published.wait([](const refresh::Snapshot& s) { return s.ready; });
    REQUIRE(snap->systems.size() == 2);
    CHECK(snap->systems[1].system.system_id == 1001);
    CHECK(live.snapshot()->generation >= snap->generation);
    live.stop();
  }
  REQUIRE(std::filesystem::exists(options.state_path));

  // Restarted with only a power report: the address learned before names the node at once.
  {
    Published published;
    fusion::LiveFusion live({}, {printing({kReport})}, {}, options, std::ref(published));
    live.start();
    auto snap = published.wait([&](const refresh::Snapshot& s) { return panel(s, barcode); });
    REQUIRE(snap);
    CHECK(panel(*snap, barcode) != nullptr);
    CHECK(panel(*snap, "4609.2") == nullptr);
    // Its energy of the day was kept too (one reading: nothing integrated, but the day is known).
    REQUIRE(panel(*snap, barcode)->energy_today_wh);
    CHECK(*panel(*snap, barcode)->energy_today_wh == 0);
    live.stop();
  }

  // A file that fails its checks is not used, and the start is cold.
  {
    std::ofstream(options.state_path)
        << R"({"version":1,"sources":[{"name":"taptap","addresses":[[99999,2,"x"]]}],"energy":[]})";
    Published published;
    fusion::LiveFusion live({}, {printing({kReport})}, {}, options, std::ref(published));
    live.start();
    auto snap = published.wait([&](const refresh::Snapshot& s) { return panel(s, "4609.2"); });
    REQUIRE(snap);
    CHECK(panel(*snap, "4609.2") != nullptr);
    live.stop();
  }
  std::filesystem::remove_all(dir);
}
