#include "refresh/refresher.hpp"

#include <algorithm>

#include "sun/position.hpp"
#include "util/log.hpp"
#include "util/thread_priority.hpp"

namespace refresh {
namespace {

using std::chrono::steady_clock;

std::chrono::seconds secs(std::chrono::milliseconds ms) {
  return std::max(std::chrono::seconds{1}, std::chrono::duration_cast<std::chrono::seconds>(ms));
}

// API calls one refresh of a dataset costs per system (plan_intervals needs them).
double calls_per_refresh(Dataset d) {
  switch (d) {
    case Dataset::panels:
      return static_cast<double>(tigo::kPanelParamCount);  // at most: some are optional
    case Dataset::combined:
      return 2;
    case Dataset::system:
      return 0;  // the fleet-wide list, counted per account
    default:
      return 1;
  }
}

void log_failure(std::string_view dataset, std::int64_t system_id, const tigo::Error& e) {
  util::log::warn("refresh failed", {{"dataset", std::string(dataset)},
                                     {"system_id", std::to_string(system_id)},
                                     {"endpoint", e.endpoint},
                                     {"status", std::to_string(e.status)},
                                     {"kind", std::string(tigo::to_string(e.kind))},
                                     {"err", e.message}});
}

}  // namespace

Timestamp system_utc_now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

Refresher::Refresher(std::shared_ptr<tigo::Client> client, RefresherOptions options,
                     PublishFn on_publish)
    : client_(std::move(client)), options_(std::move(options)), on_publish_(std::move(on_publish)) {
  std::lock_guard lock(mutex_);
  replan_locked();
}

Refresher::~Refresher() { stop(); }

void Refresher::start() {
  {
    std::lock_guard lock(mutex_);
    queue_.schedule(kAccount, Dataset::system, steady_clock::now());
  }
  for (int i = 0; i < std::max(1, options_.workers); ++i)
    threads_.emplace_back([this](std::stop_token st) { worker(st); });
  threads_.emplace_back([this](std::stop_token st) { publisher(st); });
}

void Refresher::stop() {
  if (threads_.empty()) return;
  for (auto& t : threads_) t.request_stop();
  wake_.notify_all();
  threads_.clear();  // joins
  client_->logout();
}

bool Refresher::wanted(std::int64_t id) const { return options_.systems.wanted(id); }

void Refresher::note_unlisted_locked(const std::vector<tigo::System>& listed) {
  std::vector<std::int64_t> ids;
  ids.reserve(listed.size());
  for (const auto& s : listed) ids.push_back(s.system_id);
  auto unlisted = options_.systems.unlisted(ids);
  // Once per change, not per list refresh: the operator needs to hear it, not every 10 minutes.
  if (unlisted != fleet_.unlisted_systems && !unlisted.empty()) {
    std::string names;
    for (auto id : unlisted) names += (names.empty() ? "" : ",") + std::to_string(id);
    util::log::warn("--tigo.systems names systems the account does not list; they are not exported",
                    {{"system_ids", names}});
  }
  fleet_.unlisted_systems = std::move(unlisted);
}

void Refresher::replan_locked() {
  PlanInput in;
  in.systems = fleet_.systems.size();
  const std::pair<Dataset, std::chrono::milliseconds> wanted_intervals[] = {
      {Dataset::objects, options_.layout_interval},
      {Dataset::layout, options_.layout_interval},
      {Dataset::sources, options_.sources_interval},
      {Dataset::summary, options_.summary_interval},
      {Dataset::panels, options_.panels_interval},
      {Dataset::combined, options_.combined_interval},
      {Dataset::alerts, options_.alerts_interval},
      {Dataset::system, options_.layout_interval}};
  for (const auto& [d, every] : wanted_intervals) {
    const auto base = secs(every);
    // How far each may stretch before the next dataset gives way.
    const auto cap = d == Dataset::panels ? std::max(base, std::chrono::seconds{1800})
                                          : std::max(base * 4, std::chrono::seconds{3600});
    in.costs[static_cast<std::size_t>(d)] = {calls_per_refresh(d), base, cap};
  }
  // Systems known not to answer an optional param (Temp) cost one call less per panels refresh.
  if (!fleet_.systems.empty()) {
    const auto now = options_.clock();
    for (const auto& param : tigo::kPanelParams) {
      if (!param.optional) continue;
      const auto without =
          std::count_if(fleet_.systems.begin(), fleet_.systems.end(),
                        [&](const auto& kv) { return !kv.second.wants_param(param.param, now); });
      in.costs[static_cast<std::size_t>(Dataset::panels)].calls_per_system -=
          static_cast<double>(without) / static_cast<double>(fleet_.systems.size());
    }
  }
  // Systems list pages (50 a page), user, object types and alert types, per layout interval.
  const double account_calls = 3.0 + std::ceil(static_cast<double>(in.systems) / 50.0);
  in.account_calls_per_minute =
      account_calls * 60.0 / static_cast<double>(secs(options_.layout_interval).count());
  in.budget_per_minute = client_->governor().requests_per_minute() * options_.budget_share;
  plan_ = plan_intervals(in);
}

std::chrono::seconds Refresher::interval_locked(Dataset d) const {
  return plan_.interval[static_cast<std::size_t>(d)];
}

void Refresher::worker(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::optional<Job> job;
    {
      std::unique_lock lock(mutex_);
      while (!stop.stop_requested()) {
        job = queue_.pop_due(steady_clock::now());
        if (job) break;
        const auto next = queue_.next_due();
        if (next) {
          wake_.wait_until(lock, stop, *next, [] { return false; });
        } else {
          wake_.wait_for(lock, stop, std::chrono::seconds{1}, [] { return false; });
        }
      }
    }
    if (!job || stop.stop_requested()) return;
    run_job(*job, stop);
  }
}

void Refresher::publisher(std::stop_token stop) {
  // At most once a second, and at most a fifth of the time rendering: a big fleet changes every
  // second, and render+gzip must not take a core away from scrapes.
  auto pause = std::chrono::milliseconds{1000};
  util::lower_current_thread_priority();  // the publish callback renders and gzips here
  // Values expire with time alone (the staleness rule): an idle refresher (an outage in backoff)
  // still re-judges them this often.
  constexpr auto kRejudgeEvery = std::chrono::seconds{10};
  auto published_at = steady_clock::now();
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, pause, [] { return false; });
      if (stop.stop_requested()) continue;
      if (!dirty_ && steady_clock::now() - published_at < kRejudgeEvery) continue;
    }
    const auto t0 = steady_clock::now();
    published_at = t0;
    publish_now();
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - t0);
    pause = std::max(std::chrono::milliseconds{1000}, took * 4);
  }
}

void Refresher::publish_now() {
  BuildOptions build;
  build.max_staleness = options_.max_staleness;
  build.alerts_window = options_.alerts_window;
  std::shared_ptr<Snapshot> snap;
  {
    std::lock_guard lock(mutex_);
    dirty_ = false;
    for (auto d : kAllDatasets) {
      if (d == Dataset::system) continue;
      build.intervals[static_cast<std::size_t>(d)] =
          static_cast<double>(interval_locked(d).count());
    }
    build.intervals[static_cast<std::size_t>(Dataset::system)] =
        static_cast<double>(secs(options_.layout_interval).count());
    snap = std::make_shared<Snapshot>(build_snapshot(fleet_, options_.clock(), build));
    snap->generation = ++generation_;
  }
  // Rendering (and gzip) happens outside the lock: jobs keep running meanwhile.
  std::shared_ptr<const Snapshot> published = std::move(snap);
  if (on_publish_) on_publish_(published);
  current_.store(published);
}

void Refresher::run_job(const Job& job, std::stop_token stop) {
  if (job.system_id == kAccount) {
    run_account(stop);
    return;
  }
  const bool ok = run_system_job(job.system_id, job.dataset, stop);
  if (stop.stop_requested()) return;
  std::lock_guard lock(mutex_);
  if (!fleet_.systems.count(job.system_id) || disabled_.count({job.system_id, job.dataset})) return;
  const auto every = interval_locked(job.dataset);
  const auto wait =
      ok ? every : std::min<std::chrono::seconds>(every, secs(options_.retry_interval));
  queue_.schedule(job.system_id, job.dataset, steady_clock::now() + wait);
  dirty_ = true;
  wake_.notify_all();
}

void Refresher::run_account(std::stop_token stop) {
  auto listed = client_->systems(stop);
  auto user = client_->user(stop);
  auto types = client_->object_types(stop);
  auto alert_types = client_->alert_types({}, stop);
  if (stop.stop_requested()) return;
  const auto now = options_.clock();
  std::lock_guard lock(mutex_);
  if (user) fleet_.user = *user;
  if (types) {
    fleet_.object_types.clear();
    for (const auto& t : *types) fleet_.object_types[t.object_type_id] = t.label;
  }
  if (alert_types) {
    for (const auto& t : *alert_types) fleet_.alert_types[t.unique_id] = t;
  }
  auto next = steady_clock::now() + secs(options_.layout_interval);
  if (!listed) {
    log_failure("system", kAccount, listed.error());
    for (auto& [id, s] : fleet_.systems)
      mark_failure(s.state(Dataset::system), listed.error().message);
    next = steady_clock::now() + secs(options_.retry_interval);
  } else {
    fleet_.listed_at = now;
    note_unlisted_locked(*listed);
    std::set<std::int64_t> seen;
    for (auto& sys : *listed) {
      if (!wanted(sys.system_id)) continue;
      seen.insert(sys.system_id);
      const bool is_new = !fleet_.systems.count(sys.system_id);
      auto& s = fleet_.systems[sys.system_id];
      s.system = std::move(sys);
      if (auto zone = tigo::find_zone(s.system.timezone)) s.zone = *zone;
      mark_success(s.state(Dataset::system), now);
      if (is_new) {
        // The first round at once (readiness needs it); combined once the objects are known.
        // Summaries first (readiness waits for them), then what the panels need.
        const auto t = steady_clock::now();
        auto order = std::chrono::milliseconds{0};
        for (auto d : {Dataset::summary, Dataset::objects, Dataset::layout, Dataset::sources,
                       Dataset::panels, Dataset::alerts}) {
          queue_.schedule(s.system.system_id, d, t + order);
          order += std::chrono::milliseconds{200};
        }
        queue_.schedule(s.system.system_id, Dataset::combined, t + std::chrono::seconds{5});
      }
    }
    // Systems that left the account (or the shard) leave the output.
    for (auto it = fleet_.systems.begin(); it != fleet_.systems.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      queue_.remove_system(it->first);
      it = fleet_.systems.erase(it);
    }
    for (auto& [id, s] : fleet_.systems) update_hierarchy(s, fleet_.object_types);
    replan_locked();
  }
  queue_.schedule(kAccount, Dataset::system, next);
  dirty_ = true;
  wake_.notify_all();
}

bool Refresher::run_system_job(std::int64_t id, Dataset d, std::stop_token stop) {
  // Copy what the call needs, call without the lock, apply with it.
  SystemState view;
  {
    std::lock_guard lock(mutex_);
    auto it = fleet_.systems.find(id);
    if (it == fleet_.systems.end()) return false;
    view.system = it->second.system;
    view.zone = it->second.zone;
    view.sources = it->second.sources;
    view.hierarchy = it->second.hierarchy;
    view.panels_cursor = it->second.panels_cursor;
    view.panels_fetched_once = it->second.panels_fetched_once;
    view.unanswered_at = it->second.unanswered_at;
    view.panels_settled_tonight = it->second.panels_settled_tonight;
  }
  const auto now = options_.clock();
  const auto name = std::string(dataset_name(d));
  std::optional<tigo::Error> failure;
  bool cancelled = false;  // shutting down: nothing to record, no value to apply
  auto record = [&](auto&& apply) {
    if (cancelled) return;
    std::lock_guard lock(mutex_);
    auto it = fleet_.systems.find(id);
    if (it == fleet_.systems.end()) return;
    auto& s = it->second;
    if (failure) {
      mark_failure(s.state(d), failure->message);
      if (failure->kind == tigo::ErrorKind::payment_required) disabled_.insert({id, d});
    } else {
      apply(s);
      mark_success(s.state(d), options_.clock());  // when the answer came, not when asked
    }
  };
  auto fail = [&](const tigo::Error& e) {
    if (e.kind == tigo::ErrorKind::cancelled) {
      cancelled = true;
      return;
    }
    log_failure(name, id, e);
    failure = e;
  };
  const auto local = [&](Timestamp t) { return tigo::utc_to_local(t, view.zone); };

  switch (d) {
    case Dataset::summary: {
      auto r = client_->summary(id, stop);
      if (!r) fail(r.error());
      record([&](SystemState& s) { s.summary = *r; });
      break;
    }
    case Dataset::objects: {
      auto r = client_->objects(id, stop);
      if (!r) fail(r.error());
      record([&](SystemState& s) {
        s.objects = std::move(*r);
        update_hierarchy(s, fleet_.object_types);
      });
      break;
    }
    case Dataset::layout: {
      auto r = client_->layout(id, stop);
      if (!r) fail(r.error());
      record([&](SystemState& s) {
        s.layout = std::move(*r);
        update_hierarchy(s, fleet_.object_types);
      });
      break;
    }
    case Dataset::sources: {
      auto r = client_->sources(id, stop);
      if (!r) fail(r.error());
      record([&](SystemState& s) { s.sources = std::move(*r); });
      break;
    }
    case Dataset::alerts: {
      tigo::AlertsQuery q;
      q.system_id = id;
      q.start_added =
          now - std::chrono::duration_cast<std::chrono::seconds>(options_.alerts_window);
      auto r = client_->alerts(q, stop);
      if (!r) fail(r.error());
      record([&](SystemState& s) { s.alerts = std::move(*r); });
      break;
    }
    case Dataset::combined: {
      if (view.hierarchy.combined_objects.empty()) return false;  // objects not known yet
      tigo::CombinedQuery q;
      q.system_id = id;
      q.zone = view.zone;
      for (const auto& o : view.hierarchy.combined_objects) q.object_ids.push_back(o.object_id);
      q.level = tigo::CombinedLevel::minute;
      q.start = local(now - std::chrono::hours{1});
      q.end = local(now);
      auto minute = client_->combined(q, stop);
      if (!minute) {
        fail(minute.error());
        record([](SystemState&) {});
        break;
      }
      q.level = tigo::CombinedLevel::day;
      q.start = tigo::LocalTime{tigo::local_day(now, view.zone)};
      auto day = client_->combined(q, stop);
      if (!day) fail(day.error());
      record([&](SystemState& s) {
        apply_combined_minute(s, *minute);
        apply_combined_day(s, *day);
      });
      break;
    }
    case Dataset::panels: {
      // Readings of panels the hierarchy does not know yet would be dropped when it arrives, and
      // at night the day is settled by one fetch: wait for objects/system first.
      if (view.hierarchy.panels.empty()) return false;
      std::optional<double> elevation;
      if (view.system.latitude && view.system.longitude)
        elevation =
            sun::sun_position(*view.system.latitude, *view.system.longitude, now).elevation_deg;
      const auto decision = decide_panels(view, elevation);
      if (decision != PanelDecision::fetch) {
        std::lock_guard lock(mutex_);
        if (auto it = fleet_.systems.find(id);
            it != fleet_.systems.end() && elevation && *elevation >= kNightElevationDeg)
          it->second.panels_settled_tonight = false;  // a new day begins
        return true;
      }
      const bool night = elevation && *elevation < kNightElevationDeg;
      auto window = panels_window(view, now, options_.panels_lookback);
      // A first fetch with the sun down (night, or the twilight before dawn) reaches back to the
      // last daylight: the window before now holds no readings.
      if (!view.panels_fetched_once && elevation && *elevation < 0) {
        if (auto lit = last_daylight(*view.system.latitude, *view.system.longitude, now))
          window = window_before(*lit, options_.panels_lookback);
      }
      std::vector<std::pair<tigo::PanelParam, tigo::CsvTable>> tables;
      for (const auto& spec : tigo::kPanelParams) {
        const auto param = spec.param;
        if (!view.wants_param(param, now)) continue;
        tigo::AggregateQuery q;
        q.system_id = id;
        q.zone = view.zone;
        q.level = tigo::AggregateLevel::minute;
        q.param = param;
        q.header = "id";
        q.start = local(window.start);
        q.end = local(window.end);
        auto r = client_->aggregate(q, stop);
        if (!r) {
          fail(r.error());
          if (cancelled) break;
          continue;  // the other params' readings are still worth keeping
        }
        tables.emplace_back(param, std::move(*r));
      }
      // A partly failed fetch keeps what came, marks the dataset failed, and does not move the
      // cursor, so the failed param's minutes are asked for again.
      if (failure && !cancelled) {
        std::lock_guard lock(mutex_);
        if (auto it = fleet_.systems.find(id); it != fleet_.systems.end())
          for (const auto& [param, table] : tables) apply_aggregate(it->second, param, table);
      }
      record([&](SystemState& s) {
        std::optional<Timestamp> newest;
        for (const auto& [param, table] : tables) {
          auto m = apply_aggregate(s, param, table);
          if (tigo::spec(param).optional) {
            // Temp says nothing about which minutes are new; no panel columns: not answered.
            s.unanswered_at[tigo::index_of(param)] =
                table.columns.empty() ? std::optional{now} : std::nullopt;
            continue;
          }
          if (m && (!newest || *m > *newest)) newest = m;
        }
        s.panels_fetched_once = true;
        if (newest && (!s.panels_cursor || *newest > *s.panels_cursor)) s.panels_cursor = newest;
        // Without readings yet, remember what the sources said, so the same minutes are not
        // asked for again.
        if (!newest) {
          if (auto src = newest_source_minute(s);
              src && (!s.panels_cursor || *src > *s.panels_cursor))
            s.panels_cursor = src;
        }
        s.panels_settled_tonight = night;
      });
      break;
    }
    case Dataset::system:
      break;
  }
  return !failure.has_value() && !cancelled;
}

}  // namespace refresh
