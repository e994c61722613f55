// A whole simulated day of a fleet on one account's budget, run in seconds: the scheduling policy
// (refresh::Policy) and, side by side in the same run, the planner it replaced
// (bench/baseline/old_plan.*, sources-gated minute data at fixed intervals). The API is modelled
// by the simulator's own rules of arrival (sim::arrivals / sim::availability: irregular uploads,
// jitter, missed and late batches, stalled gateways), without HTTP: each call answers at once and
// takes `--latency` seconds.
//
// Measured per planner: how long after a batch became visible at Tigo the exporter had it (panel
// power, daylight batches only), calls in the busiest 60 s, the longest gap between successes
// of each dataset during each system's daylight, and calls per system at night.
#include <date/tz.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "baseline/old_plan.hpp"
#include "refresh/minute_window.hpp"
#include "refresh/policy.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "sim/uploads.hpp"
#include "sun/position.hpp"
#include "util/time.hpp"

using namespace std::chrono;
using refresh::Dataset;
using Time = sys_seconds;

namespace {

struct Site {
  sim::SystemContext ctx;
  double lat = 0, lon = 0;
  std::vector<sim::Batch> batches;  // visible during the day
};

struct World {
  std::vector<Site> sites;
  sim::UploadOptions uploads;

  double elevation(const Site& s, Time t) const {
    return sun::sun_position(s.lat, s.lon, t).elevation_deg;
  }
  // The newest minute with a panel power reading the API serves at t.
  std::optional<Time> newest_pin(const Site& s, Time t) const {
    const auto a = sim::availability(s.ctx, t, uploads);
    if (a.last_min == Time{}) return std::nullopt;
    // Panels report while the sun is up: the newest minute with a reading is the last lit one.
    auto lit = a.last_min;
    for (int i = 0; i < 1440 && elevation(s, lit) <= 0; ++i) lit -= minutes{1};
    return elevation(s, lit) > 0 ? std::optional{lit} : std::nullopt;
  }
};

// What one planner did over the day.
struct Record {
  std::vector<int> calls_at;                                  // per second of the day
  std::vector<std::vector<std::pair<Time, Time>>> pin_known;  // per site: (when, newest minute)
  std::vector<std::map<int, std::vector<Time>>> successes;    // per site, per dataset
  std::vector<int> night_calls;                               // per site
  long long total_calls = 0;
  std::map<int, long long> calls_by_dataset;
  std::map<long long, std::map<int, int>> calls_by_minute;        // minute since start, dataset
  long long pin_new = 0, pin_empty_day = 0, pin_empty_night = 0;  // panel power fetches
};

struct Options {
  int systems = 400;
  std::string zones = "America/Los_Angeles";
  std::string date = "2026-06-21";
  double budget = 100;
  double share = 0.97;
  int latency = 2;
  int workers = 4;
  std::uint64_t seed = 1;
  bool verbose = false;
  bool per_minute = false;
  int trace = 0;
  // A cold start instead of a whole local day: start at this UTC time (ISO 8601), run `minutes`,
  // measure batches visible from `measure_after` minutes after start.
  std::string start_at;
  int minutes = 1440;
  int measure_after = 60;
  // The policy's panel power probing (PolicyOptions), for trying other settings side by side.
  int margin = 0, step = 0, close = -1, max_probe = 0;
};

Time day_start(const Options& o, const World& w) {
  // Local midnight of the first system's zone.
  const auto utc_midnight = floor<days>(*util::parse_iso8601(o.date + "T00:00:00Z"));
  const date::local_seconds local{utc_midnight.time_since_epoch()};
  const auto* zone = w.sites.front().ctx.zone;
  return zone ? floor<seconds>(zone->to_sys(local)) : Time{local.time_since_epoch()};
}

void count_call(Record& r, const World& w, std::size_t site, Time start, Time t, int calls) {
  const auto i = static_cast<std::size_t>((t - start).count());
  if (i < r.calls_at.size()) r.calls_at[i] += calls;
  r.total_calls += calls;
  if (site < w.sites.size() && w.elevation(w.sites[site], t) < refresh::kNightElevationDeg)
    r.night_calls[site] += calls;
}

// ---- the policy -------------------------------------------------------------------------------

Record run_policy(const World& w, const Options& o, Time start, Time end) {
  Record r;
  r.calls_at.assign(static_cast<std::size_t>((end - start).count()) + 1, 0);
  r.pin_known.resize(w.sites.size());
  r.successes.resize(w.sites.size());
  r.night_calls.assign(w.sites.size(), 0);
  auto opts = refresh::default_policy_options();
  opts.budget_per_minute = o.budget * o.share;
  opts.max_in_flight = o.workers;
  if (o.margin > 0) opts.arrival_margin = seconds{o.margin};
  if (o.step > 0) opts.probe_step = seconds{o.step};
  if (o.close >= 0) opts.close_probes = o.close;
  if (o.max_probe > 0) opts.max_probe = seconds{o.max_probe};
  refresh::Policy p(opts);
  struct Flight {
    Time done;
    refresh::Choice job;
    refresh::Outcome outcome;
  };
  std::deque<Flight> flying;
  bool listed = false;
  for (Time t = start; t < end;) {
    while (!flying.empty() && flying.front().done <= t) {
      auto f = flying.front();
      flying.pop_front();
      p.finished(f.job, f.done, f.outcome);
      if (f.job.system_id == refresh::kAccountJob) {
        if (!listed)
          for (std::size_t i = 0; i < w.sites.size(); ++i)
            p.add_system(static_cast<std::int64_t>(i + 1), w.sites[i].lat, w.sites[i].lon);
        listed = true;
        continue;
      }
      const auto i = static_cast<std::size_t>(f.job.system_id - 1);
      r.successes[i][static_cast<int>(f.job.dataset)].push_back(f.done);
      if (f.job.dataset == Dataset::panels && f.outcome.newest_pin)
        r.pin_known[i].emplace_back(f.done, *f.outcome.newest_pin);
    }
    bool ran = false;
    while (auto job = p.next(t)) {
      ran = true;
      refresh::Outcome out;
      out.ok = true;
      std::size_t site = w.sites.size();
      if (job->system_id != refresh::kAccountJob) {
        site = static_cast<std::size_t>(job->system_id - 1);
        const auto& s = w.sites[site];
        if (job->dataset == Dataset::objects) out.panels_known = true;
        if (job->dataset == Dataset::panels) {
          out.newest_pin = w.newest_pin(s, t);
          if (out.newest_pin &&
              (r.pin_known[site].empty() || *out.newest_pin > r.pin_known[site].back().second))
            ++r.pin_new;
          else if (w.elevation(s, t) > 0)
            ++r.pin_empty_day;
          else
            ++r.pin_empty_night;
          if (static_cast<int>(job->system_id) == o.trace)
            std::printf(
                "  trace %s pin fetch: newest %s (visible last_min %s)\n",
                util::format_iso8601_utc(t).c_str(),
                out.newest_pin ? util::format_iso8601_utc(*out.newest_pin).c_str() : "-",
                util::format_iso8601_utc(sim::availability(s.ctx, t, w.uploads).last_min).c_str());
        }
        if (job->dataset == Dataset::panel_details) out.detail_calls = s.ctx.has_temp ? 4 : 3;
      }
      count_call(r, w, site, start, t, job->calls);
      r.calls_by_dataset[static_cast<int>(job->dataset)] += job->calls;
      r.calls_by_minute[(t - start).count() / 60][static_cast<int>(job->dataset)] += job->calls;
      flying.push_back({t + seconds{o.latency}, *job, out});
    }
    if (o.verbose && (t - start) % (o.minutes < 240 ? minutes{5} : hours{2}) < seconds{1})
      std::printf("  %s policy: %s; calls in the last 60 s %.0f\n",
                  util::format_iso8601_utc(t).c_str(), p.plan().describe().c_str(),
                  p.calls_in_last_minute(t));
    Time next = t + seconds{1};
    if (!ran && flying.empty()) next = std::max(next, p.next_wake(t));
    if (!flying.empty()) next = std::min(next, flying.front().done);
    t = std::max(next, t + seconds{1});
  }
  return r;
}

// ---- the planner it replaced --------------------------------------------------------------------

Record run_baseline(const World& w, const Options& o, Time start, Time end) {
  using B = baseline::Dataset;
  Record r;
  r.calls_at.assign(static_cast<std::size_t>((end - start).count()) + 1, 0);
  r.pin_known.resize(w.sites.size());
  r.successes.resize(w.sites.size());
  r.night_calls.assign(w.sites.size(), 0);
  // The old refresher's plan input (refresher.cpp before the policy): the flags' defaults.
  const std::pair<B, long long> wanted[] = {
      {B::objects, 21600}, {B::layout, 21600}, {B::sources, 120}, {B::summary, 300},
      {B::panels, 60},     {B::combined, 900}, {B::alerts, 600},  {B::system, 21600}};
  baseline::PlanInput in;
  in.systems = w.sites.size();
  for (const auto& [d, every] : wanted) {
    const seconds base{every};
    const auto cap =
        d == B::panels ? std::max(base, seconds{1800}) : std::max(base * 4, seconds{3600});
    const double calls = d == B::panels ? 4.5 : d == B::combined ? 2 : d == B::system ? 0 : 1;
    in.costs[static_cast<std::size_t>(d)] = {calls, base, cap};
  }
  in.account_calls_per_minute = (3.0 + std::ceil(in.systems / 50.0)) * 60.0 / 21600.0;
  in.budget_per_minute = o.budget * o.share;
  const auto plan = baseline::plan_intervals(in);
  auto interval = [&](B d) { return plan.interval[static_cast<std::size_t>(d)]; };

  struct State {
    std::optional<Time> source_minute, cursor;
    bool fetched_once = false, settled = false;
  };
  std::vector<State> state(w.sites.size());
  std::set<std::tuple<Time, std::size_t, int>> queue;  // due, site, dataset
  for (std::size_t i = 0; i < w.sites.size(); ++i) {
    int k = 0;
    for (auto d : {B::summary, B::objects, B::layout, B::sources, B::panels, B::alerts})
      queue.insert({start + seconds{2 + k++ / 5}, i, static_cast<int>(d)});
    queue.insert({start + seconds{7}, i, static_cast<int>(B::combined)});
  }
  std::deque<int> window;  // calls per second of the last 60 s (the governor's 100 a minute)
  int window_sum = 0;
  struct Flight {
    Time done;
    std::size_t site;
    B d;
  };
  std::deque<Flight> flying;
  for (Time t = start; t < end; t += seconds{1}) {
    while (!flying.empty() && flying.front().done <= t) {
      const auto f = flying.front();
      flying.pop_front();
      queue.insert({f.done + interval(f.d), f.site, static_cast<int>(f.d)});
    }
    int now_calls = 0;
    while (!queue.empty() && std::get<0>(*queue.begin()) <= t &&
           static_cast<int>(flying.size()) < o.workers) {
      const auto [due, i, di] = *queue.begin();
      const auto d = static_cast<B>(di);
      const auto& s = w.sites[i];
      auto& st = state[i];
      int calls = d == B::combined ? 2 : 1;
      bool skip = false;
      if (d == B::panels) {
        const bool night = w.elevation(s, t) < refresh::kNightElevationDeg;
        const bool fresh = !st.source_minute || !st.cursor || *st.source_minute > *st.cursor;
        skip = st.fetched_once && (night ? (st.settled || !fresh) : !fresh);
        if (!night) st.settled = false;
        calls = skip ? 0 : (s.ctx.has_temp ? 5 : 4);
      }
      if (calls > 0 && window_sum + now_calls + calls > static_cast<int>(o.budget)) break;
      queue.erase(queue.begin());
      now_calls += calls;
      if (calls > 0) count_call(r, w, i, start, t, calls);
      if (d == B::sources) st.source_minute = sim::availability(s.ctx, t, w.uploads).last_min;
      if (d == B::panels && !skip) {
        const auto newest = w.newest_pin(s, t);
        st.fetched_once = true;
        if (newest && (!st.cursor || *newest > *st.cursor)) st.cursor = newest;
        if (!newest && st.source_minute) st.cursor = st.source_minute;
        if (w.elevation(s, t) < refresh::kNightElevationDeg) st.settled = true;
        if (newest) r.pin_known[i].emplace_back(t + seconds{o.latency}, *newest);
      }
      // The old refresher counted a skipped panels job as a success too.
      r.successes[i][di == static_cast<int>(B::panels)
                         ? static_cast<int>(Dataset::panels)
                         : static_cast<int>(std::array{Dataset::system, Dataset::objects,
                                                       Dataset::layout, Dataset::sources,
                                                       Dataset::summary, Dataset::panels,
                                                       Dataset::combined, Dataset::alerts}[di])]
          .push_back(t + seconds{o.latency});
      flying.push_back({t + seconds{o.latency}, i, d});
    }
    window.push_back(now_calls);
    window_sum += now_calls;
    if (window.size() > 60) {
      window_sum -= window.front();
      window.pop_front();
    }
  }
  return r;
}

// ---- figures ------------------------------------------------------------------------------------

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

struct Figures {
  std::vector<double> lag_min;                               // per daylight batch
  std::vector<std::tuple<double, std::size_t, Time>> worst;  // lag, site, visible
  std::size_t batches = 0, never = 0;
  int max_calls_60s = 0;
  double calls_per_system_day = 0, night_calls_per_system = 0;
  std::map<int, std::vector<double>> gap_min;      // per dataset: longest daylight gap per system
  std::map<int, std::vector<double>> lag_by_hour;  // hour of the day the batch became visible
  // Systems with panel power at Tigo when the exporter starts, and of them those it had within
  // 5 and 10 minutes.
  std::size_t lit_at_start = 0, power_by_5 = 0, power_by_10 = 0;
  // Minutes from start until every system's objects and summary had answered once (what the
  // exporter's readiness waits for; every call succeeds here); negative: never.
  double ready_min = 0;
};

Figures figures(const World& w, const Record& r, Time start, Time end, Time measure_from) {
  Figures f;
  for (std::size_t i = 0; i < w.sites.size() && f.ready_min >= 0; ++i)
    for (auto d : refresh::kReadinessDatasets) {
      const auto it = r.successes[i].find(static_cast<int>(d));
      if (it == r.successes[i].end() || it->second.empty()) {
        f.ready_min = -1;
        break;
      }
      const auto first = *std::min_element(it->second.begin(), it->second.end());
      f.ready_min = std::max(f.ready_min, static_cast<double>((first - start).count()) / 60.0);
    }
  for (std::size_t i = 0; i < w.sites.size(); ++i) {
    const auto& s = w.sites[i];
    if (w.newest_pin(s, start) && w.elevation(s, start) > 0) {
      ++f.lit_at_start;
      if (!r.pin_known[i].empty()) {
        const auto first = r.pin_known[i].front().first;
        f.power_by_5 += first <= start + minutes{5};
        f.power_by_10 += first <= start + minutes{10};
      }
    }
    for (const auto& b : s.batches) {
      if (b.visible < measure_from || b.visible >= end) continue;  // after the cold start
      if (w.elevation(s, b.last_min) <= 0) continue;               // daylight minutes only
      ++f.batches;
      std::optional<Time> had;
      for (const auto& [when, newest] : r.pin_known[i])
        if (when >= b.visible && newest >= b.last_min) {
          had = when;
          break;
        }
      if (!had) {
        ++f.never;
        had = end;
      }
      f.lag_min.push_back(static_cast<double>((*had - b.visible).count()) / 60.0);
      f.worst.emplace_back(f.lag_min.back(), i + 1, b.visible);
      f.lag_by_hour[static_cast<int>(duration_cast<hours>(b.visible - start).count())].push_back(
          f.lag_min.back());
    }
    // The system's daylight (sun above -12 degrees) within the day.
    std::optional<Time> lit_from, lit_to;
    for (Time t = start; t < end; t += minutes{5})
      if (w.elevation(s, t) >= refresh::kNightElevationDeg) {
        if (!lit_from) lit_from = t;
        lit_to = t;
      }
    if (!lit_from) continue;
    // Minute data (details, strings) has nothing new from dusk to sunrise: its gaps count from
    // the first minute with power.
    std::optional<Time> sunrise;
    for (Time t = *lit_from; t < *lit_to && !sunrise; t += minutes{1})
      if (w.elevation(s, t) > 0) sunrise = t;
    for (const auto& [d, times] : r.successes[i]) {
      const bool minute_data =
          d == static_cast<int>(Dataset::panel_details) || d == static_cast<int>(Dataset::combined);
      double worst = 0;
      std::optional<Time> prev;
      for (auto t : times) {
        if (t < *lit_from + hours{1} || t > *lit_to) {
          prev = t;
          continue;
        }
        if (prev && minute_data && sunrise) prev = std::max(*prev, *sunrise);
        if (prev) worst = std::max(worst, static_cast<double>((t - *prev).count()) / 60.0);
        prev = t;
      }
      if (prev && *prev < *lit_to)
        worst = std::max(worst, static_cast<double>((*lit_to - *prev).count()) / 60.0);
      f.gap_min[d].push_back(worst);
    }
  }
  int sum = 0;
  for (std::size_t k = 0; k < r.calls_at.size(); ++k) {
    sum += r.calls_at[k];
    if (k >= 60) sum -= r.calls_at[k - 60];
    f.max_calls_60s = std::max(f.max_calls_60s, sum);
  }
  f.calls_per_system_day = static_cast<double>(r.total_calls) / static_cast<double>(w.sites.size());
  double night = 0;
  for (auto n : r.night_calls) night += n;
  f.night_calls_per_system = night / static_cast<double>(w.sites.size());
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"A simulated day of a fleet: the scheduling policy and the planner it replaced"};
  app.add_option("--systems", o.systems, "systems in the fleet");
  app.add_option("--zones", o.zones, "IANA zones the fleet is placed in (comma list)");
  app.add_option("--date", o.date, "the day (local to the first system), YYYY-MM-DD");
  app.add_option("--budget", o.budget, "the account's calls a minute");
  app.add_option("--share", o.share, "of the budget the planners plan for (the exporter's 0.97)");
  app.add_option("--latency", o.latency, "seconds each job takes");
  app.add_option("--seed", o.seed, "the fleet's seed");
  app.add_option("--trace", o.trace, "print every panel power fetch of this system (1-based)");
  app.add_flag("--verbose", o.verbose, "print the policy's plan every two hours");
  app.add_flag("--per-minute", o.per_minute, "print the policy's calls of each minute by dataset");
  app.add_option("--margin", o.margin, "policy: seconds after the expected arrival to ask");
  app.add_option("--step", o.step, "policy: seconds between the close probes");
  app.add_option("--close", o.close, "policy: close probes after a miss");
  app.add_option("--max-probe", o.max_probe, "policy: seconds between the later probes");
  app.add_option("--start", o.start_at,
                 "a cold start at this UTC time (ISO 8601) instead of a day");
  app.add_option("--minutes", o.minutes, "minutes to run from the start");
  app.add_option("--measure-after", o.measure_after,
                 "minutes after start from which batches count (the cold start left out)");
  CLI11_PARSE(app, argc, argv);

  sim::FleetOptions fo;
  fo.seed = o.seed;
  fo.systems = o.systems;
  if (!o.zones.empty()) {
    auto zones = sim::placement_zones(o.zones, "");
    if (!zones) {
      std::fprintf(stderr, "sim_day: %s\n", zones.error().message.c_str());
      return 2;
    }
    fo.zones = *zones;
  }
  const sim::Fleet fleet(fo);
  World w;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto spec = fleet.system(i);
    w.sites.push_back({sim::make_context(fleet, spec), spec.latitude, spec.longitude, {}});
  }
  Time start = day_start(o, w);
  if (!o.start_at.empty()) {
    const auto at = util::parse_iso8601(o.start_at);
    if (!at) {
      std::fprintf(stderr, "sim_day: --start %s is not an ISO 8601 time\n", o.start_at.c_str());
      return 2;
    }
    start = *at;
  }
  const Time end = start + minutes{o.minutes};
  const Time measure_from = start + minutes{o.measure_after};
  std::size_t stalled = 0;
  for (auto& s : w.sites) {
    s.batches = sim::arrivals(s.ctx, start - hours{2}, end, w.uploads);
    stalled += sim::availability(s.ctx, start, w.uploads).stalled;
  }
  std::printf(
      "fleet: %d systems in %s, %s (local day from %s), budget %.0f/min, share %.2f, "
      "%zu stalled gateways\n",
      o.systems, o.zones.c_str(), o.date.c_str(), util::format_iso8601_utc(start).c_str(), o.budget,
      o.share, stalled);

  const auto old_run = run_baseline(w, o, start, end);
  const auto new_run = run_policy(w, o, start, end);
  if (o.per_minute)
    for (const auto& [m, by] : new_run.calls_by_minute) {
      std::printf("policy, minute %3lld:", m);
      for (const auto& [d, n] : by)
        std::printf(" %s %d", std::string(refresh::dataset_name(static_cast<Dataset>(d))).c_str(),
                    n);
      std::printf("\n");
    }
  const auto a = figures(w, old_run, start, end, measure_from);
  const auto b = figures(w, new_run, start, end, measure_from);

  std::printf("\n%-58s %16s %16s\n", "", "old planner", "policy");
  auto row = [](const char* name, double x, double y) {
    std::printf("%-58s %16.1f %16.1f\n", name, x, y);
  };
  std::printf("%-58s %16zu %16zu\n", "systems with panel power at Tigo at start", a.lit_at_start,
              b.lit_at_start);
  std::printf("%-58s %16zu %16zu\n", "  of them with panel power by 5 min", a.power_by_5,
              b.power_by_5);
  std::printf("%-58s %16zu %16zu\n", "  of them with panel power by 10 min", a.power_by_10,
              b.power_by_10);
  std::printf("%-58s %16.1f %16.1f\n", "every system's objects and summary by (min; -1: never)",
              a.ready_min, b.ready_min);
  std::printf("%-58s %16zu %16zu\n", "daylight batches (after --measure-after)", a.batches,
              b.batches);
  std::printf("%-58s %16zu %16zu\n", "  never fetched that day", a.never, b.never);
  row("panel power behind its arrival at Tigo, p50 (min)", quantile(a.lag_min, 0.5),
      quantile(b.lag_min, 0.5));
  row("  p95 (min)", quantile(a.lag_min, 0.95), quantile(b.lag_min, 0.95));
  row("  max (min)", quantile(a.lag_min, 1.0), quantile(b.lag_min, 1.0));
  std::printf("%-58s %16d %16d\n", "calls in the busiest 60 s", a.max_calls_60s, b.max_calls_60s);
  row("calls per system and day", a.calls_per_system_day, b.calls_per_system_day);
  row("  of which at night (sun below -12 degrees)", a.night_calls_per_system,
      b.night_calls_per_system);
  const std::pair<Dataset, const char*> datasets[] = {
      {Dataset::summary, "summary"},       {Dataset::sources, "sources"},
      {Dataset::panel_details, "details"}, {Dataset::combined, "combined"},
      {Dataset::alerts, "alerts"},         {Dataset::objects, "objects"},
      {Dataset::layout, "layout"}};
  std::printf(
      "longest gap between successes in a system's daylight, p95 / max over systems "
      "(min):\n");
  for (const auto& [d, name] : datasets) {
    auto get = [&](const Figures& f, double q) {
      // The old planner fetched the detail params with panel power.
      const auto key =
          static_cast<int>(&f == &a && d == Dataset::panel_details ? Dataset::panels : d);
      auto it = f.gap_min.find(key);
      return it == f.gap_min.end() ? NAN : quantile(it->second, q);
    };
    std::printf("  %-56s %7.0f / %6.0f %7.0f / %6.0f\n", name, get(a, 0.95), get(a, 1.0),
                get(b, 0.95), get(b, 1.0));
  }
  if (o.verbose) {
    std::printf("policy's calls a minute by dataset, day average:");
    for (const auto& [d, n] : new_run.calls_by_dataset)
      std::printf(" %s %.1f", std::string(refresh::dataset_name(static_cast<Dataset>(d))).c_str(),
                  static_cast<double>(n) / o.minutes);
    std::printf("\n");
    std::printf(
        "policy's panel power fetches: %lld with a new batch, %lld without (sun up), %lld "
        "without (sun down)\n",
        new_run.pin_new, new_run.pin_empty_day, new_run.pin_empty_night);
    std::printf("panel power lag by local hour, p50 / p95 (min):\n");
    for (const auto& [h, v] : b.lag_by_hour) {
      const auto& old = a.lag_by_hour.at(h);
      std::printf("  %02d  %7.1f / %6.1f %7.1f / %6.1f  (%zu batches)\n", h, quantile(old, 0.5),
                  quantile(old, 0.95), quantile(v, 0.5), quantile(v, 0.95), v.size());
    }
    auto worst = b.worst;
    std::sort(worst.rbegin(), worst.rend());
    // A missed upload comes with the next one: two batches, one arrival, printed once.
    worst.erase(std::unique(worst.begin(), worst.end()), worst.end());
    std::printf("policy's slowest arrivals (lag min, system, visible at):\n");
    for (std::size_t k = 0; k < std::min<std::size_t>(8, worst.size()); ++k)
      std::printf("  %6.1f  %4zu  %s\n", std::get<0>(worst[k]), std::get<1>(worst[k]),
                  util::format_iso8601_utc(std::get<2>(worst[k])).c_str());
  }
  return 0;
}
