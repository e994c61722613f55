// The refresher in-process against the simulator on a loopback port: jobs on worker threads, a
// snapshot published from another (the ThreadSanitizer run of CI watches this one).
#include "refresh/refresher.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "sim/demo.hpp"
#include "sim/model.hpp"
#include "sim/server.hpp"

using namespace std::chrono_literals;

namespace {

// The demo fleet served on a loopback port, and clients of it with a generous rate limit.
struct DemoApi {
  const sim::Fleet fleet{sim::demo_fleet_options()};
  const sim::Clock clock;
  std::unique_ptr<sim::Server> server;

  // `accounts`: the simulator's (demo:demo is the one the clients log in as).
  explicit DemoApi(std::vector<sim::Account> accounts = {{"demo", "demo", true, {}}}) {
    sim::ServerOptions so;
    so.accounts = std::move(accounts);
    so.port = 0;
    so.rate_limit = 100000;
    server = std::make_unique<sim::Server>(fleet, clock, so);
    REQUIRE(server->bind().ok());
    server->start();
  }
  ~DemoApi() { server->stop(); }

  std::shared_ptr<tigo::Client> client() const {
    tigo::ClientOptions co;
    co.base_url = server->base_url();
    co.credentials = {"demo", "demo", ""};
    co.rate_limit = 100000;
    co.timeout = 10s;
    auto client = tigo::Client::create(co);
    REQUIRE(client.ok());
    return std::shared_ptr<tigo::Client>(std::move(*client));
  }
};

}  // namespace

TEST_CASE("refresher: a ready snapshot with hierarchy, panels, gateways and summaries",
          "[refresher]") {
  DemoApi api;
  refresh::RefresherOptions ro;
  ro.panels_interval = 2s;
  ro.sources_interval = 2s;
  std::atomic<int> published{0};
  refresh::Refresher refresher(api.client(), ro,
                               [&](const std::shared_ptr<const refresh::Snapshot>& s) {
                                 CHECK(s->generation > 0);
                                 ++published;
                               });
  refresher.start();
  std::shared_ptr<const refresh::Snapshot> snap;
  for (int i = 0; i < 300; ++i) {
    snap = refresher.snapshot();
    // Panel power and the detail params come in separate fetches: wait for both.
    std::size_t with_panels = 0, details_pending = 0;
    for (const auto& e : snap->systems) {
      for (const auto& p : e.panels)
        if (p.readings[tigo::PanelParam::power]) {
          ++with_panels;
          break;
        }
      for (const auto& p : e.panels)
        details_pending += p.readings[tigo::PanelParam::power].has_value() &&
                           !p.readings[tigo::PanelParam::voltage].has_value();
    }
    if (snap->ready && with_panels >= 4 && details_pending == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  refresher.stop();
  api.server->stop();
  REQUIRE(snap->ready);
  REQUIRE(snap->systems.size() == 6);
  CHECK(published >= 1);
  CHECK(snap->user.has_value());
  std::size_t panels = 0, gateways = 0, with_summary = 0;
  for (const auto& e : snap->systems) {
    panels += e.panels.size();
    gateways += e.gateways.size();
    with_summary += e.summary.has_value();
    CHECK(e.state(refresh::Dataset::system).success);
    CHECK_FALSE(e.objects.empty());
  }
  CHECK(panels == 144);
  CHECK(gateways >= 6);
  CHECK(with_summary == 6);
  // Panel power follows the gateways' batches (10 minutes until their spacing is learned); the
  // rest keep their wanted intervals in a fleet this small.
  auto interval = [&](refresh::Dataset d) { return snap->intervals[static_cast<std::size_t>(d)]; };
  CHECK(interval(refresh::Dataset::panels) == Approx(600).margin(300));
  CHECK(interval(refresh::Dataset::sources) == 2);
  CHECK(interval(refresh::Dataset::summary) == 300);
  CHECK(snap->budget_plan.find("6 systems") == 0);

  // Temp is optional: exported for the systems that answer it, and only for those.
  std::size_t answering = 0;
  for (const auto& e : snap->systems) {
    const auto index = static_cast<std::size_t>(e.system.system_id - 1001);
    const bool has_temp = sim::make_context(api.fleet, api.fleet.system(index)).has_temp;
    answering += has_temp;
    std::size_t with_temp = 0, with_power = 0;
    for (const auto& p : e.panels) {
      with_temp += p.readings[tigo::PanelParam::temperature].has_value();
      with_power += p.readings[tigo::PanelParam::power].has_value();
    }
    INFO(e.system.system_id);
    if (has_temp)
      CHECK(with_temp == with_power);
    else
      CHECK(with_temp == 0);
  }
  CHECK(answering > 0);  // the demo fleet has both kinds
  CHECK(answering < 6);
}

TEST_CASE("Temp is asked for again only a day after it came back empty", "[refresher]") {
  refresh::SystemState s;
  const refresh::Timestamp t{std::chrono::sys_days{std::chrono::year{2026} / 6 / 1}};
  using tigo::PanelParam;
  CHECK(s.wants_param(PanelParam::temperature, t));
  CHECK(s.wants_param(PanelParam::power, t));
  s.unanswered_at[tigo::index_of(PanelParam::temperature)] = t;
  CHECK_FALSE(s.wants_param(PanelParam::temperature, t + 23h));
  CHECK(s.wants_param(PanelParam::power, t + 1h));
  CHECK(s.wants_param(PanelParam::temperature, t + 24h));
}

TEST_CASE("a shard that holds none of the account's systems is ready once the list answered",
          "[refresher]") {
  DemoApi api;
  // Six systems leave at least one of seven residues empty: that shard has no systems.
  constexpr int kShards = 7;
  std::set<int> taken;
  for (std::size_t i = 0; i < api.fleet.size(); ++i)
    taken.insert(static_cast<int>(api.fleet.system(i).system_id % kShards));
  int empty_shard = 0;
  while (taken.count(empty_shard)) ++empty_shard;
  REQUIRE(empty_shard < kShards);

  refresh::RefresherOptions ro;
  ro.systems = {{}, empty_shard, kShards};
  refresh::Refresher refresher(api.client(), ro,
                               [](const std::shared_ptr<const refresh::Snapshot>&) {});
  refresher.start();
  std::shared_ptr<const refresh::Snapshot> snap;
  for (int i = 0; i < 100; ++i) {
    snap = refresher.snapshot();
    if (snap->ready) break;
    std::this_thread::sleep_for(100ms);
  }
  refresher.stop();
  api.server->stop();
  CHECK(snap->ready);
  CHECK(snap->systems.empty());
  CHECK(snap->user.has_value());
}

TEST_CASE("systems whose data always fails do not hold readiness back", "[refresher]") {
  // Without the API subscription every data/* call answers 402, summaries included, for good.
  DemoApi api({{"demo", "demo", /*premium=*/false, {}}});
  refresh::RefresherOptions ro;
  refresh::Refresher refresher(api.client(), ro,
                               [](const std::shared_ptr<const refresh::Snapshot>&) {});
  refresher.start();
  std::shared_ptr<const refresh::Snapshot> snap;
  for (int i = 0; i < 100; ++i) {
    snap = refresher.snapshot();
    if (snap->ready) break;
    std::this_thread::sleep_for(100ms);
  }
  refresher.stop();
  api.server->stop();
  REQUIRE(snap->ready);
  REQUIRE(snap->systems.size() == 6);
  for (const auto& e : snap->systems) {
    INFO(e.system.system_id);
    const auto& summary = e.state(refresh::Dataset::summary);
    CHECK(summary.attempted);
    CHECK_FALSE(summary.success);
    CHECK_FALSE(e.summary.has_value());
    CHECK(e.state(refresh::Dataset::objects).success);  // what the account may see is served
  }
}

TEST_CASE("configured systems the list lacks are named, this shard's only", "[refresher]") {
  const refresh::SystemFilter all{{1001, 1002, 7777, 1002}, 0, 1};
  CHECK(all.unlisted({1001, 1003}) == std::vector<std::int64_t>{1002, 7777});
  CHECK(all.unlisted({1001, 1002, 7777}).empty());
  const refresh::SystemFilter odd_shard{{1001, 1002, 7777}, 1, 2};  // 1002 is the other shard's
  CHECK(odd_shard.unlisted({1003}) == std::vector<std::int64_t>{1001, 7777});
  CHECK(refresh::SystemFilter{}.unlisted({1001}).empty());
}

TEST_CASE("configured system ids the account does not list (--tigo.systems) show in the snapshot",
          "[refresher]") {
  DemoApi api({{"demo", "demo", true, {1001, 1003}}});
  refresh::RefresherOptions ro;
  ro.systems.only = {1001, 1002, 7777};
  refresh::Refresher refresher(api.client(), ro,
                               [](const std::shared_ptr<const refresh::Snapshot>&) {});
  refresher.start();
  std::shared_ptr<const refresh::Snapshot> snap;
  for (int i = 0; i < 100; ++i) {
    snap = refresher.snapshot();
    if (snap->ready) break;
    std::this_thread::sleep_for(100ms);
  }
  refresher.stop();
  api.server->stop();
  REQUIRE(snap->ready);
  REQUIRE(snap->systems.size() == 1);
  CHECK(snap->systems[0].system.system_id == 1001);
  CHECK(snap->unlisted_systems == std::vector<std::int64_t>{1002, 7777});
}

TEST_CASE("refresher: the wall clock stepping an hour back does not stop refreshing",
          "[refresher]") {
  DemoApi api;
  refresh::RefresherOptions ro;
  ro.sources_interval = 1s;  // gateways asked every second: the work a step would stop
  std::atomic<std::int64_t> offset_s{0};
  ro.clock = [&] {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
           std::chrono::seconds{offset_s.load()};
  };
  const auto requests = [&] {
    const auto json = api.server->stats().json("");
    const auto at = json.find("\"requests_total\":");
    REQUIRE(at != std::string::npos);
    return std::stoll(json.substr(at + 17));
  };
  refresh::Refresher refresher(api.client(), ro, nullptr);
  refresher.start();
  for (int i = 0; i < 300 && !refresher.snapshot()->ready; ++i) std::this_thread::sleep_for(100ms);
  REQUIRE(refresher.snapshot()->ready);
  std::this_thread::sleep_for(2s);
  offset_s = -3600;  // NTP steps the clock back an hour
  std::this_thread::sleep_for(2s);
  const auto before = requests();
  std::this_thread::sleep_for(4s);
  const auto after = requests();
  refresher.stop();
  // Six systems' gateways every second, less what the budget and in-flight limit hold back.
  CHECK(after - before >= 6);
}
