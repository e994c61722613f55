#include "backfill/backfill.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "backfill/openmetrics.hpp"
#include "backfill/series.hpp"
#include "backfill/spool.hpp"
#include "metrics/families.hpp"
#include "metrics/family_table.hpp"
#include "refresh/hierarchy.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

namespace backfill {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Output order of the families; the panel ones follow tigo::kPanelParams.
constexpr std::size_t kSystemPower = 0;
constexpr std::size_t kSystemEnergy = 1;
constexpr std::size_t kPanelFirst = 2;
constexpr std::size_t kObjectPower = kPanelFirst + tigo::kPanelParamCount;
constexpr std::size_t kObjectEnergy = kObjectPower + 1;
constexpr std::size_t kFamilyCount = kObjectEnergy + 1;

// Consecutive chunks that fail entirely before a system is given up.
constexpr int kMaxFailedChunks = 3;

// Names, units and HELP as /metrics has them: both come from the family table.
Family output_family(const metrics::FamilySpec& f) { return metrics::header_of(f); }

std::vector<Family> output_families() {
  std::vector<Family> f(kFamilyCount);
  f[kSystemPower] = output_family(metrics::family_spec("tigo_system_dc_power_watts"));
  f[kSystemEnergy] = output_family(metrics::family_spec("tigo_system_dc_energy_today_joules"));
  for (const auto& param : tigo::kPanelParams)
    f[kPanelFirst + tigo::index_of(param.param)] =
        output_family(metrics::panel_value_family(param.param));
  f[kObjectPower] = output_family(metrics::family_spec("tigo_object_power_watts"));
  f[kObjectEnergy] = output_family(metrics::family_spec("tigo_object_energy_today_joules"));
  return f;
}

bool transient(const tigo::Error& e) {
  switch (e.kind) {
    case tigo::ErrorKind::transport:
    case tigo::ErrorKind::parse:
    case tigo::ErrorKind::rate_limited:
      return true;
    case tigo::ErrorKind::http_status:
      return e.status >= 500 || e.status == 0;
    default:
      return false;
  }
}

// The call again while it fails transiently (the client's governor spaces the attempts out).
template <class Call>
auto with_retries(Call&& call, int attempts, std::atomic<std::size_t>& calls,
                  std::stop_token stop) {
  for (int attempt = 1;; ++attempt) {
    ++calls;
    auto r = call();
    if (r.ok() || attempt >= attempts || !transient(r.error()) || stop.stop_requested()) return r;
    util::log::info("call failed, retrying", {{"endpoint", r.error().endpoint},
                                              {"status", std::to_string(r.error().status)},
                                              {"attempt", std::to_string(attempt)},
                                              {"err", r.error().message}});
  }
}

// One system's backfill: the hierarchy, then chunk after chunk into the spool.
class SystemRun {
 public:
  SystemRun(tigo::Client& client, const Options& o, Spool& spool,
            const std::map<std::int64_t, std::string>& types, const tigo::System& system,
            std::stop_token stop)
      : client_(client),
        o_(o),
        spool_(spool),
        types_(types),
        system_(system),
        stop_(std::move(stop)) {
    out_.system_id = system.system_id;
    if (auto z = tigo::find_zone(system.timezone)) {
      zone_ = *z;
    } else {
      util::log::warn(
          "unknown time zone, reading the system's times as UTC",
          {{"system_id", std::to_string(system.system_id)}, {"timezone", system.timezone}});
    }
  }

  // Returns an error only when the output itself failed (disk): the whole run stops then.
  std::optional<util::Error> run() {
    if (!load_hierarchy()) return std::nullopt;
    const auto first_day = tigo::local_day(o_.from, zone_);
    const auto last_day = tigo::local_day(o_.to - seconds{1}, zone_);
    int failed_chunks = 0;
    for (auto d = first_day; d <= last_day && !stop_.stop_requested();
         d += date::days{o_.chunk_days}) {
      const auto end = std::min(d + date::days{o_.chunk_days}, last_day + date::days{1});
      bool any_ok = false;
      if (auto e = run_chunk(d, end, any_ok)) return e;
      if (fatal_ || stop_.stop_requested()) break;
      failed_chunks = any_ok ? 0 : failed_chunks + 1;
      if (failed_chunks >= kMaxFailedChunks) {
        util::log::error("giving up the system after failed chunks",
                         {{"system_id", std::to_string(system_.system_id)},
                          {"chunks", std::to_string(failed_chunks)}});
        break;
      }
      progress(d);
    }
    return std::nullopt;
  }

  SystemOutcome outcome() const {
    auto o = out_;
    o.calls = calls_.load();
    return o;
  }

 private:
  struct Job {
    enum Kind { panel, object_minute, object_hour } kind;
    tigo::PanelParam param = tigo::PanelParam::power;  // panel jobs
    tigo::LocalTime start, end;
    std::optional<tigo::Result<tigo::CsvTable>> result;
  };

  void fail(const tigo::Error& e) {
    if (e.kind == tigo::ErrorKind::cancelled) return;
    out_.ok = false;
    out_.error = e.message;
    ++out_.failed_calls;
    util::log::warn("backfill call failed", {{"system_id", std::to_string(system_.system_id)},
                                             {"endpoint", e.endpoint},
                                             {"status", std::to_string(e.status)},
                                             {"kind", std::string(tigo::to_string(e.kind))},
                                             {"err", e.message}});
    // Asking again cannot help: the account or the subscription is the problem.
    if (e.kind == tigo::ErrorKind::unauthorized || e.kind == tigo::ErrorKind::payment_required)
      fatal_ = true;
  }

  bool load_hierarchy() {
    const auto id = system_.system_id;
    auto objects =
        with_retries([&] { return client_.objects(id, stop_); }, o_.attempts, calls_, stop_);
    if (!objects) fail(objects.error());
    auto layout =
        with_retries([&] { return client_.layout(id, stop_); }, o_.attempts, calls_, stop_);
    if (!layout) fail(layout.error());
    if ((!objects && !layout) || fatal_ || stop_.stop_requested()) return false;
    // The refresher's resolution, so the panels get the labels /metrics gives them.
    const auto h = refresh::resolve_hierarchy(objects ? &*objects : nullptr, types_,
                                              layout ? &*layout : nullptr);
    system_labels_ = metrics::system_labels(id);
    for (std::size_t i = 0; i < h.panels.size(); ++i) {
      panel_index_.emplace(h.panels[i].object_id, static_cast<std::uint32_t>(i));
      panel_labels_.push_back(metrics::panel_labels(system_labels_, h.panels[i]));
    }
    for (std::size_t i = 0; i < h.combined_objects.size(); ++i) {
      const auto& obj = h.combined_objects[i];
      object_index_.emplace(obj.object_id, static_cast<std::uint32_t>(i));
      object_ids_.push_back(obj.object_id);
      object_labels_.push_back(
          metrics::object_labels(system_labels_, obj.object_id, obj.object_type, obj.label));
    }
    if (objects) {
      for (const auto& obj : *objects)
        if (obj.object_type_id == tigo::object_type::kSystem) system_object_ = obj.id;
    }
    last_.assign(kFamilyCount, {});
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
      const std::size_t n = f == kSystemPower || f == kSystemEnergy   ? 1
                            : f == kObjectPower || f == kObjectEnergy ? object_ids_.size()
                                                                      : panel_labels_.size();
      last_[f].assign(n, std::nullopt);
    }
    return true;
  }

  // Site-local days [first, end): every call of the chunk in parallel (the client bounds what is
  // in flight and the governor the rate), then their rows into the spool in time order.
  std::optional<util::Error> run_chunk(date::local_days first, date::local_days end, bool& any_ok) {
    const tigo::LocalTime start{first};
    const tigo::LocalTime stop_at = tigo::LocalTime{end} - seconds{1};
    std::vector<Job> jobs;
    for (const auto& param : tigo::kPanelParams)
      jobs.push_back({Job::panel, param.param, start, stop_at, std::nullopt});
    if (!object_ids_.empty()) {
      // data/combined answers at most a day of minutes: a 25-hour day goes in two halves.
      for (auto d = first; d < end; d += date::days{1}) {
        const tigo::LocalTime day{d}, next{d + date::days{1}};
        const Timestamp day_begins = tigo::local_to_utc(day, zone_);
        const Timestamp day_ends = tigo::local_to_utc(next, zone_);
        if (day_ends <= o_.from || day_begins >= o_.to) continue;
        if (day_ends - day_begins <= hours{24}) {
          jobs.push_back({Job::object_minute, {}, day, next - seconds{1}, std::nullopt});
        } else {
          const auto noon = day + hours{12};
          jobs.push_back({Job::object_minute, {}, day, noon - seconds{1}, std::nullopt});
          jobs.push_back({Job::object_minute, {}, noon, next - seconds{1}, std::nullopt});
        }
      }
      jobs.push_back({Job::object_hour, {}, start, stop_at, std::nullopt});
    }
    {
      std::vector<std::jthread> threads;
      threads.reserve(jobs.size());
      for (auto& job : jobs) threads.emplace_back([this, &job] { job.result = fetch(job); });
    }
    for (auto& job : jobs) {
      auto& r = *job.result;
      if (!r) {
        fail(r.error());
        continue;
      }
      any_ok = true;
      out_.rows += r->accepted_rows;
      if (auto e = write_table(job, *r)) return e;
    }
    return std::nullopt;
  }

  tigo::Result<tigo::CsvTable> fetch(const Job& job) {
    const auto id = system_.system_id;
    if (job.kind == Job::panel) {
      tigo::AggregateQuery q;
      q.system_id = id;
      q.zone = zone_;
      q.level = tigo::AggregateLevel::minute;
      q.param = job.param;
      q.header = "id";
      q.start = job.start;
      q.end = job.end;
      q.keep_rows = true;
      return with_retries([&] { return client_.aggregate(q, stop_); }, o_.attempts, calls_, stop_);
    }
    tigo::CombinedQuery q;
    q.system_id = id;
    q.zone = zone_;
    q.level =
        job.kind == Job::object_minute ? tigo::CombinedLevel::minute : tigo::CombinedLevel::hour;
    q.object_ids = object_ids_;
    q.start = job.start;
    q.end = job.end;
    q.keep_rows = true;
    return with_retries([&] { return client_.combined(q, stop_); }, o_.attempts, calls_, stop_);
  }

  std::optional<util::Error> write_table(const Job& job, const tigo::CsvTable& table) {
    auto columns = job.kind == Job::object_hour ? energy_today_points(table, zone_)
                                                : column_points(table, zone_);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const auto id = column_id(table.columns[c].name);
      if (!id) continue;
      if (job.kind == Job::panel) {
        // Other columns (the gateway's own sensor column) are no panel's.
        const auto it = panel_index_.find(*id);
        if (it == panel_index_.end()) continue;
        if (auto e = write(kPanelFirst + tigo::index_of(job.param), it->second,
                           panel_labels_[it->second], std::move(columns[c])))
          return e;
        continue;
      }
      const auto it = object_index_.find(*id);
      if (it == object_index_.end()) continue;
      const bool minute = job.kind == Job::object_minute;
      if (system_object_ == *id) {
        if (auto e = write(minute ? kSystemPower : kSystemEnergy, 0, system_labels_, columns[c]))
          return e;
      }
      if (auto e = write(minute ? kObjectPower : kObjectEnergy, it->second,
                         object_labels_[it->second], std::move(columns[c])))
        return e;
    }
    return std::nullopt;
  }

  std::optional<util::Error> write(std::size_t family, std::uint32_t series,
                                   const std::string& labels, std::vector<Point> points) {
    auto& last = last_[family][series];
    normalize(points, o_.from, o_.to, last);
    if (points.empty()) return std::nullopt;
    text_.clear();
    const auto name = families_[family].name;
    for (const auto& p : points) append_sample(text_, name, labels, p.value, p.at);
    last = points.back().at;
    out_.samples += points.size();
    return spool_.add(family, series, text_);
  }

  void progress(date::local_days day) {
    const auto now = steady_clock::now();
    if (now - last_progress_ < o_.progress_every) return;
    last_progress_ = now;
    util::log::info("backfill progress", {{"system_id", std::to_string(system_.system_id)},
                                          {"day", date::format("%F", day)},
                                          {"calls", std::to_string(calls_.load())},
                                          {"rows", std::to_string(out_.rows)},
                                          {"samples", std::to_string(out_.samples)}});
  }

  tigo::Client& client_;
  const Options& o_;
  Spool& spool_;
  const std::map<std::int64_t, std::string>& types_;
  const tigo::System& system_;
  std::stop_token stop_;
  const date::time_zone* zone_ = nullptr;
  const std::vector<Family> families_ = output_families();

  std::string system_labels_;
  std::unordered_map<std::int64_t, std::uint32_t> panel_index_, object_index_;
  std::vector<std::string> panel_labels_, object_labels_;
  std::vector<std::int64_t> object_ids_;
  std::optional<std::int64_t> system_object_;
  std::vector<std::vector<std::optional<Timestamp>>> last_;  // per family, series
  std::string text_;
  std::atomic<std::size_t> calls_{0};
  SystemOutcome out_;
  bool fatal_ = false;
  steady_clock::time_point last_progress_ = steady_clock::now();
};

}  // namespace

bool Outcome::all_ok() const {
  return written &&
         std::all_of(systems.begin(), systems.end(), [](const SystemOutcome& s) { return s.ok; });
}

Outcome run(tigo::Client& client, const Options& o, std::stop_token stop) {
  Outcome out;
  auto spool = Spool::create(o.output, output_families());
  if (!spool) {
    out.setup_error = true;
    out.error = spool.error().message;
    return out;
  }
  std::atomic<std::size_t> calls{0};
  auto listed = with_retries([&] { return client.systems(stop); }, o.attempts, calls, stop);
  if (!listed) {
    out.cancelled = listed.error().kind == tigo::ErrorKind::cancelled;
    out.error = listed.error().message;
    out.calls = calls;
    return out;
  }
  std::map<std::int64_t, std::string> types;
  if (auto t = with_retries([&] { return client.object_types(stop); }, o.attempts, calls, stop)) {
    for (const auto& type : *t) types[type.object_type_id] = type.label;
  } else {
    util::log::warn("objects/types failed, using the known type names",
                    {{"err", t.error().message}});
  }
  std::vector<const tigo::System*> selected;
  for (const auto& s : *listed)
    if (o.systems.wanted(s.system_id)) selected.push_back(&s);
  for (const auto id : o.systems.only) {
    if (std::none_of(listed->begin(), listed->end(),
                     [id](const tigo::System& s) { return s.system_id == id; }))
      util::log::warn("system not in the account", {{"system_id", std::to_string(id)}});
  }
  // A site-local day more than the UTC range, 4 data/aggregate calls and an hourly data/combined
  // per chunk, a minute data/combined per day, the hierarchy: what the rate limit must carry.
  const auto days = std::chrono::ceil<date::days>(o.to - o.from).count() + 1;
  const auto chunks = (days + o.chunk_days - 1) / o.chunk_days;
  const auto calls_estimate = static_cast<double>(selected.size() * (2 + chunks * 5 + days));
  const double per_minute = std::max(1.0, client.governor().requests_per_minute());
  util::log::info("backfill starting",
                  {{"systems", std::to_string(selected.size())},
                   {"from", util::format_iso8601_utc(o.from)},
                   {"to", util::format_iso8601_utc(o.to)},
                   {"calls_estimate", std::to_string(static_cast<long>(calls_estimate))},
                   {"minutes_estimate",
                    std::to_string(static_cast<long>(std::ceil(calls_estimate / per_minute)))},
                   {"output", o.output}});

  for (std::size_t i = 0; i < selected.size() && !stop.stop_requested(); ++i) {
    const auto t0 = steady_clock::now();
    SystemRun sys(client, o, **spool, types, *selected[i], stop);
    auto disk = sys.run();
    if (!disk) disk = (*spool)->end_system();
    auto result = sys.outcome();
    out.calls += result.calls;
    out.samples += result.samples;
    if (disk) {
      out.error = disk->message;
      return out;
    }
    if (stop.stop_requested()) break;
    util::log::write(
        result.ok ? util::log::Level::info : util::log::Level::warn,
        result.ok ? "backfill system done" : "backfill system failed",
        {{"system_id", std::to_string(result.system_id)},
         {"done", std::to_string(i + 1) + "/" + std::to_string(selected.size())},
         {"calls", std::to_string(result.calls)},
         {"rows", std::to_string(result.rows)},
         {"samples", std::to_string(result.samples)},
         {"seconds",
          std::to_string(std::chrono::duration_cast<seconds>(steady_clock::now() - t0).count())},
         {"err", result.error}});
    out.systems.push_back(std::move(result));
  }
  out.calls += calls;
  if (stop.stop_requested()) {
    out.cancelled = true;
    out.error = "interrupted";
    return out;
  }
  if (auto e = (*spool)->commit()) {
    out.error = e->message;
    return out;
  }
  out.written = true;
  out.bytes = (*spool)->bytes_written();
  return out;
}

}  // namespace backfill
