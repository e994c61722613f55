// Publish benchmark (issue 20): how long the refresher holds its lock to publish a snapshot of a
// large fleet, and the snapshot build that follows outside the lock.
//
// The fleet is tigo_sim's own (sim::Fleet, default 1,000 systems x 100 panels), turned into a
// refresh::FleetState the way the refresher fills it: each system's answers (systems list,
// objects, layout, gateways, summary, alerts, panel minute data of every param, combined) are
// generated as the simulator serves them, parsed by the client's parsers and applied by the
// fleet state's own functions, so sizes, strings and maps are the exporter's.
//
// Timed, interleaved, --reps times each (median, p90, min):
//   lock, before   what Refresher::publish_now held the lock for until issue 20: a copy of the
//                  whole FleetState (each system's hierarchy included, then held by value) and
//                  the build options (refresh::publish_options)
//   lock, after K  what it holds the lock for now: SystemShares::view, which copies only the K
//                  systems changed since the last publish (changed between repetitions, untimed),
//                  and the same build options
//   build          build_snapshot of the copy and of the shared view, outside the lock
// The two builds must render identical metrics (metrics::render_fleet), or the program fails.
//
//   publish_bench [--systems N] [--panels M] [--reps R] [--changed K,K,...] [--seed S]
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/collector.hpp"
#include "refresh/fleet_state.hpp"
#include "refresh/minute_window.hpp"
#include "refresh/policy.hpp"
#include "refresh/refresher.hpp"
#include "sim/alerts.hpp"
#include "sim/data_csv.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "sim/responses.hpp"
#include "sim/uploads.hpp"
#include "sun/position.hpp"
#include "tigo/csv.hpp"
#include "tigo/json_parse.hpp"
#include "tigo/local_time.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using refresh::Dataset;
using refresh::Timestamp;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "publish_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(util::Result<T> r, std::string_view what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}

std::size_t heap_in_use() { return mallinfo2().uordblks; }

// ---------------------------------------------------------------------------------------------
// The fleet, as the refresher would hold it after a full round of every dataset.

struct Built {
  refresh::FleetState fleet;
  refresh::Policy policy{refresh::default_policy_options()};
};

sim::Param sim_param(tigo::PanelParam p) {
  const auto parsed = sim::parse_param(tigo::spec(p).api_name);
  if (!parsed) die("no simulator param for " + std::string(tigo::spec(p).api_name));
  return *parsed;
}

// Each system's minute data ends at its newest minute served (by day) or at its last daylight
// (by night: the day's last readings are held through the night, as the exporter does).
void fill_minute_data(refresh::SystemState& s, const sim::PowerModel& model,
                      const sim::SystemContext& ctx, const sim::DataAvailability& a,
                      Timestamp now) {
  auto end = a.last_min;
  const double lat = ctx.spec.latitude, lon = ctx.spec.longitude;
  if (sun::sun_position(lat, lon, end).elevation_deg <= 0)
    if (const auto lit = refresh::last_daylight(lat, lon, end)) end = *lit;
  const auto start = end - std::chrono::minutes{30};
  for (const auto& spec : tigo::kPanelParams) {
    if (spec.optional && !ctx.has_temp) continue;
    sim::AggregateQuery q;
    q.start = start;
    q.end = end;
    q.param = sim_param(spec.param);
    const auto body = sim::aggregate_csv(model, ctx, q, a, now, sim::Quirks::none());
    const auto table = must(tigo::parse_csv(body), "aggregate CSV");
    const auto newest = refresh::apply_aggregate(s, spec.param, table);
    if (spec.param == tigo::PanelParam::power) s.panels_cursor = newest;
    if (spec.param == tigo::PanelParam::voltage) s.details_cursor = newest;
  }
  std::vector<std::int64_t> ids;
  for (const auto& o : s.hierarchy->combined_objects) ids.push_back(o.object_id);
  sim::CombinedQuery minute{end - std::chrono::hours{1}, end, sim::CombinedLevel::Minute, ids};
  refresh::apply_combined_minute(
      s, must(tigo::parse_csv(sim::combined_csv(model, ctx, minute, a)), "combined minute CSV"));
  const auto midnight = tigo::local_to_utc(tigo::LocalTime{tigo::local_day(now, s.zone)}, s.zone);
  sim::CombinedQuery day{midnight, now, sim::CombinedLevel::Day, ids};
  refresh::apply_combined_day(
      s, must(tigo::parse_csv(sim::combined_csv(model, ctx, day, a)), "combined day CSV"));
}

Built build_fleet(int systems, int panels, std::uint64_t seed, Timestamp now) {
  sim::FleetOptions fo;
  fo.seed = seed;
  fo.systems = systems;
  fo.panels_per_system = panels;
  const sim::Fleet sim_fleet(fo);
  const sim::PowerModel model(sim_fleet);
  const sim::UploadOptions uploads;
  Built b;
  auto& f = b.fleet;
  f.user = must(tigo::parse_user(sim::user_json(4711, "demo", "Installer")), "user");
  for (const auto& t : must(tigo::parse_object_types(sim::object_types_json()), "object types"))
    f.object_types[t.object_type_id] = t.label;
  for (const auto& t : must(tigo::parse_alert_types(sim::alert_types_json("en")), "alert types"))
    f.alert_types[t.unique_id] = t;
  const auto listed = must(
      tigo::parse_systems(sim::systems_json(sim_fleet, sim::Paging{1, systems}, now)), "systems");
  f.listed_at = now;
  b.policy.set_budget(97);
  for (std::size_t i = 0; i < sim_fleet.size(); ++i) {
    const auto spec = sim_fleet.system(i);
    const auto ctx = sim::make_context(sim_fleet, spec);
    const auto a = sim::availability(ctx, now, uploads);
    auto& s = f.systems[spec.system_id];
    s.system = listed.systems.at(i);
    if (auto zone = tigo::find_zone(s.system.timezone)) s.zone = *zone;
    s.objects = must(tigo::parse_objects(sim::objects_json(ctx)), "objects");
    s.layout = must(tigo::parse_layout(sim::layout_json(ctx)), "layout");
    refresh::update_hierarchy(s, f.object_types);
    s.sources = must(tigo::parse_sources(sim::sources_json(ctx, a, now)), "sources");
    s.summary = must(tigo::parse_summary(sim::summary_json(model, ctx, now)), "summary");
    const auto alerts = sim::system_alerts(ctx, now, now - std::chrono::days{7});
    s.alerts =
        must(tigo::parse_alerts(sim::alerts_json(ctx, alerts, "en", sim::Paging{1, 500})), "alerts")
            .alerts;
    fill_minute_data(s, model, ctx, a, now);
    // Every dataset answered within the last minutes, as in a fleet refreshed round after round.
    for (auto d : refresh::kAllDatasets)
      refresh::mark_success(s.state(d), now - std::chrono::seconds{30 + spec.system_id % 240});
    b.policy.add_system(spec.system_id, s.system.latitude, s.system.longitude);
  }
  b.policy.next_wake(now);  // plans the budget, as the refresher's first wake does
  return b;
}

// ---------------------------------------------------------------------------------------------
// Timing.

struct Stats {
  double median = 0, p90 = 0, min = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.p90 = v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(0.9 * v.size())) - 1)];
  s.min = v.front();
  return s;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Path {
  std::string name;
  std::function<void()> run;  // one timed repetition (its own untimed parts excluded)
  std::vector<double> times{};
};

// A job's outcome landing on the system (record()): a new summary, as the refresher changes it.
void change(refresh::SystemState& s, refresh::SystemShares& shares, Timestamp now) {
  if (s.summary) s.summary->last_power_w = s.summary->last_power_w.value_or(0) + 1;
  refresh::mark_success(s.state(Dataset::summary), now);
  shares.changed(s);
}

std::vector<int> parse_list(const char* text) {
  std::vector<int> out;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    out.push_back(static_cast<int>(std::strtol(p, &end, 10)));
    if (end == p) die("--changed takes numbers separated by commas");
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

std::string rendered(const refresh::Snapshot& snap) {
  std::string out;
  metrics::render_fleet(snap, out);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int systems = 1000, panels = 100, reps = 101;
  std::vector<int> changed_counts = {1, 10, 100, 1000};
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--systems")
      systems = std::atoi(v);
    else if (a == "--panels")
      panels = std::atoi(v);
    else if (a == "--reps")
      reps = std::atoi(v);
    else if (a == "--changed")
      changed_counts = parse_list(v);
    else if (a == "--seed")
      seed = std::strtoull(v, nullptr, 10);
    else
      die("unknown argument " + std::string(a));
  }
  if (systems < 1 || panels < 1 || reps < 1) die("--systems, --panels and --reps must be >= 1");

  // A June noon in UTC: systems around the globe, some in daylight, some at night.
  const Timestamp now{std::chrono::sys_days{std::chrono::year{2026} / 6 / 21} +
                      std::chrono::hours{12}};
  const auto t_fill = Clock::now();
  auto heap = heap_in_use();
  auto built = build_fleet(systems, panels, seed, now);
  const auto fleet_bytes = heap_in_use() - heap;
  auto& fleet = built.fleet;
  std::size_t with_readings = 0, panel_count = 0;
  for (const auto& [id, s] : fleet.systems) {
    panel_count += s.hierarchy->panels.size();
    with_readings += s.panel_values.size();
  }
  std::printf("fleet: %d systems x %d panels (%zu panels, %zu with readings), filled in %.1f s\n",
              systems, panels, panel_count, with_readings, ms(Clock::now() - t_fill) / 1000);

  const config::RefreshSettings settings;
  refresh::SystemShares shares;
  for (auto& [id, s] : fleet.systems) shares.changed(s);
  heap = heap_in_use();
  auto view = shares.view(fleet);  // the first publish copies every system
  const auto shared_bytes = heap_in_use() - heap;
  refresh::FleetState copy;
  heap = heap_in_use();
  copy = fleet;
  for (auto& [id, s] : copy.systems)
    s.hierarchy = std::make_shared<const refresh::Hierarchy>(*s.hierarchy);
  const auto copy_bytes = heap_in_use() - heap;
  std::printf(
      "heap: FleetState %.1f MiB; a whole copy (before, during each publish) %.1f MiB; the "
      "shared copies (after, kept between publishes) %.1f MiB\n",
      static_cast<double>(fleet_bytes) / (1 << 20), static_cast<double>(copy_bytes) / (1 << 20),
      static_cast<double>(shared_bytes) / (1 << 20));

  // The same fleet either way: identical metrics.
  const auto options = refresh::publish_options(built.policy, fleet, settings);
  if (rendered(refresh::build_snapshot(copy, now, options)) !=
      rendered(refresh::build_snapshot(view, now, options)))
    die("the shared view's snapshot renders differently from the copy's");
  std::printf("metrics of the copy's and the shared view's snapshots: identical\n");

  std::vector<Path> paths;
  paths.push_back({"lock, before: whole FleetState copy + options", [&] {
                     copy = refresh::FleetState{};
                     const auto t0 = Clock::now();
                     copy = fleet;
                     for (auto& [id, s] : copy.systems)
                       s.hierarchy = std::make_shared<const refresh::Hierarchy>(*s.hierarchy);
                     const auto o = refresh::publish_options(built.policy, fleet, settings);
                     paths[0].times.push_back(ms(Clock::now() - t0));
                   }});
  std::size_t next_change = 0;
  std::vector<refresh::SystemState*> order;
  for (auto& [id, s] : fleet.systems) order.push_back(&s);
  std::vector<std::size_t> copied_seen;
  for (int k : changed_counts) {
    const auto at = paths.size();
    paths.push_back({"lock, after: SystemShares::view, " + std::to_string(k) + " changed + options",
                     [&, k, at] {
                       for (int c = 0; c < k; ++c)
                         change(*order[next_change++ % order.size()], shares, now);
                       view = refresh::FleetView{};
                       const auto t0 = Clock::now();
                       view = shares.view(fleet);
                       const auto o = refresh::publish_options(built.policy, fleet, settings);
                       paths[at].times.push_back(ms(Clock::now() - t0));
                       if (shares.copied() != std::min<std::size_t>(k, order.size()))
                         die("SystemShares copied " + std::to_string(shares.copied()) +
                             " systems, not " + std::to_string(k));
                     }});
  }
  const auto options_for_build = options;
  paths.push_back({"build, before: build_snapshot(FleetState copy)", [&, at = paths.size()] {
                     const auto t0 = Clock::now();
                     const auto snap = refresh::build_snapshot(copy, now, options_for_build);
                     paths[at].times.push_back(ms(Clock::now() - t0));
                   }});
  paths.push_back({"build, after: build_snapshot(shared view)", [&, at = paths.size()] {
                     const auto t0 = Clock::now();
                     const auto snap = refresh::build_snapshot(view, now, options_for_build);
                     paths[at].times.push_back(ms(Clock::now() - t0));
                   }});
  for (int r = 0; r < reps; ++r)
    for (auto& p : paths) p.run();

  std::printf("\n%-58s %10s %10s %10s\n", "path", "median ms", "p90 ms", "min ms");
  std::vector<Stats> all;
  for (const auto& p : paths) {
    all.push_back(stats(p.times));
    std::printf("%-58s %10.3f %10.3f %10.3f\n", p.name.c_str(), all.back().median, all.back().p90,
                all.back().min);
  }
  std::printf("\nlock held, before / after (median):");
  for (std::size_t i = 0; i < changed_counts.size(); ++i)
    std::printf(" %d changed %.0fx;", changed_counts[i], all[0].median / all[1 + i].median);
  std::printf("\n");
  return 0;
}
