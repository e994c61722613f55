// The planner the exporter had before the value-ordered policy (refresh/policy.hpp), kept only so
// bench/sim_day can run the same day with both side by side. How often each dataset can be
// refreshed within the rate budget: fixed intervals, panel data stretched first.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

namespace baseline {

enum class Dataset { system, objects, layout, sources, summary, panels, combined, alerts };
inline constexpr std::size_t kDatasetCount = 8;

struct DatasetCost {
  double calls_per_system = 0;            // API calls one refresh of one system costs
  std::chrono::seconds interval{60};      // wanted (the --refresh.* flag)
  std::chrono::seconds max_interval{60};  // how far it may stretch before the next one gives way
};

struct PlanInput {
  std::array<DatasetCost, kDatasetCount> costs{};
  std::size_t systems = 0;
  double account_calls_per_minute = 0;  // fleet-wide calls (systems list pages, types, user)
  double budget_per_minute = 100;       // what the governor allows, after a safety margin
};

struct Plan {
  std::array<std::chrono::seconds, kDatasetCount> interval{};
  double demand_per_minute = 0;  // at the planned intervals
  bool stretched = false;
};

// Datasets give way in this order when the budget is short: panel data first, hierarchy last.
// Each stretches up to its max_interval before the next is touched; if all are at their maximum
// and the fleet still does not fit, every interval grows by the same factor.
Plan plan_intervals(const PlanInput& in);

// The order plan_intervals stretches in.
inline constexpr std::array<Dataset, kDatasetCount> kStretchOrder = {
    Dataset::panels,  Dataset::combined, Dataset::alerts, Dataset::sources,
    Dataset::summary, Dataset::objects,  Dataset::layout, Dataset::system};

}  // namespace baseline
