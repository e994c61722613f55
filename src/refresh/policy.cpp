#include "refresh/policy.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "sun/position.hpp"

namespace refresh {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Datasets are planned this far inside their bound: a job runs some minutes after it is due when
// the budget is busy (the morning, when a region's whole fleet wakes), and the bound is the
// promise.
constexpr double kPlannedShareOfBound = 0.85;

constexpr std::size_t idx(Dataset d) { return static_cast<std::size_t>(d); }

std::optional<seconds> bound_of(Dataset d) {
  for (const auto& b : kBounds)
    if (b.dataset == d) return b.bound;
  return std::nullopt;
}

bool minute_data(Dataset d) {
  return d == Dataset::panels || d == Dataset::panel_details || d == Dataset::combined;
}

// How far into the first round each dataset may wait (earliest deadline first orders it):
// panels need objects, readiness needs objects and summary tried.
seconds first_round_slack(Dataset d, bool active) {
  switch (d) {
    case Dataset::objects:
      return active ? seconds{0} : minutes{1};
    case Dataset::panels:
      return seconds{0};
    case Dataset::summary:
      return minutes{1};
    case Dataset::sources:
    case Dataset::layout:
    case Dataset::alerts:
      return minutes{5};
    default:
      return minutes{10};
  }
}

// A fixed share of `over` per system and dataset, in [0.2, 1): spreads jobs that would otherwise
// come due for the whole fleet at once.
seconds spread(std::int64_t id, Dataset d, seconds over) {
  // Unsigned: ids come from the API and may be as large as int64 goes.
  const auto mixed = static_cast<std::uint64_t>(id) * 7919U + idx(d) * 104729U;
  const auto share = 0.2 + 0.8 * static_cast<double>(mixed % 1000) / 1000.0;
  return seconds{static_cast<long long>(static_cast<double>(over.count()) * share)};
}

// A fixed share in [0, 1) per system.
double system_share(std::int64_t id) {
  return static_cast<double>(static_cast<std::uint64_t>(id) * 2654435761ULL % 1000) / 1000.0;
}

// The first round's calls per system (summary, objects, layout, gateways, alerts), and the share
// of the budget they may take while panel power flows.
constexpr double kFirstRoundCalls = 5;
constexpr double kFirstRoundShare = 0.6;

// What the fleet asks of the budget, in calls a minute: the account job, panel power, and each
// bounded dataset at a given interval.
using Intervals = std::array<double, kDatasetCount>;  // seconds, by dataset
struct Demand {
  double systems = 0, night = 0, active = 0;  // active: in daylight with panels known
  double detail_calls = 0;                    // a refresh of every active system's details
  double account = 0;
  double power_floor = 0;  // one panel power fetch a batch
  double power = 0;        // what panel power cost lately, probes included

  // One dataset at `every` seconds (the night's summaries and gateways at their bound).
  double of(Dataset d, double every) const {
    switch (d) {
      case Dataset::summary:
      case Dataset::sources:
        return (systems - night) * 60.0 / every +
               night * 60.0 / std::max(every, double(bound_of(d)->count()));
      case Dataset::panel_details:
        return detail_calls * 60.0 / every;
      case Dataset::combined:
        return 2.0 * active * 60.0 / every;
      default:
        return systems * 60.0 / every;
    }
  }
  double total(const Intervals& every) const {
    double t = account + power;
    for (auto d : kStretchOrder) t += of(d, every[idx(d)]);
    return t;
  }
};

// Stretches the intervals of kStretchOrder, first to give way first, toward their bounds until
// the demand fits `budget`. When even the bounds do not fit, every one is slowed alike (at most
// four times) so panel power keeps one fetch a batch; returns whether that was needed.
bool stretch_to_budget(const Demand& demand, Intervals& every, double budget) {
  if (demand.total(every) <= budget) return false;
  for (auto d : kStretchOrder) {
    // Planned a little inside the bound: a job runs a few minutes after it is due when the
    // budget is busy, and the bound is what the user was promised.
    const double bound =
        std::max(every[idx(d)], kPlannedShareOfBound * double(bound_of(d)->count()));
    // Bisection on this dataset's interval: demand falls as it grows.
    double lo = every[idx(d)], hi = bound;
    every[idx(d)] = hi;
    if (demand.total(every) > budget) continue;
    for (int i = 0; i < 40; ++i) {
      every[idx(d)] = (lo + hi) / 2;
      (demand.total(every) > budget ? lo : hi) = every[idx(d)];
    }
    every[idx(d)] = hi;
    break;
  }
  const double probes = demand.power - demand.power_floor;
  if (demand.total(every) - probes <= budget * (1 + 1e-9)) return false;
  const double rest = budget - demand.account - demand.power_floor;
  double others = 0;
  for (auto d : kStretchOrder) others += demand.of(d, every[idx(d)]);
  const double factor = rest > 0 ? others / rest : 4.0;
  for (auto d : kStretchOrder) every[idx(d)] *= std::min(factor, 4.0);
  return true;
}

// The lower median (with two samples, the smaller); `none` when there is no sample.
template <typename Seq>
seconds median(Seq v, seconds none) {
  if (v.empty()) return none;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

void keep_last(std::deque<seconds>& v, seconds x, std::size_t n = kLearnedSamples) {
  v.push_back(x);
  while (v.size() > n) v.pop_front();
}

std::string human(seconds s) {
  const auto n = s.count();
  if (n % 3600 == 0 && n >= 3600) return std::to_string(n / 3600) + " h";
  if (n >= 5400) return std::to_string((n + 1800) / 3600) + " h";
  if (n % 60 == 0 && n >= 60) return std::to_string(n / 60) + " min";
  if (n >= 120) return std::to_string((n + 30) / 60) + " min";
  return std::to_string(n) + " s";
}

}  // namespace

PolicyOptions default_policy_options() {
  PolicyOptions o;
  o.wanted[idx(Dataset::system)] = hours{6};
  o.wanted[idx(Dataset::objects)] = hours{6};
  o.wanted[idx(Dataset::layout)] = hours{6};
  o.wanted[idx(Dataset::sources)] = minutes{2};
  o.wanted[idx(Dataset::summary)] = minutes{5};
  o.wanted[idx(Dataset::panels)] = minutes{1};
  o.wanted[idx(Dataset::panel_details)] = minutes{15};
  o.wanted[idx(Dataset::combined)] = minutes{15};
  o.wanted[idx(Dataset::alerts)] = minutes{10};
  return o;
}

Policy::Policy(PolicyOptions options) : options_(options) {
  for (auto& w : options_.wanted) w = std::max(w, seconds{1});
}

void Policy::add_system(std::int64_t id, std::optional<double> latitude,
                        std::optional<double> longitude) {
  auto [it, inserted] = systems_.try_emplace(id);
  it->second.id = id;
  it->second.latitude = latitude;
  it->second.longitude = longitude;
  if (inserted) {
    it->second.added = last_now_;
    planned_at_.reset();  // re-plan with the new fleet at the next call
  }
}

void Policy::remove_system(std::int64_t id) {
  if (systems_.erase(id)) planned_at_.reset();
}

bool Policy::active_at(const SystemPlan& s, Timestamp t) const {
  if (!s.latitude || !s.longitude) return true;
  return sun::sun_position(*s.latitude, *s.longitude, t).elevation_deg >= kNightElevationDeg;
}

seconds Policy::cadence(const SystemPlan& s) const {
  // Until a few batches were seen, a spacing may hide a missed upload: not longer than the default.
  if (s.spacings.size() < 3) {
    if (s.spacings.empty()) return minutes{10};
    return std::clamp(*std::min_element(s.spacings.begin(), s.spacings.end()), seconds{minutes{5}},
                      seconds{minutes{10}});
  }
  // A missed upload (or a fetch that came late) shows two batches as one, doubling a spacing:
  // only spacings under 1.6 times the lower quartile are single uploads.
  std::vector<seconds> v(s.spacings.begin(), s.spacings.end());
  std::sort(v.begin(), v.end());
  const auto quartile = v[(v.size() - 1) / 4];
  std::erase_if(v, [&](seconds x) { return x * 10 >= quartile * 16; });
  return std::clamp(median(v, minutes{10}), seconds{minutes{5}}, seconds{minutes{30}});
}

seconds Policy::lag(const SystemPlan& s) const {
  return std::max(seconds{0}, median(s.lags, minutes{10}));
}

bool Policy::exploring(const SystemPlan& s) const {
  return s.first_try_hits >= kExploreAfter && s.probes == 0 && !first_batch_of_day(s);
}

int Policy::close_probes(const SystemPlan& s) const {
  // Until a few consecutive batches fitted the slots, the expected arrival is rougher: one more.
  return options_.close_probes + (std::min(s.run, s.spacings.size()) < 3 ? 1 : 0);
}

bool Policy::first_batch_of_day(const SystemPlan& s) const {
  return s.lit_since && (!s.newest_pin || *s.newest_pin < *s.lit_since);
}

Timestamp Policy::next_batch_end(const SystemPlan& s) const {
  const auto c = cadence(s);
  const std::size_t n = std::min(s.run, s.spacings.size());
  if (n < 2) return *s.newest_pin + c;
  // Walk back from the newest minute: slot index (a doubled spacing: a missed upload) and time.
  std::vector<std::pair<double, double>> points{{0.0, 0.0}};
  double k = 0, t = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto gap = s.spacings[s.spacings.size() - 1 - i];
    k -= std::max(1.0,
                  std::round(static_cast<double>(gap.count()) / static_cast<double>(c.count())));
    t -= static_cast<double>(gap.count());
    points.emplace_back(k, t);
  }
  // Least squares t = a + b k; the next slot is k = 1.
  double mk = 0, mt = 0;
  for (const auto& [pk, pt] : points) {
    mk += pk;
    mt += pt;
  }
  mk /= static_cast<double>(points.size());
  mt /= static_cast<double>(points.size());
  double skk = 0, skt = 0;
  for (const auto& [pk, pt] : points) {
    skk += (pk - mk) * (pk - mk);
    skt += (pk - mk) * (pt - mt);
  }
  const double b = std::clamp(skk > 0 ? skt / skk : static_cast<double>(c.count()), 300.0, 1800.0);
  const double next = mt + b * (1.0 - mk);
  return *s.newest_pin + seconds{std::llround(std::max(next, 60.0))};
}

int Policy::calls(const SystemPlan& s, Dataset d) const {
  switch (d) {
    case Dataset::panel_details:
      return std::max(1, s.detail_calls);
    case Dataset::combined:
      return 2;
    case Dataset::system:
      return options_.account_calls;
    default:
      return 1;
  }
}

seconds Policy::interval(const SystemPlan& s, Dataset d) const {
  const auto planned = plan_.interval[idx(d)];
  if (!s.active && (d == Dataset::summary || d == Dataset::sources)) {
    // At night a summary or a gateway changes little: their bound is enough.
    if (auto b = bound_of(d)) return std::max(planned, *b);
  }
  return std::max(planned, options_.wanted[idx(d)]);
}

std::optional<seconds> Policy::system_interval(std::int64_t id, Dataset d) const {
  const auto it = systems_.find(id);
  if (it == systems_.end() || d == Dataset::panels || d == Dataset::system) return std::nullopt;
  const auto held = interval(it->second, d);
  if (held == plan_.interval[idx(d)]) return std::nullopt;
  return held;
}

void Policy::update_daylight(SystemPlan& s, Timestamp now) const {
  const bool was_active = s.active;
  s.active = active_at(s, now);
  // Before sunrise no panel reports power: waiting for the first batch of the day from then.
  s.before_sunrise = false;
  if (s.latitude && s.longitude) {
    const auto e = sun::sun_position(*s.latitude, *s.longitude, now).elevation_deg;
    const auto later =
        sun::sun_position(*s.latitude, *s.longitude, now + minutes{10}).elevation_deg;
    s.before_sunrise = e < 0 && later > e;
  }
  if (s.active && !was_active) {
    s.active_since = now;
    s.lit_since.reset();
    s.day_first_seen.reset();
    for (auto& t : s.tracks) t.settled_tonight = false;  // a new day
  }
  if (s.active && !s.before_sunrise && !s.lit_since && s.latitude && s.longitude &&
      sun::sun_position(*s.latitude, *s.longitude, now).elevation_deg > 0) {
    // Sunrise, to the minute (a system first seen at noon has been lit since the morning).
    auto rise = std::chrono::floor<minutes>(now);
    for (int i = 0;
         i < 24 * 60 &&
         sun::sun_position(*s.latitude, *s.longitude, rise - minutes{1}).elevation_deg > 0;
         ++i)
      rise -= minutes{1};
    s.lit_since = rise;
  }
  if (!s.active) s.dark_since.reset();
  if (s.active && s.lit_since && !s.dark_since && s.latitude && s.longitude &&
      sun::sun_position(*s.latitude, *s.longitude, now).elevation_deg < 0)
    s.dark_since = now;
}

void Policy::replan(Timestamp now) {
  planned_at_ = now;
  BudgetPlan p;
  p.systems = systems_.size();
  p.budget_per_minute = options_.budget_per_minute;
  Demand demand;
  demand.systems = static_cast<double>(systems_.size());
  double cadence_sum = 0;
  for (auto& [id, s] : systems_) {
    update_daylight(s, now);
    if (!s.active) {
      demand.night += 1;
      continue;
    }
    if (!s.panels_known) continue;
    ++p.active;
    const double c = static_cast<double>(cadence(s).count());
    cadence_sum += c;
    // At least one fetch per batch.
    demand.power_floor += std::min(
        60.0 / static_cast<double>(options_.wanted[idx(Dataset::panels)].count()), 60.0 / c);
    demand.detail_calls += s.detail_calls;
  }
  demand.active = static_cast<double>(p.active);
  if (p.active)
    p.power_cadence = seconds{static_cast<long long>(cadence_sum / static_cast<double>(p.active))};
  // What panel power really cost lately (probes for jitter, late and missed batches included),
  // with a tenth more for headroom. Probes are spent only while the budget has room (earliest
  // deadline first puts a dataset at its bound before them): what must fit is one fetch a batch.
  while (!power_calls_.empty() && power_calls_.front() <= now - minutes{10})
    power_calls_.pop_front();
  demand.power =
      1.1 * std::max(demand.power_floor, static_cast<double>(power_calls_.size()) / 10.0);
  demand.account = (options_.account_calls + std::floor(demand.systems / 50.0)) * 60.0 /
                   static_cast<double>(options_.wanted[idx(Dataset::system)].count());

  Intervals every{};
  for (auto d : kStretchOrder) every[idx(d)] = static_cast<double>(options_.wanted[idx(d)].count());
  p.beyond_budget = stretch_to_budget(demand, every, std::max(options_.budget_per_minute, 1.0));
  for (auto d : kStretchOrder)
    p.interval[idx(d)] = seconds{static_cast<long long>(std::ceil(every[idx(d)]))};
  p.interval[idx(Dataset::system)] = options_.wanted[idx(Dataset::system)];
  p.interval[idx(Dataset::panels)] = seconds{0};
  p.power_per_minute = demand.power;
  p.demand_per_minute = demand.total(every);
  plan_ = p;
}

std::optional<Policy::Candidate> Policy::power_candidate(const SystemPlan& s, Timestamp now) const {
  const auto& t = s.tracks[idx(Dataset::panels)];
  const auto spacing = options_.wanted[idx(Dataset::panels)];
  if (!t.last_attempt) return Candidate{s.added, s.added};
  const auto earliest = *t.last_attempt + spacing;
  if (!s.active) {
    if (t.settled_tonight) return std::nullopt;
    return Candidate{earliest, earliest + minutes{15}};
  }
  if (s.before_sunrise && t.last_success) return std::nullopt;
  if (!s.newest_pin || !s.newest_seen_at) {
    const auto due = std::max(earliest, s.next_probe.value_or(earliest));
    return Candidate{due, due + minutes{5}};
  }
  // A gateway silent for hours of daylight has stalled: ask now and then, not on every batch.
  // Daylight counts from sunrise: twilight holds no power to deliver.
  const auto quiet_since = std::max(*s.newest_seen_at, s.lit_since.value_or(s.active_since));
  if (now - quiet_since > options_.stalled_after) {
    const auto due = *t.last_attempt + options_.stalled_probe;
    return Candidate{due, due + minutes{30}};
  }
  // After sunset: once the batch with the day's last lit minute came, the day is done (the
  // night's one fetch settles what is left).
  if (s.dark_since && *s.newest_pin >= *s.dark_since - minutes{2}) return std::nullopt;
  auto due = next_batch_end(s) + lag(s) + options_.arrival_margin;
  // The day's first batch comes with the first upload after sunrise, anywhere in one cadence:
  // asked for halfway through it, then at its end (the whole fleet starts at once; probing
  // each system every few minutes would spend the morning's budget on empty answers).
  if (first_batch_of_day(s)) due = *s.lit_since + lag(s) + cadence(s) / 2;
  // Batch after batch seen on the first try says nothing of whether the delay is shorter than
  // believed: now and then ask a little before the expected arrival (a miss only moves the ask
  // back to the usual time).
  else if (exploring(s))
    due -= options_.arrival_margin + options_.probe_step / 2;
  due = std::max(due, earliest);
  if (s.next_probe) due = std::max(due, *s.next_probe);
  return Candidate{due, due + (s.probes <= close_probes(s) ? seconds{60} : minutes{5})};
}

std::optional<Policy::Candidate> Policy::candidate(const SystemPlan& s, Dataset d,
                                                   Timestamp now) const {
  const auto& t = s.tracks[idx(d)];
  if (t.in_flight || t.disabled) return std::nullopt;
  if (minute_data(d) && !s.panels_known) return std::nullopt;
  const auto every = d == Dataset::panels ? options_.max_probe : interval(s, d);
  if (t.failures > 0 && t.last_attempt) {
    const auto backoff =
        std::min<seconds>(every, options_.retry * (1LL << std::min(t.failures - 1, 10)));
    const auto due = *t.last_attempt + backoff;
    return Candidate{due, due + every};
  }
  if (d == Dataset::panels) return power_candidate(s, now);
  if (!t.last_attempt) {
    // The first round of a large fleet keeps the budget busy for many minutes: its deadlines are
    // spread over that time (a share per system), so panel power of the systems already known
    // keeps flowing instead of waiting behind the whole round. Details and strings (not needed
    // to serve, nor for readiness) are spread over three times as long, within their interval.
    const double round_minutes = static_cast<double>(systems_.size()) * kFirstRoundCalls /
                                 (kFirstRoundShare * std::max(options_.budget_per_minute, 1.0));
    const seconds round{std::llround(60.0 * round_minutes)};
    const auto slack = first_round_slack(d, s.active);
    if (slack == seconds{0}) return Candidate{s.added, s.added};
    if (d == Dataset::panel_details || d == Dataset::combined) {
      const auto bound = bound_of(d).value_or(every);
      const auto over = std::min({every, bound * 17 / 20, 3 * round});
      return Candidate{s.added, s.added + slack + spread(s.id, d, over)};
    }
    // What readiness waits for (objects, summary) is spread over its own shorter round, so the
    // exporter is ready before layout, gateways and alerts have been asked everywhere.
    const bool for_readiness = std::find(kReadinessDatasets.begin(), kReadinessDatasets.end(), d) !=
                               kReadinessDatasets.end();
    const double spread_over =
        static_cast<double>(round.count()) *
        (for_readiness ? static_cast<double>(kReadinessDatasets.size()) / kFirstRoundCalls : 1.0);
    const seconds share{std::llround(spread_over * system_share(s.id))};
    return Candidate{s.added, s.added + slack + share};
  }
  if (minute_data(d) && !s.active) {
    if (t.settled_tonight) return std::nullopt;
    const auto due = *t.last_attempt + options_.wanted[idx(d)];
    return Candidate{due, due + minutes{30}};
  }
  const auto base = t.last_success.value_or(*t.last_attempt);
  auto due = base + every;
  // A fixed share of the interval per system and dataset, to spread jobs that would otherwise
  // come due for the whole fleet at once.
  const auto bound = bound_of(d).value_or(every);
  if (minute_data(d) && s.latitude && s.longitude &&
      !(s.lit_since && t.last_success >= s.lit_since)) {
    // The morning: nothing new until the day's first batch; then spread over the interval from
    // sunrise (every system of a region wakes at once; their detail fetches must not crowd out
    // its panel power), within the bound.
    if (!s.lit_since || first_batch_of_day(s)) return std::nullopt;
    due = std::max(s.day_first_seen.value_or(*s.newest_seen_at),
                   *s.lit_since + spread(s.id, d, std::min(every, bound * 17 / 20)));
    return Candidate{due, *s.lit_since + bound - minutes{2}};
  }
  // The first round ran for every system at once; the second is spread over the interval.
  if (t.successes == 1) due = base + spread(s.id, d, every);
  // The deadline a little inside the bound: a job started at it still lands within.
  return Candidate{due, base + std::max(every, bound - minutes{2})};
}

void Policy::forget_old_calls(Timestamp now) {
  while (!calls_.empty() && calls_.front().first <= now - minutes{1}) {
    calls_sum_ -= calls_.front().second;
    calls_.pop_front();
  }
}

double Policy::calls_in_last_minute(Timestamp now) {
  forget_old_calls(now);
  return calls_sum_;
}

std::optional<Choice> Policy::next(Timestamp now) {
  last_now_ = std::max(last_now_, now);
  if (!planned_at_ || now - *planned_at_ >= minutes{1}) replan(now);
  if (in_flight_ >= options_.max_in_flight) return std::nullopt;
  forget_old_calls(now);

  std::optional<Choice> best;
  Timestamp best_deadline{};
  auto consider = [&](std::int64_t id, Dataset d, const Candidate& c, int cost) {
    if (c.due > now) return;
    if (!best || c.deadline < best_deadline) {
      best = Choice{id, d, cost};
      best_deadline = c.deadline;
    }
  };
  if (!account_.in_flight) {
    const auto due = account_due(now);
    consider(kAccountJob, Dataset::system, Candidate{due, due - hours{1}},
             options_.account_calls + static_cast<int>(systems_.size() / 50));
  }
  for (const auto& [id, s] : systems_) {
    for (auto d : kAllDatasets) {
      if (d == Dataset::system) continue;
      if (auto c = candidate(s, d, now)) consider(id, d, *c, calls(s, d));
    }
  }
  if (!best) return std::nullopt;
  // Budget-exact: never more than the budget in any 60 s, counted when a job starts.
  if (calls_sum_ > 0 && calls_sum_ + best->calls > options_.budget_per_minute) return std::nullopt;
  calls_.emplace_back(now, best->calls);
  if (best->dataset == Dataset::panels) power_calls_.push_back(now);
  calls_sum_ += best->calls;
  ++in_flight_;
  auto& track = best->system_id == kAccountJob
                    ? account_
                    : systems_.at(best->system_id).tracks[idx(best->dataset)];
  track.in_flight = true;
  track.last_attempt = now;
  return best;
}

std::optional<seconds> Policy::observe_clock(Timestamp wall, std::chrono::nanoseconds elapsed) {
  const auto last = clock_seen_;
  clock_seen_ = {wall, elapsed};
  if (!last) return std::nullopt;
  const auto expected = last->first + std::chrono::duration_cast<seconds>(elapsed - last->second);
  const auto step = wall - expected;
  if (step < kClockStepTolerance && step > -kClockStepTolerance) return std::nullopt;
  shift_times(step);
  return step;
}

void Policy::shift_times(seconds by) {
  // Every time the policy took from its clock, and the newest batch minute too: the API's clock
  // did not step, so from now on its times are read `by` apart from this clock's (data_offset_).
  const auto move = [by](std::optional<Timestamp>& t) {
    if (t) *t += by;
  };
  const auto move_track = [&](Track& t) {
    move(t.last_attempt);
    move(t.last_success);
  };
  move_track(account_);
  for (auto& [id, s] : systems_) {
    s.added += by;
    s.active_since += by;
    for (auto* t : {&s.newest_pin, &s.lit_since, &s.newest_seen_at, &s.last_empty_at, &s.dark_since,
                    &s.day_first_seen, &s.next_probe})
      move(*t);
    for (auto& t : s.tracks) move_track(t);
  }
  for (auto& [at, n] : calls_) at += by;
  for (auto& at : power_calls_) at += by;
  move(planned_at_);
  last_now_ += by;
  data_offset_ += by;
}

Timestamp Policy::account_due(Timestamp now) const {
  const auto every = options_.wanted[idx(Dataset::system)];
  if (!account_.last_attempt) return now;
  if (!account_.failures) return *account_.last_attempt + every;
  // Until the list first answers nothing can be served: a transient failure is retried sooner
  // (a refused login is held back by the client's own back-off, not by this).
  const auto retry = account_.last_success ? options_.retry : options_.retry / 5;
  return *account_.last_attempt +
         std::min<seconds>(every, retry * (1LL << std::min(account_.failures - 1, 10)));
}

Timestamp Policy::next_wake(Timestamp now) {
  if (!planned_at_ || now - *planned_at_ >= minutes{1}) replan(now);
  Timestamp wake = *planned_at_ + minutes{1};
  forget_old_calls(now);
  if (!calls_.empty() && calls_sum_ >= options_.budget_per_minute)
    wake = std::min(wake, calls_.front().first + minutes{1});
  if (!account_.in_flight) wake = std::min(wake, std::max(account_due(now), now));
  for (const auto& [id, s] : systems_)
    for (auto d : kAllDatasets) {
      if (d == Dataset::system) continue;
      if (auto c = candidate(s, d, now)) wake = std::min(wake, std::max(c->due, now));
    }
  return std::max(wake, now);
}

void Policy::finished(const Choice& job, Timestamp now, const Outcome& outcome) {
  last_now_ = std::max(last_now_, now);
  --in_flight_;
  Track* track = &account_;
  SystemPlan* s = nullptr;
  if (job.system_id != kAccountJob) {
    auto it = systems_.find(job.system_id);
    if (it == systems_.end()) return;
    s = &it->second;
    track = &s->tracks[idx(job.dataset)];
  }
  track->in_flight = false;
  if (!outcome.ok) {
    ++track->failures;
    if (outcome.payment_required) track->disabled = true;
    return;
  }
  track->failures = 0;
  track->last_success = now;
  ++track->successes;
  if (!s) return;
  if (!s->active && minute_data(job.dataset)) track->settled_tonight = true;
  switch (job.dataset) {
    case Dataset::objects:
      if (s->panels_known != outcome.panels_known) planned_at_.reset();
      s->panels_known = outcome.panels_known;
      break;
    case Dataset::panel_details:
      if (outcome.detail_calls > 0) s->detail_calls = outcome.detail_calls;
      break;
    case Dataset::panels:
      if (outcome.newest_pin &&
          (!s->newest_pin || *outcome.newest_pin + data_offset_ > *s->newest_pin))
        learn_batch(*s, now, *outcome.newest_pin + data_offset_);
      else
        learn_miss(*s, now);
      break;
    default:
      break;
  }
}

void Policy::learn_batch(SystemPlan& s, Timestamp now, Timestamp newest_pin) {
  // Batch after batch (not the first of a day or after a silence), the spacing of their
  // minutes is the gateway's cadence, and the fetch saw the batch at most this long after
  // its last minute; a first-try hit may have been early enough to try earlier next time.
  const auto spacing = s.newest_pin ? newest_pin - *s.newest_pin : seconds{0};
  if (s.newest_pin && spacing >= kMinBatchSpacing && spacing <= kMaxBatchSpacing) {
    keep_last(s.spacings, spacing);
    s.run = std::min(s.run + 1, s.spacings.size());
    // The batch became visible after the last fetch that missed it and at most when this
    // one saw it: the middle of that bracket. Seen on the first try, only the upper end is
    // known: it counts when it shows the delay shorter than believed.
    // A wide bracket (a miss, then the next slot) says little: left out. An early ask that
    // saw the batch shows it can be asked for that early: the delay less the margin.
    const auto seen_after = now - newest_pin;
    if (s.last_empty_at && s.newest_seen_at && *s.last_empty_at > *s.newest_seen_at &&
        now - *s.last_empty_at <= 2 * options_.probe_step)
      keep_last(s.lags,
                std::clamp<seconds>(*s.last_empty_at + (now - *s.last_empty_at) / 2 - newest_pin,
                                    -kMaxLearnedLag, kMaxLearnedLag));
    else if (exploring(s))
      keep_last(s.lags, std::clamp<seconds>(seen_after - options_.arrival_margin, seconds{0},
                                            kMaxLearnedLag));
    else if (seen_after < lag(s))
      keep_last(s.lags, std::max(seen_after, -kMaxLearnedLag));
  } else {
    s.run = 0;  // a new run of batches (morning, after a silence)
  }
  if (first_batch_of_day(s)) {
    s.day_first_seen = now;
  } else if (s.newest_pin) {
    // Seen only after its next slot had passed too: a held-back batch; how late it was.
    const auto expected = next_batch_end(s) + lag(s);
    if (now > expected + cadence(s) + options_.arrival_margin + options_.probe_step &&
        now - expected < kMaxLateBy)
      keep_last(s.late_by, now - expected, kLateSamples);
  }
  s.first_try_hits = s.probes == 0 && !exploring(s) ? s.first_try_hits + 1 : 0;
  s.newest_pin = newest_pin;
  s.newest_seen_at = now;
  s.probes = 0;
  s.next_probe.reset();
}

void Policy::learn_miss(SystemPlan& s, Timestamp now) {
  if (exploring(s)) {
    // Too early: back to the usual time, as if not asked.
    s.first_try_hits = 0;
    s.last_empty_at = now;
    s.next_probe = now + options_.arrival_margin + options_.probe_step / 2;
    return;
  }
  s.first_try_hits = 0;
  ++s.probes;
  s.last_empty_at = now;
  s.next_probe = now + options_.max_probe;
  if (first_batch_of_day(s)) {
    if (s.probes == 1)
      s.next_probe = std::max(now + options_.probe_step,
                              *s.lit_since + lag(s) + cadence(s) + options_.arrival_margin);
  } else if (s.newest_pin) {
    // Nothing at the expected arrival: a little late (the close probes), or the upload was
    // missed and its minutes come with the next one (ask at the next slot), or the batch
    // is held back (ask when this gateway's late batches came before, else every few
    // minutes).
    const auto expected = next_batch_end(s) + lag(s);
    const auto next_slot = expected + cadence(s) + options_.arrival_margin;
    if (s.probes <= close_probes(s))
      s.next_probe = now + options_.probe_step;
    else if (now < next_slot)
      s.next_probe = next_slot;
    else if (const auto late = median(s.late_by, seconds{0});
             late > seconds{0} && expected + late - options_.probe_step > now + options_.probe_step)
      s.next_probe = std::min(expected + late - options_.probe_step, now + 3 * options_.max_probe);
  }
}

std::optional<LearnedSystem> Policy::learned(std::int64_t id) const {
  const auto it = systems_.find(id);
  if (it == systems_.end()) return std::nullopt;
  const auto& s = it->second;
  LearnedSystem l;
  l.panels_known = s.panels_known;
  if (s.newest_pin) l.newest_pin = *s.newest_pin - data_offset_;
  l.newest_seen_at = s.newest_seen_at;
  l.spacings.assign(s.spacings.begin(), s.spacings.end());
  l.lags.assign(s.lags.begin(), s.lags.end());
  l.run = s.run;
  l.late_by.assign(s.late_by.begin(), s.late_by.end());
  l.detail_calls = s.detail_calls;
  for (auto d : kAllDatasets) {
    const auto& t = s.tracks[idx(d)];
    l.tracks[idx(d)] = {t.last_success, t.successes, t.settled_tonight};
  }
  return l;
}

bool Policy::night_throughout(const SystemPlan& s, Timestamp from, Timestamp to) const {
  if (to < from || to - from > hours{16}) return false;
  for (auto t = from; t < to; t += minutes{20})
    if (active_at(s, t)) return false;
  return !active_at(s, to);
}

std::optional<std::string> check_learned(const LearnedSystem& l, Timestamp now) {
  // A state file may be written up to a minute after its own `now` (the slack of its own times).
  constexpr seconds kClockSlack = minutes{10};
  const auto outside = [](const std::vector<seconds>& v, seconds lo, seconds hi) {
    return std::any_of(v.begin(), v.end(), [&](seconds x) { return x < lo || x > hi; });
  };
  if (l.newest_pin.has_value() != l.newest_seen_at.has_value())
    return std::string("newest_pin and newest_seen_at: one without the other");
  if (l.newest_seen_at && *l.newest_seen_at > now + kClockSlack)
    return std::string("newest_seen_at: in the future");
  if (l.newest_pin && *l.newest_pin > now + kMaxLearnedLag)
    return std::string("newest_pin: more than a day in the future");
  if (l.spacings.size() > kLearnedSamples ||
      outside(l.spacings, kMinBatchSpacing, kMaxBatchSpacing))
    return std::string("spacings: out of range");
  if (l.lags.size() > kLearnedSamples || outside(l.lags, -kMaxLearnedLag, kMaxLearnedLag))
    return std::string("lags: out of range");
  if (l.late_by.size() > kLateSamples || outside(l.late_by, seconds{1}, kMaxLateBy))
    return std::string("late_by: out of range");
  if (l.run > l.spacings.size()) return std::string("run: longer than its spacings");
  if (l.detail_calls < 1 || l.detail_calls > 64) return std::string("detail_calls: out of range");
  for (const auto& t : l.tracks) {
    if (t.last_success && *t.last_success > now + kClockSlack)
      return std::string("last_success: in the future");
    if (t.successes < 0) return std::string("successes: negative");
  }
  return std::nullopt;
}

void Policy::restore(std::int64_t id, const LearnedSystem& l, Timestamp now) {
  const auto it = systems_.find(id);
  if (it == systems_.end()) return;
  // What the policy cannot have learned is not restored (the system starts cold): the state file
  // checks the same, this keeps the policy safe from any caller.
  if (check_learned(l, now)) return;
  last_now_ = std::max(last_now_, now);
  auto& s = it->second;
  s.added = now;
  // Daylight is counted from the restart: a gateway quiet since last evening is not stalled.
  s.active_since = now;
  s.panels_known = l.panels_known;
  s.newest_pin = l.newest_pin;
  if (s.newest_pin) *s.newest_pin += data_offset_;
  s.newest_seen_at = l.newest_seen_at;
  s.spacings.clear();
  s.lags.clear();
  for (auto x : l.spacings) keep_last(s.spacings, x);
  for (auto x : l.lags) keep_last(s.lags, x);
  s.run = std::min(l.run, s.spacings.size());
  s.late_by.clear();
  for (auto x : l.late_by) keep_last(s.late_by, x, kLateSamples);
  s.detail_calls = std::max(1, l.detail_calls);
  for (auto d : kAllDatasets) {
    if (d == Dataset::system) continue;
    const auto& from = l.tracks[idx(d)];
    auto& t = s.tracks[idx(d)];
    // A success counts as the last attempt too: the next one is due an interval after it.
    t.last_attempt = from.last_success;
    t.last_success = from.last_success;
    t.successes = from.last_success ? std::max(1, from.successes) : 0;
    t.settled_tonight =
        from.settled_tonight && from.last_success && night_throughout(s, *from.last_success, now);
  }
  planned_at_.reset();
}

std::string BudgetPlan::describe() const {
  std::ostringstream o;
  o << systems << " systems (" << active << " in daylight), " << budget_per_minute
    << " calls/min: panel power on each batch (~" << human(power_cadence) << ", ~"
    << std::lround(power_per_minute) << " calls/min)";
  const std::pair<Dataset, const char*> parts[] = {
      {Dataset::panel_details, "voltage/current/RSSI/temperature"},
      {Dataset::summary, "summary"},
      {Dataset::sources, "gateways"},
      {Dataset::combined, "strings and inverters"},
      {Dataset::alerts, "alerts"},
      {Dataset::objects, "hierarchy"}};
  for (const auto& [d, name] : parts) o << ", " << name << " every " << human(interval[idx(d)]);
  if (beyond_budget)
    o << "; BEYOND BUDGET: even at their bounds the datasets do not fit (a shard does not add "
         "budget, another Tigo account does)";
  return o.str();
}

}  // namespace refresh
