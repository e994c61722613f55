// What to fetch next, within the budget. A pure policy: it is told what happened and what time it
// is, and answers with the most valuable job the budget allows now (no clock, no I/O, no
// threads), so a whole simulated day of a 400-system fleet runs in seconds (bench/sim_day).
//
// Value order: the systems list; objects of systems that have none (panels need them); panel
// power on each gateway batch; then the other datasets at cadences planned to fit what is left
// of the budget, each within its stated bound (kBounds). Among due jobs the one nearest its
// deadline goes first (earliest deadline first), so a dataset about to pass its bound overtakes
// a panel probe, and nothing is planned for data that cannot exist: minute data at night (one
// fetch after dusk settles the day), a stalled gateway (probed hourly).
//
// Fetch on arrival: panel power (`Pin`) is fetched a little after the gateway's next batch is
// expected, learned from the minutes it delivered (cadence: median spacing of consecutive
// batches; delay: from a batch's last minute to when it became visible, bracketed by the fetch
// that missed it and the one that saw it). The margin covers one upload's jitter, so most batches
// are seen on the first try; a fetch that finds nothing new probes again soon (the jitter's other
// side), then every few minutes: a missed upload comes with the next, a late one half an hour on.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "refresh/snapshot.hpp"

namespace refresh {

// The stated upper bounds: a dataset's cadence stretches up to its bound before panel power gives
// way (README, "What the budget buys"). Panel power has no interval: it follows arrivals.
struct Bound {
  Dataset dataset;
  std::chrono::seconds bound;
};
inline constexpr std::array<Bound, 7> kBounds = {{
    {Dataset::summary, std::chrono::minutes{30}},
    {Dataset::sources, std::chrono::minutes{60}},
    {Dataset::panel_details, std::chrono::hours{2}},
    {Dataset::alerts, std::chrono::hours{2}},
    {Dataset::combined, std::chrono::hours{2}},
    {Dataset::objects, std::chrono::hours{24}},
    {Dataset::layout, std::chrono::hours{24}},
}};

// The order the cadences stretch in when the budget is short: first to give way first.
inline constexpr std::array<Dataset, 7> kStretchOrder = {
    Dataset::objects,       Dataset::layout,  Dataset::combined, Dataset::alerts,
    Dataset::panel_details, Dataset::sources, Dataset::summary};

// The sun this far below the horizon means nothing new will come from the panels tonight.
inline constexpr double kNightElevationDeg = -12.0;

struct PolicyOptions {
  double budget_per_minute = 90;  // calls in any 60 s window, all jobs together
  int max_in_flight = 4;
  // The wanted (shortest) interval per dataset, from the --refresh.* flags; panel power: the
  // shortest spacing of two fetches of one system. Dataset::system: the systems list.
  std::array<std::chrono::seconds, kDatasetCount> wanted{};
  std::chrono::seconds retry{10};  // after a failure, doubling up to the dataset's interval
  // Panel power: first ask this long after the expected arrival, then `close_probes` asks (one
  // more while the slots are unfitted) `probe_step` apart, then every `max_probe` until it comes.
  std::chrono::seconds arrival_margin{120};
  std::chrono::seconds probe_step{120};
  int close_probes = 1;
  std::chrono::seconds max_probe{420};
  std::chrono::seconds stalled_after{std::chrono::hours{2}};  // daylight without a new minute
  std::chrono::seconds stalled_probe{std::chrono::hours{1}};
  // Calls of one refresh (panel details: the detail params a system answers).
  int account_calls = 4;  // systems list (one page per 50), user, object and alert types
};

// The policy's defaults for the wanted intervals (config::RefreshSettings gives the flags').
PolicyOptions default_policy_options();

// What one finished job tells the policy.
struct Outcome {
  bool ok = false;
  bool payment_required = false;        // 402: the dataset is not asked for again
  bool panels_known = false;            // objects: the system has panels (minute data may flow)
  std::optional<Timestamp> newest_pin;  // panel power: the newest minute with a reading
  int detail_calls = 0;                 // panel details: calls a refresh costs (0: unchanged)
};

struct Choice {
  std::int64_t system_id = 0;  // kAccountJob for the systems list
  Dataset dataset = Dataset::system;
  int calls = 1;
};
inline constexpr std::int64_t kAccountJob = 0;

// The cadences the budget buys now, for the log, the landing page and tigo_refresh_interval.
struct BudgetPlan {
  std::size_t systems = 0, active = 0;  // active: in daylight (minute data flows)
  double budget_per_minute = 0;
  double power_per_minute = 0;  // expected panel power fetches, probes included
  double demand_per_minute = 0;
  std::array<std::chrono::seconds, kDatasetCount> interval{};  // 0: follows arrivals
  std::chrono::seconds power_cadence{600};                     // mean learned batch spacing
  bool beyond_budget = false;  // even at their bounds the datasets do not fit
  std::string describe() const;
};

// What the policy learned of one system, kept across restarts (refresh/state_file): whether it
// has panels, its gateway's arrivals, and when each dataset last succeeded (so a restart fetches
// nothing that is still fresh, the hierarchy above all).
struct LearnedSystem {
  struct DatasetTrack {
    std::optional<Timestamp> last_success;
    int successes = 0;
    bool settled_tonight = false;  // minute data: fetched once since dusk
  };
  bool panels_known = false;
  std::optional<Timestamp> newest_pin, newest_seen_at;
  std::vector<std::chrono::seconds> spacings, lags;  // oldest first, at most kLearnedSamples
  std::size_t run = 0;  // the last `run` spacings are consecutive batches up to newest_pin
  std::vector<std::chrono::seconds> late_by;  // held-back batches: how late, at most kLateSamples
  int detail_calls = 4;
  std::array<DatasetTrack, kDatasetCount> tracks{};  // Dataset::system unused
};
inline constexpr std::size_t kLearnedSamples = 7;
inline constexpr std::size_t kLateSamples = 3;
// What the policy can learn, and so what a restored LearnedSystem must hold to (a state file is
// outside input): batches follow each other by whole minutes, at most kMaxBatchSpacing apart (a
// longer silence starts a new run); a delay within a day either way of the clock; a held-back
// batch at most kMaxLateBy late.
inline constexpr std::chrono::seconds kMinBatchSpacing{60};
inline constexpr std::chrono::seconds kMaxBatchSpacing{std::chrono::minutes{45}};
inline constexpr std::chrono::seconds kMaxLearnedLag{std::chrono::hours{24}};
inline constexpr std::chrono::seconds kMaxLateBy{std::chrono::hours{2}};
// Wall time that drifts from elapsed time by more than this between two looks has stepped.
inline constexpr std::chrono::seconds kClockStepTolerance{30};
// Why `learned` breaks an invariant the policy relies on (nullopt: it holds), judged at `now`
// (nothing seen after it).
std::optional<std::string> check_learned(const LearnedSystem& learned, Timestamp now);
// After this many batches in a row seen on the first ask, one ask comes early (policy.cpp).
inline constexpr int kExploreAfter = 6;

class Policy {
 public:
  explicit Policy(PolicyOptions options);

  // A system of the account (re-adding updates its location; unknown location: always day).
  void add_system(std::int64_t id, std::optional<double> latitude, std::optional<double> longitude);
  void remove_system(std::int64_t id);
  bool has_system(std::int64_t id) const { return systems_.count(id) > 0; }
  void set_budget(double per_minute) { options_.budget_per_minute = per_minute; }

  // The most valuable job due at `now` that the budget and the in-flight limit allow; it is
  // counted as started.
  std::optional<Choice> next(Timestamp now);
  // When next() may have something: the earliest due job or budget release after `now`.
  Timestamp next_wake(Timestamp now);
  void finished(const Choice& job, Timestamp now, const Outcome& outcome);

  // Export and import of what was learned of a system (restore: after add_system; `now` is when
  // the restart happens: a night's settled minute data counts only within that same night).
  std::optional<LearnedSystem> learned(std::int64_t id) const;
  void restore(std::int64_t id, const LearnedSystem& learned, Timestamp now);

  const BudgetPlan& plan() const { return plan_; }
  // The interval held for one system's dataset where it differs from the plan's (at night
  // summaries and gateways are asked for at their bound): the staleness rule judges by it.
  std::optional<std::chrono::seconds> system_interval(std::int64_t id, Dataset d) const;
  // Re-plans the cadences (next() does it once a minute of `now`).
  void replan(Timestamp now);

  // The wall clock may step (NTP correcting it, an operator): told the wall time and a clock that
  // only ever moves forward with real time (`elapsed`: CLOCK_BOOTTIME in the refresher, so a
  // suspended VM is time that passed), a step beyond kClockStepTolerance moves every time the
  // policy took from the wall clock by the step. The rate window and every job's due time then
  // stand as they stood in real time. Returns the step, for the log.
  std::optional<std::chrono::seconds> observe_clock(Timestamp wall,
                                                    std::chrono::nanoseconds elapsed);

  // For the bench and tests.
  int in_flight() const { return in_flight_; }
  double calls_in_last_minute(Timestamp now);

 private:
  struct Track {
    std::optional<Timestamp> last_attempt, last_success;
    int failures = 0;
    int successes = 0;
    bool in_flight = false;
    bool disabled = false;
    bool settled_tonight = false;  // minute data: fetched once since dusk
  };
  struct SystemPlan {
    std::int64_t id = 0;
    std::optional<double> latitude, longitude;
    Timestamp added{};
    bool panels_known = false;
    bool active = true;  // in daylight (recomputed at each replan)
    Timestamp active_since{};
    bool before_sunrise = false;         // dawn twilight: minute data flows, panel power not yet
    std::optional<Timestamp> lit_since;  // sunrise today (the first minute with power)
    std::array<Track, kDatasetCount> tracks{};
    // Panel power arrivals: newest minute (on this clock: data_offset_), when it was seen, and the
    // last fetch that found nothing new (the lower end of the next batch's arrival). spacings:
    // between the newest minutes of consecutive batches, oldest first, the last `run` of them
    // unbroken up to newest_pin; lags: from a batch's newest minute to when it became visible.
    std::optional<Timestamp> newest_pin, newest_seen_at, last_empty_at;
    std::deque<std::chrono::seconds> spacings, lags;
    std::size_t run = 0;
    std::optional<Timestamp> dark_since;  // sunset today (the last minute with power has passed)
    std::optional<Timestamp> day_first_seen;   // when the day's first batch was seen
    std::deque<std::chrono::seconds> late_by;  // held-back batches: seen this long after expected
    std::optional<Timestamp> next_probe;
    int probes = 0;
    int first_try_hits = 0;  // consecutive batches seen on the first ask
    int detail_calls = 4;
  };
  struct Candidate {
    Timestamp due{}, deadline{};
  };

  std::optional<Candidate> candidate(const SystemPlan& s, Dataset d, Timestamp now) const;
  std::optional<Candidate> power_candidate(const SystemPlan& s, Timestamp now) const;
  int calls(const SystemPlan& s, Dataset d) const;
  std::chrono::seconds interval(const SystemPlan& s, Dataset d) const;
  std::chrono::seconds cadence(const SystemPlan& s) const;
  std::chrono::seconds lag(const SystemPlan& s) const;
  // The newest minute the gateway's next batch will hold: its upload slots fitted to the run of
  // batches seen (slot index against time), so one upload's jitter does not move the next.
  Timestamp next_batch_end(const SystemPlan& s) const;
  // Probes `probe_step` apart after a miss at the expected arrival.
  int close_probes(const SystemPlan& s) const;
  // The next ask comes early, to learn whether the delay is shorter than believed.
  bool exploring(const SystemPlan& s) const;
  // Sunrise has passed and no batch with its minutes has been seen yet.
  bool first_batch_of_day(const SystemPlan& s) const;
  bool active_at(const SystemPlan& s, Timestamp t) const;
  // Daylight, sunrise and sunset of `s` at `now` (a new day resets what was settled last night).
  void update_daylight(SystemPlan& s, Timestamp now) const;
  bool night_throughout(const SystemPlan& s, Timestamp from, Timestamp to) const;
  // Panel power: a fetch that brought a newer batch (its cadence, delay and lateness learned), or
  // one that found nothing new (when to ask again).
  void learn_batch(SystemPlan& s, Timestamp now, Timestamp newest_pin);
  void learn_miss(SystemPlan& s, Timestamp now);
  void forget_old_calls(Timestamp now);
  void shift_times(std::chrono::seconds by);
  // When the account job (login, user, types, the systems list) is next due.
  Timestamp account_due(Timestamp now) const;

  PolicyOptions options_;
  std::map<std::int64_t, SystemPlan> systems_;
  Track account_;
  std::deque<std::pair<Timestamp, int>> calls_;  // started in the last 60 s
  int calls_sum_ = 0;
  int in_flight_ = 0;
  BudgetPlan plan_;
  std::optional<Timestamp> planned_at_;
  Timestamp last_now_{};               // the latest time the policy was told
  std::deque<Timestamp> power_calls_;  // panel power fetches of the last 10 minutes
  // The last observe_clock: wall time against elapsed time.
  std::optional<std::pair<Timestamp, std::chrono::nanoseconds>> clock_seen_;
  // The API's times (a batch's newest minute) are held on this clock: data time plus the steps
  // the wall clock took since start.
  std::chrono::seconds data_offset_{0};
};

}  // namespace refresh
