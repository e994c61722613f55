#include "refresh/plan.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono;
using refresh::Dataset;

namespace {

refresh::PlanInput defaults(std::size_t systems, double budget) {
  refresh::PlanInput in;
  in.systems = systems;
  in.budget_per_minute = budget;
  auto set = [&](Dataset d, double calls, seconds every, seconds max) {
    in.costs[static_cast<std::size_t>(d)] = {calls, every, max};
  };
  set(Dataset::panels, 4, seconds{60}, minutes{30});
  set(Dataset::summary, 1, seconds{300}, minutes{30});
  set(Dataset::sources, 1, seconds{120}, minutes{30});
  set(Dataset::alerts, 1, seconds{600}, hours{2});
  set(Dataset::combined, 2, minutes{15}, hours{2});
  set(Dataset::objects, 1, hours{6}, hours{24});
  set(Dataset::layout, 1, hours{6}, hours{24});
  return in;
}

seconds at(const refresh::Plan& p, Dataset d) { return p.interval[static_cast<std::size_t>(d)]; }

}  // namespace

TEST_CASE("a small fleet keeps the wanted intervals", "[plan]") {
  auto p = refresh::plan_intervals(defaults(3, 90));
  CHECK_FALSE(p.stretched);
  CHECK(at(p, Dataset::panels) == seconds{60});
  CHECK(at(p, Dataset::summary) == seconds{300});
  // 3 systems: 12 panel calls + 0.6 summary + 1.5 sources + 0.3 alerts + 0.4 combined + ~0 a
  // minute.
  CHECK(p.demand_per_minute == Approx(14.8167).epsilon(0.001));
}

TEST_CASE("too big a fleet stretches panel data first, and fits the budget", "[plan]") {
  auto p = refresh::plan_intervals(defaults(20, 90));
  CHECK(p.stretched);
  CHECK(p.demand_per_minute <= 90.0 + 1e-9);
  CHECK(at(p, Dataset::panels) > seconds{60});
  CHECK(at(p, Dataset::panels) <= minutes{30});
  // Everything else is untouched while panel data can still give way.
  CHECK(at(p, Dataset::summary) == seconds{300});
  CHECK(at(p, Dataset::layout) == hours{6});
}

TEST_CASE("past panel data's maximum the next datasets give way, hierarchy last", "[plan]") {
  // 100 systems: panels at 30 min and combined at 2 h still leave 95.5 calls a minute, so alerts
  // give way too; sources, summary and the hierarchy keep their intervals.
  auto p = refresh::plan_intervals(defaults(100, 90));
  CHECK(p.demand_per_minute <= 90.0 + 1e-9);
  CHECK(at(p, Dataset::panels) == minutes{30});
  CHECK(at(p, Dataset::combined) == hours{2});
  CHECK(at(p, Dataset::alerts) > minutes{10});
  CHECK(at(p, Dataset::alerts) < hours{2});
  CHECK(at(p, Dataset::sources) == seconds{120});
  CHECK(at(p, Dataset::layout) == hours{6});
}

TEST_CASE("a fleet beyond every maximum grows all intervals by one factor", "[plan]") {
  auto p = refresh::plan_intervals(defaults(10'000, 90));
  CHECK(p.demand_per_minute <= 90.0 * 1.001);
  const double f = static_cast<double>(at(p, Dataset::layout).count()) / (24 * 3600.0);
  CHECK(f > 1);
  CHECK(static_cast<double>(at(p, Dataset::panels).count()) / 1800.0 == Approx(f).epsilon(0.01));
}

TEST_CASE("fleet-wide calls count against the budget", "[plan]") {
  auto in = defaults(3, 20);
  in.account_calls_per_minute = 10;
  auto p = refresh::plan_intervals(in);
  CHECK(p.stretched);
  CHECK(p.demand_per_minute <= 20.0 + 1e-9);
}
