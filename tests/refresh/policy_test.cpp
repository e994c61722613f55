// The scheduling policy with a fake clock: what it picks, when, and what the budget buys.
#include "refresh/policy.hpp"

#include <date/date.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <limits>
#include <set>
#include <vector>

#include "util/time.hpp"

using namespace std::chrono;
using refresh::Choice;
using refresh::Dataset;
using refresh::Outcome;
using refresh::Timestamp;

namespace {

// Los Angeles on midsummer day: 12:00 PDT is 19:00 UTC; 02:00 PDT is 09:00 UTC.
constexpr double kLat = 34.05, kLon = -118.24;
const Timestamp kNoon = *util::parse_iso8601("2026-06-21T19:00:00Z");
const Timestamp kNight = *util::parse_iso8601("2026-06-21T09:00:00Z");

Outcome ok() {
  Outcome o;
  o.ok = true;
  return o;
}

// Runs every job due at `now`, answering each with `answer`; returns what ran.
std::vector<Choice> drain(refresh::Policy& p, Timestamp now,
                          const std::function<Outcome(const Choice&)>& answer) {
  std::vector<Choice> ran;
  while (auto job = p.next(now)) {
    ran.push_back(*job);
    p.finished(*job, now, answer(*job));
  }
  return ran;
}

// An answer that knows panels and serves `newest` as the newest panel power minute.
std::function<Outcome(const Choice&)> serving(const std::optional<Timestamp>& newest) {
  return [&newest](const Choice& c) {
    auto o = ok();
    if (c.dataset == Dataset::objects) o.panels_known = true;
    if (c.dataset == Dataset::panels) o.newest_pin = newest;
    if (c.dataset == Dataset::panel_details) o.detail_calls = 4;
    return o;
  };
}

bool has(const std::vector<Choice>& v, std::int64_t id, Dataset d) {
  return std::any_of(v.begin(), v.end(),
                     [&](const Choice& c) { return c.system_id == id && c.dataset == d; });
}

refresh::Policy one_system(Timestamp start, std::optional<Timestamp>& newest) {
  refresh::Policy p(refresh::default_policy_options());
  drain(p, start, serving(newest));  // the systems list
  p.add_system(1, kLat, kLon);
  return p;
}

}  // namespace

TEST_CASE("cold start: the list, then objects, then panel power, before everything else",
          "[policy]") {
  refresh::Policy p(refresh::default_policy_options());
  auto first = p.next(kNoon);
  REQUIRE(first);
  CHECK(first->system_id == refresh::kAccountJob);
  CHECK_FALSE(p.next(kNoon).has_value());  // nothing else is known yet
  p.finished(*first, kNoon, ok());
  p.add_system(7, kLat, kLon);
  std::optional<Timestamp> newest = kNoon - minutes{12};
  std::vector<Choice> order;
  for (int i = 0; i < 3; ++i) {
    auto job = p.next(kNoon);
    REQUIRE(job);
    order.push_back(*job);
    p.finished(*job, kNoon, serving(newest)(*job));
  }
  CHECK(order[0].dataset == Dataset::objects);
  CHECK(order[1].dataset == Dataset::panels);
  CHECK(order[2].dataset == Dataset::summary);
  // The rest of the first round follows at once in a fleet this small.
  auto rest = drain(p, kNoon, serving(newest));
  for (auto d : {Dataset::layout, Dataset::sources, Dataset::alerts, Dataset::panel_details,
                 Dataset::combined})
    CHECK(has(rest, 7, d));
}

TEST_CASE("a large fleet's first round is spread so panel power keeps flowing", "[policy]") {
  auto options = refresh::default_policy_options();
  refresh::Policy p(options);
  std::optional<Timestamp> newest = kNoon - minutes{11};
  drain(p, kNoon, serving(newest));
  for (int id = 1; id <= 400; ++id) p.add_system(id, kLat, kLon);
  // Batches every 10 minutes; count the minutes in which panel power was fetched at all.
  int power_minutes_after_start = 0;
  std::set<std::int64_t> summarised;
  std::optional<Timestamp> all_summarised;
  for (auto t = kNoon; t < kNoon + minutes{50}; t += seconds{5}) {
    newest = kNoon - minutes{11} + minutes{10} * ((t - kNoon) / minutes{10});
    bool power = false;
    for (const auto& job : drain(p, t, serving(newest))) {
      power = power || job.dataset == Dataset::panels;
      if (job.dataset == Dataset::summary) summarised.insert(job.system_id);
    }
    if (!all_summarised && summarised.size() == 400) all_summarised = t;
    if (power && t >= kNoon + minutes{10} && (t - kNoon) % minutes{1} < seconds{5})
      ++power_minutes_after_start;
  }
  // Objects and the first panel power of 400 systems take about 8 minutes of budget; after them
  // panel power flows in most minutes while the rest of the first round is worked off.
  CHECK(power_minutes_after_start >= 15);
  // What readiness waits for (objects, summary) has a round of its own, shorter than the whole
  // first round's (about 34 minutes here).
  REQUIRE(all_summarised);
  CHECK(*all_summarised - kNoon <= minutes{25});
}

TEST_CASE("a restart mid first round: the rest of it within 20 minutes beside the due work",
          "[policy]") {
  refresh::Policy p(refresh::default_policy_options());
  std::optional<Timestamp> newest = kNoon - minutes{11};
  drain(p, kNoon, serving(newest));
  // 400 systems restored; the previous run stopped before the first round of the last 100 was
  // asked for (objects aside). The others' datasets come due over the next half hour.
  refresh::LearnedSystem done;
  done.panels_known = true;
  for (auto d : refresh::kAllDatasets) {
    done.tracks[static_cast<std::size_t>(d)].last_success = kNoon - minutes{25};
    done.tracks[static_cast<std::size_t>(d)].successes = 3;
  }
  auto unfinished = done;
  const std::set<Dataset> round = {Dataset::summary, Dataset::layout, Dataset::sources,
                                   Dataset::alerts};
  for (auto d : round) unfinished.tracks[static_cast<std::size_t>(d)] = {};
  for (int id = 1; id <= 400; ++id) p.add_system(id, kLat, kLon);
  for (int id = 1; id <= 400; ++id) p.restore(id, id > 300 ? unfinished : done, kNoon);
  std::set<std::pair<std::int64_t, Dataset>> asked;
  auto t = kNoon;
  for (; t < kNoon + minutes{40} && asked.size() < 400; t += seconds{5}) {
    newest = kNoon - minutes{11} + minutes{10} * ((t - kNoon) / minutes{10});
    for (const auto& job : drain(p, t, serving(newest)))
      if (job.system_id > 300 && round.count(job.dataset))
        asked.emplace(job.system_id, job.dataset);
  }
  // 400 calls beside 300 summaries due at their bound and panel power on every batch: about 16
  // minutes of budget.
  CHECK(asked.size() == 400);
  CHECK(t - kNoon <= minutes{20});
}

TEST_CASE("panel power is fetched just after the next batch is expected, not before", "[policy]") {
  std::optional<Timestamp> newest = kNoon - minutes{11};
  auto p = one_system(kNoon, newest);
  drain(p, kNoon, serving(newest));
  // Batches every 10 minutes, each visible 11 minutes after its last minute.
  Timestamp t = kNoon;
  for (int batch = 1; batch <= 6; ++batch) {
    newest = *newest + minutes{10};
    const auto visible = *newest + minutes{11};
    // Walk the clock a minute at a time; the fetch that sees the batch must come soon after.
    std::optional<Timestamp> seen;
    for (; t < visible + minutes{20}; t += minutes{1}) {
      auto served = t >= visible ? newest : std::optional<Timestamp>{*newest - minutes{10}};
      for (const auto& job : drain(p, t, serving(served)))
        if (job.dataset == Dataset::panels && t >= visible && !seen) seen = t;
      if (seen) break;
    }
    REQUIRE(seen);
    if (batch >= 4) CHECK(*seen - visible <= minutes{2});  // learned by then
  }
  // Between batches nothing is asked for panel power: the next one is not due yet.
  auto quiet = drain(p, t + minutes{1}, serving(newest));
  CHECK_FALSE(has(quiet, 1, Dataset::panels));
}

TEST_CASE("nothing new at the expected arrival: close probes, the next slot, then every 7 min",
          "[policy]") {
  std::optional<Timestamp> newest = kNoon - minutes{11};
  auto p = one_system(kNoon, newest);
  drain(p, kNoon, serving(newest));
  // The gateway is late (a held-back batch): nothing new for an hour.
  std::vector<Timestamp> asked;
  for (auto t = kNoon; t < kNoon + minutes{60}; t += seconds{10})
    for (const auto& job : drain(p, t, serving(newest)))
      if (job.dataset == Dataset::panels) asked.push_back(t);
  REQUIRE(asked.size() >= 6);
  std::vector<minutes> gaps;
  for (std::size_t i = 1; i < asked.size(); ++i)
    gaps.push_back(duration_cast<minutes>(asked[i] - asked[i - 1]));
  // Nothing learned yet: cadence and delay 10 min each, so the batch after the one ending at
  // 11:49 is expected at 12:09; asked 2 min after (the margin for one upload's jitter).
  CHECK(asked[0] - kNoon == minutes{11});
  // Arrivals not yet learned from a run of batches: two close probes rather than one.
  CHECK(gaps[0] == minutes{2});
  CHECK(gaps[1] == minutes{2});
  CHECK(gaps[2] == minutes{6});  // the next slot: 12:09 + 10 + 2
  for (std::size_t i = 3; i < gaps.size(); ++i) CHECK(gaps[i] == minutes{7});
}

namespace {

// A gateway uploading every `cadence` at `phase` with a jitter of up to 2 min (deterministic),
// each batch visible `delay` after its upload; `missed` uploads come with the next one.
struct Gateway {
  seconds cadence{minutes{12}};
  seconds delay{minutes{10}};
  std::vector<int> missed;
  Timestamp epoch = kNoon - hours{3};
  seconds jitter(int k) const { return seconds{((k * 7919) % 241) - 120}; }
  Timestamp upload(int k) const { return epoch + cadence * k + jitter(k); }
  bool is_missed(int k) const { return std::find(missed.begin(), missed.end(), k) != missed.end(); }
  // The newest minute visible at t: the minute before the newest landed upload.
  std::optional<Timestamp> newest(Timestamp t) const {
    std::optional<Timestamp> n;
    for (int k = 0; upload(k) <= t; ++k)
      if (!is_missed(k) && upload(k) + delay <= t) n = date::floor<minutes>(upload(k)) - minutes{1};
    return n;
  }
  // When the batch holding minute m became visible.
  Timestamp visible(Timestamp m) const {
    int k = 0;
    while (date::floor<minutes>(upload(k)) - minutes{1} < m || is_missed(k)) ++k;
    return upload(k) + delay;
  }
};

// Runs the policy against `g` from `from` for `span`, second by second; returns for each batch
// seen how long after it became visible, and counts the panel power fetches.
std::vector<seconds> run_gateway(refresh::Policy& p, const Gateway& g, Timestamp from, seconds span,
                                 int& fetches) {
  std::vector<seconds> lags;
  std::optional<Timestamp> known;
  fetches = 0;
  for (auto t = from; t < from + span; t += seconds{5}) {
    std::optional<Timestamp> served = g.newest(t);
    for (const auto& job : drain(p, t, serving(served))) {
      if (job.dataset != Dataset::panels) continue;
      ++fetches;
      if (served && (!known || *served > *known)) {
        lags.push_back(duration_cast<seconds>(t - g.visible(*served)));
        known = served;
      }
    }
  }
  return lags;
}

}  // namespace

TEST_CASE("jittered uploads: the fitted slots keep each fetch within minutes of the arrival",
          "[policy]") {
  Gateway g;
  std::optional<Timestamp> newest = g.newest(kNoon);
  auto p = one_system(kNoon, newest);
  int fetches = 0;
  const auto lags = run_gateway(p, g, kNoon, hours{4}, fetches);
  REQUIRE(lags.size() >= 18);
  // Once a few batches are learned: every batch within 4 minutes, about one fetch each.
  for (std::size_t i = 6; i < lags.size(); ++i) CHECK(lags[i] <= minutes{4});
  CHECK(fetches <= static_cast<int>(lags.size()) * 13 / 10 + 4);
}

TEST_CASE("a missed upload: asked again at the next slot, not every few minutes", "[policy]") {
  Gateway g;
  g.missed = {24, 30};  // 2 h and 2.5 h after noon's batches
  std::optional<Timestamp> newest = g.newest(kNoon);
  auto p = one_system(kNoon, newest);
  int fetches = 0;
  const auto lags = run_gateway(p, g, kNoon, hours{4}, fetches);
  REQUIRE(lags.size() >= 16);
  for (std::size_t i = 6; i < lags.size(); ++i) CHECK(lags[i] <= minutes{4});
  // Each missed upload costs the first ask and one close probe, no more.
  CHECK(fetches <= static_cast<int>(lags.size()) * 13 / 10 + 4 + 2 * 2);
}

TEST_CASE("a delay shorter than the default is learned: now and then an early ask", "[policy]") {
  // Every batch seen on the first ask says only that the delay is at most what was believed;
  // without asking earlier now and then, a 3-minute delay would be served 9 minutes late forever.
  Gateway g;
  g.cadence = minutes{10};
  g.delay = minutes{3};
  std::optional<Timestamp> newest = g.newest(kNoon);
  auto p = one_system(kNoon, newest);
  int fetches = 0;
  const auto lags = run_gateway(p, g, kNoon, hours{8}, fetches);
  REQUIRE(lags.size() >= 40);
  INFO("first lag " << lags.front().count() << " s, last " << lags.back().count() << " s");
  // The last two hours' batches: each within 5 minutes of its arrival, half within 4 (learning
  // only from first asks, half are 5 to 6 minutes behind).
  std::vector<seconds> late(lags.end() - 12, lags.end());
  for (const auto l : late) CHECK(l <= minutes{5});
  std::nth_element(late.begin(), late.begin() + 6, late.end());
  CHECK(late[6] <= minutes{4});
  CHECK(fetches <= static_cast<int>(lags.size()) * 13 / 10 + 6);
}

TEST_CASE("morning: details and strings wait for the day's first batch, then spread out",
          "[policy]") {
  // 04:00 PDT, before dawn; the sun rises at about 05:42 PDT (12:42 UTC) in Los Angeles.
  const auto before_dawn = *util::parse_iso8601("2026-06-21T11:00:00Z");
  const auto sunrise = *util::parse_iso8601("2026-06-21T12:43:00Z");
  std::optional<Timestamp> newest = before_dawn - hours{8};  // last evening
  auto p = one_system(before_dawn, newest);
  std::vector<std::pair<Timestamp, Choice>> ran;
  for (auto t = before_dawn; t < before_dawn + hours{5}; t += seconds{30}) {
    // The day's first batch with power is visible 25 min after sunrise.
    if (t >= sunrise + minutes{25} && *newest < sunrise) newest = sunrise + minutes{9};
    for (const auto& job : drain(p, t, serving(newest))) ran.emplace_back(t, job);
  }
  const auto first_seen = std::find_if(ran.begin(), ran.end(), [&](const auto& r) {
    return r.second.dataset == Dataset::panels && r.first >= sunrise + minutes{25};
  });
  REQUIRE(first_seen != ran.end());
  // The night's one settling fetch aside, no detail or string fetch from dawn until that batch.
  const auto dawn = before_dawn + minutes{30};
  for (const auto& [t, job] : ran)
    if (job.dataset == Dataset::panel_details || job.dataset == Dataset::combined) {
      CHECK_FALSE((t > dawn && t < first_seen->first));
    }
  // And after it, both come within the bound of sunrise.
  auto after = [&](Dataset d) {
    return std::any_of(ran.begin(), ran.end(), [&](const auto& r) {
      return r.second.dataset == d && r.first >= first_seen->first && r.first <= sunrise + hours{2};
    });
  };
  CHECK(after(Dataset::panel_details));
  CHECK(after(Dataset::combined));
}

TEST_CASE("at night minute data is fetched once to settle the day, then not until morning",
          "[policy]") {
  std::optional<Timestamp> newest = kNight - hours{5};
  auto p = one_system(kNight, newest);
  auto first = drain(p, kNight, serving(newest));
  CHECK(has(first, 1, Dataset::panels));
  CHECK(has(first, 1, Dataset::panel_details));
  std::vector<Choice> later;
  for (auto t = kNight + minutes{1}; t < kNight + hours{2}; t += minutes{1}) {
    auto ran = drain(p, t, serving(newest));
    later.insert(later.end(), ran.begin(), ran.end());
  }
  CHECK_FALSE(has(later, 1, Dataset::panels));
  CHECK_FALSE(has(later, 1, Dataset::panel_details));
  CHECK_FALSE(has(later, 1, Dataset::combined));
  // The summary at night: at its bound (30 min), not the wanted 5 min.
  const auto summaries = std::count_if(
      later.begin(), later.end(), [](const Choice& c) { return c.dataset == Dataset::summary; });
  CHECK(summaries >= 3);
  CHECK(summaries <= 4);
  // Morning (06:00 PDT = 13:00 UTC, the sun above -12 degrees): panel power is asked again.
  auto morning = drain(p, *util::parse_iso8601("2026-06-21T13:00:00Z"), serving(newest));
  CHECK(has(morning, 1, Dataset::panels));
}

TEST_CASE("402 Payment Required: the dataset is not asked for again, others go on", "[policy]") {
  std::optional<Timestamp> newest = kNoon - minutes{11};
  auto p = one_system(kNoon, newest);
  auto answer = [&](const Choice& c) {
    auto o = serving(newest)(c);
    if (c.dataset == Dataset::panels || c.dataset == Dataset::panel_details) {
      o.ok = false;
      o.payment_required = true;
    }
    return o;
  };
  drain(p, kNoon, answer);
  std::vector<Choice> later;
  for (auto t = kNoon + minutes{1}; t < kNoon + hours{1}; t += minutes{1}) {
    auto ran = drain(p, t, answer);
    later.insert(later.end(), ran.begin(), ran.end());
  }
  CHECK_FALSE(has(later, 1, Dataset::panels));
  // Details come later in the first round (spread); refused once, never asked again.
  CHECK(std::count_if(later.begin(), later.end(),
                      [](const Choice& c) { return c.dataset == Dataset::panel_details; }) <= 1);
  CHECK(has(later, 1, Dataset::summary));
}

TEST_CASE("a failure is retried after 10 s, doubling, never later than the interval", "[policy]") {
  std::optional<Timestamp> newest = kNoon - minutes{11};
  auto p = one_system(kNoon, newest);
  auto failing_summary = [&](const Choice& c) {
    auto o = serving(newest)(c);
    if (c.dataset == Dataset::summary) o.ok = false;
    return o;
  };
  std::vector<Timestamp> asked;
  for (auto t = kNoon; t < kNoon + minutes{20}; t += seconds{1})
    for (const auto& job : drain(p, t, failing_summary))
      if (job.dataset == Dataset::summary) asked.push_back(t);
  REQUIRE(asked.size() >= 6);
  CHECK(asked[1] - asked[0] == seconds{10});
  CHECK(asked[2] - asked[1] == seconds{20});
  CHECK(asked[3] - asked[2] == seconds{40});
  CHECK(asked.back() - asked[asked.size() - 2] == minutes{5});  // the summary's interval
}

TEST_CASE(
    "the systems list is retried after 2 s, doubling, until it first answers, then after 10 s",
    "[policy]") {
  auto options = refresh::default_policy_options();
  options.wanted[static_cast<std::size_t>(Dataset::system)] = minutes{5};
  refresh::Policy p(options);
  std::vector<Timestamp> asked;
  const auto fails_again = kNoon + minutes{20};
  for (auto t = kNoon; t < kNoon + minutes{30}; t += seconds{1})
    while (auto job = p.next(t)) {
      auto o = ok();
      if (job->system_id == refresh::kAccountJob) {
        asked.push_back(t);
        // The first four asks fail, the fifth answers, and from 20 minutes on it fails again.
        o.ok = asked.size() == 5 || (asked.size() > 5 && t < fails_again);
      }
      p.finished(*job, t, o);
    }
  // Nothing can be served before the list answers: 2, 4, 8 and 16 s apart.
  REQUIRE(asked.size() >= 7);
  CHECK(asked[1] - asked[0] == seconds{2});
  CHECK(asked[2] - asked[1] == seconds{4});
  CHECK(asked[3] - asked[2] == seconds{8});
  CHECK(asked[4] - asked[3] == seconds{16});
  // Once it has answered, a failure waits the usual 10 s.
  const auto first_failure =
      std::find_if(asked.begin(), asked.end(), [&](Timestamp t) { return t >= fails_again; });
  REQUIRE(asked.end() - first_failure >= 2);
  CHECK(*(first_failure + 1) - *first_failure == seconds{10});
}

TEST_CASE("a gateway silent for hours of daylight is probed hourly, not on every batch",
          "[policy]") {
  std::optional<Timestamp> newest = kNoon - hours{30};                // stopped yesterday
  const auto morning = *util::parse_iso8601("2026-06-21T14:00:00Z");  // 07:00 PDT
  auto p = one_system(morning, newest);
  std::vector<Timestamp> asked;
  for (auto t = morning; t < morning + hours{6}; t += minutes{1})
    for (const auto& job : drain(p, t, serving(newest)))
      if (job.dataset == Dataset::panels) asked.push_back(t);
  // Probes while it might still come (about two hours), then one an hour.
  const auto late = std::count_if(asked.begin(), asked.end(),
                                  [&](Timestamp t) { return t > morning + hours{3}; });
  CHECK(late >= 2);
  CHECK(late <= 4);
  CHECK(asked.size() <= 24);  // every 7 min for the first two hours, then hourly
}

TEST_CASE(
    "a fleet that outgrows the budget: cadences stretch to their bounds in order, and no "
    "minute is over budget",
    "[policy]") {
  auto options = refresh::default_policy_options();
  options.budget_per_minute = 90;
  refresh::Policy p(options);
  std::optional<Timestamp> newest = kNoon - minutes{11};
  drain(p, kNoon, serving(newest));
  SECTION("ten systems keep the wanted intervals") {
    for (int id = 1; id <= 10; ++id) p.add_system(id, kLat, kLon);
    drain(p, kNoon, serving(newest));
    p.replan(kNoon + minutes{1});
    CHECK_FALSE(p.plan().beyond_budget);
    CHECK(p.plan().interval[static_cast<std::size_t>(Dataset::summary)] == minutes{5});
    CHECK(p.plan().interval[static_cast<std::size_t>(Dataset::sources)] == minutes{2});
  }
  SECTION("300 systems in daylight stretch the first in the order up to their bounds") {
    for (int id = 1; id <= 300; ++id) p.add_system(id, kLat, kLon);
    double worst = 0;
    for (auto t = kNoon; t < kNoon + minutes{30}; t += seconds{1}) {
      drain(p, t, serving(newest));
      worst = std::max(worst, p.calls_in_last_minute(t));
    }
    CHECK(worst <= 90);
    const auto& plan = p.plan();
    CHECK(plan.systems == 300);
    CHECK(plan.active == 300);
    CHECK_FALSE(plan.beyond_budget);
    auto interval = [&](Dataset d) { return plan.interval[static_cast<std::size_t>(d)]; };
    // The first in the stretch order give way first, up to just inside their bounds (a job may
    // start a little after it is due when the budget is busy).
    CHECK(interval(Dataset::objects) == seconds{hours{24}} * 85 / 100);
    CHECK(interval(Dataset::layout) == seconds{hours{24}} * 85 / 100);
    CHECK(interval(Dataset::combined) == seconds{hours{2}} * 85 / 100);
    CHECK(interval(Dataset::summary) > minutes{5});
    CHECK(interval(Dataset::summary) <= minutes{30});
    CHECK(interval(Dataset::sources) <= minutes{60});
    CHECK(interval(Dataset::panel_details) <= hours{2});
    CHECK(plan.demand_per_minute <= 90.001);
    CHECK(plan.describe().find("300 systems (300 in daylight)") != std::string::npos);
  }
  SECTION("2000 systems do not fit even at the bounds: said so") {
    for (int id = 1; id <= 2000; ++id) p.add_system(id, kLat, kLon);
    drain(p, kNoon, serving(newest));
    p.replan(kNoon + minutes{1});
    CHECK(p.plan().beyond_budget);
    CHECK(p.plan().describe().find("BEYOND BUDGET") != std::string::npos);
  }
}

TEST_CASE("earliest deadline first: a summary at its bound goes before a panel probe", "[policy]") {
  auto options = refresh::default_policy_options();
  options.max_in_flight = 1;
  refresh::Policy p(options);
  std::optional<Timestamp> newest = kNoon - minutes{11};
  drain(p, kNoon, serving(newest));
  p.add_system(1, kLat, kLon);
  drain(p, kNoon, serving(newest));
  // Much later panel power and the summary are both overdue: the batch expected first goes
  // first; once it finds nothing new, its probe waits behind the summary past its bound.
  auto first = p.next(kNoon + minutes{44});
  REQUIRE(first);
  CHECK(first->dataset == Dataset::panels);
  p.finished(*first, kNoon + minutes{44}, serving(newest)(*first));
  auto second = p.next(kNoon + minutes{45});
  REQUIRE(second);
  CHECK(second->dataset == Dataset::summary);
}

TEST_CASE("learned arrivals that break the policy's invariants are refused and not restored",
          "[policy]") {
  refresh::LearnedSystem good;
  good.newest_pin = kNoon - minutes{11};
  good.newest_seen_at = kNoon - minutes{5};
  good.spacings = {minutes{10}, minutes{10}, minutes{11}};
  good.lags = {minutes{6}};
  good.run = 3;
  CHECK_FALSE(refresh::check_learned(good, kNoon).has_value());

  const auto why = [&](const std::function<void(refresh::LearnedSystem&)>& change) {
    auto l = good;
    change(l);
    return refresh::check_learned(l, kNoon).value_or("");
  };
  CHECK_THAT(why([](auto& l) { l.spacings = {0s, 0s, 0s}; }), Catch::Contains("spacings"));
  CHECK_THAT(why([](auto& l) { l.spacings = {-10min}; }), Catch::Contains("spacings"));
  CHECK_THAT(why([](auto& l) { l.spacings.assign(8, 10min); }), Catch::Contains("spacings"));
  CHECK_THAT(why([](auto& l) { l.lags = {25h}; }), Catch::Contains("lags"));
  CHECK_THAT(why([](auto& l) { l.late_by = {0s}; }), Catch::Contains("late_by"));
  CHECK_THAT(why([](auto& l) { l.newest_seen_at.reset(); }), Catch::Contains("one without"));
  CHECK_THAT(why([](auto& l) { l.newest_pin.reset(); }), Catch::Contains("one without"));
  CHECK_THAT(why([](auto& l) { l.newest_seen_at = kNoon + 1h; }), Catch::Contains("future"));
  CHECK_THAT(why([](auto& l) { l.run = 4; }), Catch::Contains("run"));
  CHECK_THAT(why([](auto& l) { l.detail_calls = 0; }), Catch::Contains("detail_calls"));
  CHECK_THAT(why([](auto& l) { l.tracks[1].last_success = kNoon + 1h; }),
             Catch::Contains("future"));

  // Restored anyway (a caller that did not check): the system starts cold and runs, no crash.
  for (const auto& bad :
       {std::function<void(refresh::LearnedSystem&)>([](auto& l) {
          l.spacings = {0s, 0s, 0s};
        }),
        std::function<void(refresh::LearnedSystem&)>([](auto& l) { l.newest_seen_at.reset(); })}) {
    auto l = good;
    bad(l);
    std::optional<Timestamp> newest = kNoon - minutes{11};
    auto p = one_system(kNoon, newest);
    p.restore(1, l, kNoon);
    CHECK_FALSE(p.learned(1)->newest_pin.has_value());
    int power = 0;
    for (auto t = kNoon; t < kNoon + 1h; t += 1min) {
      if (t >= *newest + 21min) *newest += 10min;
      for (const auto& c : drain(p, t, serving(newest)))
        power += c.dataset == Dataset::panels ? 1 : 0;
    }
    CHECK(power >= 5);
  }
}

TEST_CASE("system ids as large as int64 goes are scheduled without overflow", "[policy]") {
  refresh::Policy p(refresh::default_policy_options());
  std::optional<Timestamp> newest = kNoon - minutes{11};
  drain(p, kNoon, serving(newest));
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t ids[] = {kMax, kMax - 1, kMax / 7919 + 1, 1};
  for (auto id : ids) p.add_system(id, kLat, kLon);
  std::set<std::int64_t> summarised;
  for (auto t = kNoon; t < kNoon + 1h; t += 1min)
    for (const auto& c : drain(p, t, serving(newest)))
      if (c.dataset == Dataset::summary) summarised.insert(c.system_id);
  CHECK(summarised.size() == std::size(ids));
}

TEST_CASE("the wall clock stepping an hour back or forward: refreshing goes on within the budget",
          "[policy]") {
  int steady = 0;  // calls of the half hour from 40 min without a step
  for (const auto step : {0h, -1h, 1h}) {
    INFO("step " << duration_cast<minutes>(step).count() << " min");
    auto options = refresh::default_policy_options();
    options.budget_per_minute = 20;
    refresh::Policy p(options);
    std::optional<Timestamp> newest = kNoon - minutes{11};
    // Real time passing (the policy's elapsed clock) and the wall clock, which steps at 30 min.
    seconds elapsed{0};
    auto wall = [&] { return kNoon + elapsed + (elapsed >= 30min ? step : 0s); };
    std::vector<std::pair<seconds, int>> calls;  // elapsed time, calls started
    auto tick = [&] {
      p.observe_clock(wall(), elapsed);
      while (auto job = p.next(wall())) {
        calls.emplace_back(elapsed, job->calls);
        p.finished(*job, wall(), serving(newest)(*job));
      }
    };
    tick();
    for (std::int64_t id = 1; id <= 40; ++id) p.add_system(id, kLat, kLon);
    for (; elapsed < 90min; elapsed += 10s) {
      // A new batch every 10 minutes of real time: the API's clock does not step.
      newest = kNoon - minutes{11} + duration_cast<minutes>(elapsed) / 10min * 10min;
      tick();
    }
    // Every 60 s of real time within the budget.
    for (std::size_t i = 0; i < calls.size(); ++i) {
      int window = 0;
      for (std::size_t k = i; k < calls.size() && calls[k].first < calls[i].first + 60s; ++k)
        window += calls[k].second;
      INFO("window from " << calls[i].first.count() << " s");
      REQUIRE(window <= 20);
    }
    // Work goes on within a minute of the step, and the half hour after it is as busy as before.
    const auto count = [&](seconds from, seconds to) {
      int n = 0;
      for (const auto& [at, c] : calls) n += at >= from && at < to ? c : 0;
      return n;
    };
    CHECK(count(30min, 31min) > 0);
    if (step == 0h) steady = count(40min, 70min);
    CHECK(steady > 100);
    CHECK(count(40min, 70min) >= steady * 9 / 10);
  }
}

TEST_CASE("small wall clock drift is not a step", "[policy]") {
  refresh::Policy p(refresh::default_policy_options());
  CHECK_FALSE(p.observe_clock(kNoon, 0s).has_value());
  CHECK_FALSE(p.observe_clock(kNoon + 70s, 60s).has_value());    // 10 s ahead: drift
  CHECK_FALSE(p.observe_clock(kNoon + 105s, 120s).has_value());  // 25 s back
  const auto back = p.observe_clock(kNoon - 1h + 180s, 180s);
  REQUIRE(back.has_value());
  CHECK(*back == -1h + 15s);
}
