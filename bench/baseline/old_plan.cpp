#include "baseline/old_plan.hpp"

#include <algorithm>
#include <cmath>

namespace baseline {
namespace {

double demand(const PlanInput& in, const std::array<double, kDatasetCount>& interval_s) {
  double per_minute = in.account_calls_per_minute;
  for (std::size_t d = 0; d < kDatasetCount; ++d) {
    if (in.costs[d].calls_per_system <= 0 || interval_s[d] <= 0) continue;
    per_minute +=
        in.costs[d].calls_per_system * static_cast<double>(in.systems) * 60.0 / interval_s[d];
  }
  return per_minute;
}

}  // namespace

Plan plan_intervals(const PlanInput& in) {
  std::array<double, kDatasetCount> s{};
  for (std::size_t d = 0; d < kDatasetCount; ++d)
    s[d] = static_cast<double>(std::max<long long>(1, in.costs[d].interval.count()));
  const double budget = std::max(in.budget_per_minute, 1e-6);
  Plan plan;
  if (demand(in, s) > budget) {
    plan.stretched = true;
    for (Dataset d : kStretchOrder) {
      const auto i = static_cast<std::size_t>(d);
      const double cost = in.costs[i].calls_per_system * static_cast<double>(in.systems) * 60.0;
      if (cost <= 0) continue;
      const double max_s = std::max(s[i], static_cast<double>(in.costs[i].max_interval.count()));
      // The interval at which this dataset alone absorbs the excess.
      const double others = demand(in, s) - cost / s[i];
      const double room = budget - others;
      const double needed = room > 0 ? cost / room : max_s;
      s[i] = std::clamp(needed, s[i], max_s);
      if (demand(in, s) <= budget * (1 + 1e-9)) break;
    }
    const double over = (demand(in, s) - in.account_calls_per_minute) /
                        std::max(budget - in.account_calls_per_minute, 1e-6);
    if (over > 1 + 1e-9) {
      for (auto& v : s) v *= over;
    }
  }
  for (std::size_t d = 0; d < kDatasetCount; ++d)
    plan.interval[d] = std::chrono::seconds{static_cast<long long>(std::ceil(s[d]))};
  std::array<double, kDatasetCount> rounded{};
  for (std::size_t d = 0; d < kDatasetCount; ++d)
    rounded[d] = static_cast<double>(plan.interval[d].count());
  plan.demand_per_minute = demand(in, rounded);
  return plan;
}

}  // namespace baseline
