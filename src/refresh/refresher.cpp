#include "refresh/refresher.hpp"

#include <algorithm>

#include "refresh/minute_window.hpp"
#include "sun/position.hpp"
#include "util/log.hpp"
#include "util/thread_priority.hpp"
#include "util/time.hpp"

namespace refresh {
namespace {

using std::chrono::steady_clock;

std::chrono::seconds secs(std::chrono::milliseconds ms) {
  return std::max(std::chrono::seconds{1}, std::chrono::duration_cast<std::chrono::seconds>(ms));
}

void log_failure(std::string_view dataset, std::int64_t system_id, const tigo::Error& e) {
  util::log::warn("refresh failed", {{"dataset", std::string(dataset)},
                                     {"system_id", std::to_string(system_id)},
                                     {"endpoint", e.endpoint},
                                     {"status", std::to_string(e.status)},
                                     {"kind", std::string(tigo::to_string(e.kind))},
                                     {"err", e.message}});
}

PolicyOptions policy_options(const RefresherOptions& o) {
  auto p = default_policy_options();
  const std::pair<Dataset, std::chrono::milliseconds> wanted[] = {
      {Dataset::system, o.layout_interval},
      {Dataset::objects, o.layout_interval},
      {Dataset::layout, o.layout_interval},
      {Dataset::sources, o.sources_interval},
      {Dataset::summary, o.summary_interval},
      {Dataset::panels, o.panels_interval},
      {Dataset::panel_details, o.panel_details_interval},
      {Dataset::combined, o.combined_interval},
      {Dataset::alerts, o.alerts_interval}};
  for (const auto& [d, every] : wanted) p.wanted[static_cast<std::size_t>(d)] = secs(every);
  p.retry = secs(o.retry_interval);
  p.max_in_flight = std::max(1, o.workers);
  return p;
}

}  // namespace

Refresher::Refresher(std::shared_ptr<tigo::Client> client, RefresherOptions options,
                     PublishFn on_publish)
    : client_(std::move(client)),
      options_(std::move(options)),
      on_publish_(std::move(on_publish)),
      policy_(policy_options(options_)) {
  if (!options_.clock)
    options_.clock = [] {
      return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    };
  if (!options_.elapsed) options_.elapsed = util::boot_elapsed;
  std::lock_guard lock(mutex_);
  sync_budget_locked();
}

Refresher::~Refresher() { stop(); }

Timestamp Refresher::now() const { return options_.clock(); }

Timestamp Refresher::policy_now_locked() {
  const auto wall = now();
  if (const auto step = policy_.observe_clock(wall, options_.elapsed())) {
    util::log::warn("the wall clock stepped; the refresh schedule moved with it",
                    {{"step_seconds", std::to_string(step->count())}});
  }
  return wall;
}

void Refresher::start() {
  if (!options_.state_path.empty()) load_state();
  for (int i = 0; i < std::max(1, options_.workers); ++i)
    threads_.emplace_back([this](std::stop_token st) { worker(st); });
  threads_.emplace_back([this](std::stop_token st) { publisher(st); });
  if (!options_.state_path.empty())
    threads_.emplace_back([this](std::stop_token st) { saver(st); });
}

void Refresher::stop() {
  if (threads_.empty()) return;
  for (auto& t : threads_) t.request_stop();
  wake_.notify_all();
  threads_.clear();  // joins
  if (!options_.state_path.empty()) save_state();
  client_->logout();
}

void Refresher::load_state() {
  RestoreOptions restore;
  restore.identity = options_.state_identity;
  restore.now = now();
  // Older than the hierarchy's interval, the file would save nothing but stale values.
  restore.max_age = secs(options_.layout_interval);
  restore.systems = options_.systems;
  std::size_t restored = 0;
  {
    std::lock_guard lock(mutex_);
    restored = load_state_file(options_.state_path, restore, fleet_, policy_);
    for (auto& [id, s] : fleet_.systems) shares_.changed(s);
  }
  if (restored > 0) publish_now();  // served before the first call to the API
}

void Refresher::save_state() {
  const auto t0 = steady_clock::now();
  SavedState state;
  {
    std::lock_guard lock(mutex_);
    // Nothing learned yet (the list never answered, nothing restored): keep whatever is there.
    if (fleet_.systems.empty() && !fleet_.listed_at) return;
    state = capture_state(fleet_, policy_, options_.state_identity, now());
  }
  const auto text = serialize_state(state);
  if (auto written = write_state_file(options_.state_path, text); !written) {
    util::log::warn("state file not written; the previous one is kept",
                    {{"path", options_.state_path}, {"err", written.error().message}});
    return;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - t0).count();
  util::log::debug("state file written", {{"path", options_.state_path},
                                          {"systems", std::to_string(state.systems.size())},
                                          {"bytes", std::to_string(text.size())},
                                          {"ms", std::to_string(ms)}});
}

void Refresher::saver(std::stop_token stop) {
  util::lower_current_thread_priority();
  std::mutex m;
  std::condition_variable_any never_notified;  // the stop token ends the wait
  std::unique_lock lock(m);
  while (!stop.stop_requested()) {
    never_notified.wait_for(lock, stop, options_.state_save_interval, [] { return false; });
    if (stop.stop_requested()) return;
    save_state();
  }
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

// The governor's rate (lowered by the API's X-Rate-Limit headers) less the headroom.
void Refresher::sync_budget_locked() {
  policy_.set_budget(client_->governor().requests_per_minute() * options_.budget_share);
}

void Refresher::worker(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::optional<Choice> job;
    SystemState view;
    Timestamp started{};
    {
      std::unique_lock lock(mutex_);
      while (!stop.stop_requested()) {
        sync_budget_locked();
        started = policy_now_locked();
        job = policy_.next(started);
        if (job) break;
        // Sleep until the policy may have work, or until a finished job changed what it knows.
        const auto until = policy_.next_wake(started);
        const auto wait = std::clamp<std::chrono::seconds>(until - started, std::chrono::seconds{1},
                                                           std::chrono::seconds{60});
        const auto seen = wake_seq_;
        wake_.wait_for(lock, stop, wait, [&] { return wake_seq_ != seen; });
      }
      if (!job) return;
      if (job->system_id != kAccountJob) {
        auto it = fleet_.systems.find(job->system_id);
        if (it != fleet_.systems.end()) view = it->second;  // the fetch reads a copy, unlocked
      }
    }
    if (job->system_id == kAccountJob) {
      run_account(*job, stop);
      continue;
    }
    auto fetched = fetch(job->system_id, job->dataset, view, started, stop);
    record(*job, fetched);
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

BuildOptions publish_options(const Policy& policy, const FleetState& fleet,
                             const config::RefreshSettings& settings) {
  BuildOptions build;
  build.max_staleness = settings.max_staleness;
  build.alerts_window = settings.alerts_window;
  const auto& plan = policy.plan();
  for (auto d : kAllDatasets)
    build.intervals[static_cast<std::size_t>(d)] =
        static_cast<double>(plan.interval[static_cast<std::size_t>(d)].count());
  build.intervals[static_cast<std::size_t>(Dataset::panels)] =
      static_cast<double>(plan.power_cadence.count());
  // At night the policy asks for summaries and gateways less often: judge them by that.
  for (const auto& [id, sys] : fleet.systems)
    for (auto d : {Dataset::summary, Dataset::sources})
      if (const auto every = policy.system_interval(id, d))
        build.system_intervals[id][static_cast<std::size_t>(d)] =
            static_cast<double>(every->count());
  build.budget_plan = plan.describe();
  build.beyond_budget = plan.beyond_budget;
  return build;
}

void Refresher::publish_now() {
  BuildOptions build;
  FleetView fleet;
  {
    // Under the lock: copies of the systems changed since the last publish (the others are
    // shared as they are) and the plan; the build reads them outside it.
    std::lock_guard lock(mutex_);
    dirty_ = false;
    fleet = shares_.view(fleet_);
    build = publish_options(policy_, fleet_, options_);
    const auto& plan = policy_.plan();
    // Said at start and whenever the fleet or its fit in the budget changes, not every minute.
    if (plan.systems > 0 &&
        (plan.systems != logged_systems_ || plan.beyond_budget != logged_beyond_)) {
      logged_systems_ = plan.systems;
      logged_beyond_ = plan.beyond_budget;
      if (plan.beyond_budget)
        util::log::warn("the fleet is beyond what the budget keeps fresh",
                        {{"plan", build.budget_plan}});
      else
        util::log::info("what the budget buys", {{"plan", build.budget_plan}});
    }
  }
  auto snap = std::make_shared<Snapshot>(build_snapshot(fleet, now(), build));
  {
    std::lock_guard lock(mutex_);
    snap->generation = ++generation_;
  }
  // Rendering (and gzip) happens outside the lock: jobs keep running meanwhile.
  std::shared_ptr<const Snapshot> published = std::move(snap);
  if (on_publish_) on_publish_(published);
  current_.store(published);
}

void Refresher::record(const Choice& job, Fetched& fetched) {
  std::lock_guard lock(mutex_);
  const auto now = policy_now_locked();
  if (fetched.cancelled) {
    policy_.finished(job, now, Outcome{});
    return;
  }
  auto it = fleet_.systems.find(job.system_id);
  if (it != fleet_.systems.end()) {
    auto& s = it->second;
    if (fetched.error) {
      if (fetched.partial) fetched.partial(s);
      mark_failure(s.state(job.dataset), fetched.error->message);
      fetched.outcome.ok = false;
      fetched.outcome.payment_required = fetched.error->kind == tigo::ErrorKind::payment_required;
    } else {
      if (fetched.apply) fetched.apply(s, fetched.outcome);
      mark_success(s.state(job.dataset), now);
      fetched.outcome.ok = true;
    }
    shares_.changed(s);
  }
  policy_.finished(job, now, fetched.outcome);
  ++wake_seq_;
  dirty_ = true;
  wake_.notify_all();
}

void Refresher::run_account(const Choice& job, std::stop_token stop) {
  auto listed = client_->systems(stop);
  auto user = client_->user(stop);
  auto types = client_->object_types(stop);
  auto alert_types = client_->alert_types({}, stop);
  std::lock_guard lock(mutex_);
  const auto at = policy_now_locked();
  if (stop.stop_requested()) {
    policy_.finished(job, at, Outcome{});
    return;
  }
  if (user) fleet_.user = *user;
  if (types) {
    fleet_.object_types.clear();
    for (const auto& t : *types) fleet_.object_types[t.object_type_id] = t.label;
  }
  if (alert_types) {
    for (const auto& t : *alert_types) fleet_.alert_types[t.unique_id] = t;
  }
  Outcome outcome;
  outcome.ok = listed.ok();
  if (!listed) {
    log_failure("system", kAccountJob, listed.error());
    for (auto& [id, s] : fleet_.systems)
      mark_failure(s.state(Dataset::system), listed.error().message);
  } else {
    fleet_.listed_at = at;
    note_unlisted_locked(*listed);
    std::set<std::int64_t> seen;
    for (auto& sys : *listed) {
      if (!wanted(sys.system_id)) continue;
      seen.insert(sys.system_id);
      auto& s = fleet_.systems[sys.system_id];
      s.system = std::move(sys);
      if (auto zone = tigo::find_zone(s.system.timezone)) s.zone = *zone;
      mark_success(s.state(Dataset::system), at);
      policy_.add_system(s.system.system_id, s.system.latitude, s.system.longitude);
    }
    // Systems that left the account (or the shard) leave the output.
    for (auto it = fleet_.systems.begin(); it != fleet_.systems.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      policy_.remove_system(it->first);
      it = fleet_.systems.erase(it);
    }
    for (auto& [id, s] : fleet_.systems) update_hierarchy(s, fleet_.object_types);
  }
  // Every system took the list's answer (or its failure), and the types.
  for (auto& [id, s] : fleet_.systems) shares_.changed(s);
  policy_.finished(job, at, outcome);
  ++wake_seq_;
  dirty_ = true;
  wake_.notify_all();
}

Refresher::Fetched Refresher::fetch(std::int64_t id, Dataset d, const SystemState& view,
                                    Timestamp now, std::stop_token stop) {
  Fetched f;
  // One call, one value: store it on success, log and keep the old one on failure.
  auto single = [&](auto result, auto store) {
    if (!result) {
      if (result.error().kind == tigo::ErrorKind::cancelled) {
        f.cancelled = true;
      } else {
        log_failure(dataset_name(d), id, result.error());
        f.error = result.error();
      }
      return;
    }
    using Value = std::decay_t<decltype(*result)>;
    f.apply = [value = std::make_shared<Value>(std::move(*result)), store](
                  SystemState& s, Outcome&) { store(s, std::move(*value)); };
  };
  switch (d) {
    case Dataset::summary:
      single(client_->summary(id, stop), [](SystemState& s, auto v) { s.summary = std::move(v); });
      break;
    case Dataset::objects:
      single(client_->objects(id, stop), [this](SystemState& s, auto v) {
        s.objects = std::move(v);
        update_hierarchy(s, fleet_.object_types);
      });
      if (f.apply)
        f.apply = [inner = std::move(f.apply)](SystemState& s, Outcome& outcome) {
          inner(s, outcome);
          outcome.panels_known = !s.hierarchy->panels.empty();
        };
      break;
    case Dataset::layout:
      single(client_->layout(id, stop), [this](SystemState& s, auto v) {
        s.layout = std::move(v);
        update_hierarchy(s, fleet_.object_types);
      });
      break;
    case Dataset::sources:
      single(client_->sources(id, stop), [](SystemState& s, auto v) { s.sources = std::move(v); });
      break;
    case Dataset::alerts: {
      tigo::AlertsQuery q;
      q.system_id = id;
      q.start_added =
          now - std::chrono::duration_cast<std::chrono::seconds>(options_.alerts_window);
      single(client_->alerts(q, stop), [](SystemState& s, auto v) { s.alerts = std::move(v); });
      break;
    }
    case Dataset::combined:
      return fetch_combined(id, view, now, stop);
    case Dataset::panels:
    case Dataset::panel_details:
      return fetch_panel_params(id, d, view, now, stop);
    case Dataset::system:
      break;
  }
  return f;
}

Refresher::Fetched Refresher::fetch_combined(std::int64_t id, const SystemState& view,
                                             Timestamp now, std::stop_token stop) {
  Fetched f;
  auto fail = [&](const tigo::Error& e) {
    if (e.kind == tigo::ErrorKind::cancelled) {
      f.cancelled = true;
    } else {
      log_failure("combined", id, e);
      f.error = e;
    }
    return f;
  };
  if (view.hierarchy->combined_objects.empty()) {
    f.apply = [](SystemState&, Outcome&) {
    };  // nothing to ask for: objects without system/inverter/string
    return f;
  }
  const auto local = [&](Timestamp t) { return tigo::utc_to_local(t, view.zone); };
  tigo::CombinedQuery q;
  q.system_id = id;
  q.zone = view.zone;
  for (const auto& o : view.hierarchy->combined_objects) q.object_ids.push_back(o.object_id);
  q.level = tigo::CombinedLevel::minute;
  q.start = local(now - std::chrono::hours{1});
  q.end = local(now);
  auto minute = client_->combined(q, stop);
  if (!minute) return fail(minute.error());
  q.level = tigo::CombinedLevel::day;
  q.start = tigo::LocalTime{tigo::local_day(now, view.zone)};
  auto day = client_->combined(q, stop);
  if (!day) return fail(day.error());
  f.apply = [minute = std::make_shared<tigo::CsvTable>(std::move(*minute)),
             day = std::make_shared<tigo::CsvTable>(std::move(*day))](SystemState& s, Outcome&) {
    apply_combined_minute(s, *minute);
    apply_combined_day(s, *day);
  };
  return f;
}

Refresher::Fetched Refresher::fetch_panel_params(std::int64_t id, Dataset d,
                                                 const SystemState& view, Timestamp now,
                                                 std::stop_token stop) {
  Fetched f;
  const bool power = d == Dataset::panels;
  const auto& cursor = power ? view.panels_cursor : view.details_cursor;
  auto window = minute_window(cursor, now, options_.panels_lookback);
  // A first fetch with the sun down (night, or the twilight before dawn) reaches back to the
  // last daylight: the window before now holds no readings.
  if (!cursor && view.system.latitude && view.system.longitude &&
      sun::sun_position(*view.system.latitude, *view.system.longitude, now).elevation_deg < 0) {
    if (auto lit = last_daylight(*view.system.latitude, *view.system.longitude, now))
      window = window_before(*lit, options_.panels_lookback);
  }
  const auto local = [&](Timestamp t) { return tigo::utc_to_local(t, view.zone); };
  auto tables = std::make_shared<std::vector<std::pair<tigo::PanelParam, tigo::CsvTable>>>();
  for (const auto& spec : tigo::kPanelParams) {
    const auto param = spec.param;
    if ((param == tigo::PanelParam::power) != power || !view.wants_param(param, now)) continue;
    ++f.outcome.detail_calls;
    tigo::AggregateQuery q;
    q.system_id = id;
    q.zone = view.zone;
    q.level = tigo::AggregateLevel::minute;
    q.param = param;
    q.header = "id";
    q.start = local(window.start);
    q.end = local(window.end);
    q.keep_rows = param == tigo::PanelParam::power;  // every minute, for the panels' energy
    auto r = client_->aggregate(q, stop);
    if (!r) {
      if (r.error().kind == tigo::ErrorKind::cancelled) {
        f.cancelled = true;
        return f;
      }
      log_failure(dataset_name(d), id, r.error());
      if (!f.error) f.error = r.error();
      continue;  // the other params' readings are still worth keeping
    }
    tables->emplace_back(param, std::move(*r));
  }
  if (!power) {
    // Temp is optional: without panel columns it was not answered (asked again in a day).
    for (const auto& [param, table] : *tables)
      if (tigo::spec(param).optional && table.columns.empty()) --f.outcome.detail_calls;
  }
  // A partly failed fetch keeps what came and does not move the cursor, so the failed param's
  // minutes are asked for again.
  f.partial = [tables](SystemState& s) {
    for (const auto& [param, table] : *tables) {
      apply_aggregate(s, param, table);
      if (param == tigo::PanelParam::power) integrate_panel_minutes(s, table);
    }
  };
  f.apply = [tables, power, now](SystemState& s, Outcome& outcome) {
    std::optional<Timestamp> newest;
    for (const auto& [param, table] : *tables) {
      auto m = apply_aggregate(s, param, table);
      if (param == tigo::PanelParam::power) integrate_panel_minutes(s, table);
      if (tigo::spec(param).optional) {
        s.unanswered_at[tigo::index_of(param)] =
            table.columns.empty() ? std::optional{now} : std::nullopt;
        continue;  // Temp says nothing about which minutes are new
      }
      if (m && (!newest || *m > *newest)) newest = m;
    }
    auto& newest_fetched = power ? s.panels_cursor : s.details_cursor;
    if (newest && (!newest_fetched || *newest > *newest_fetched)) newest_fetched = newest;
    if (power) outcome.newest_pin = s.panels_cursor;
  };
  return f;
}

}  // namespace refresh
