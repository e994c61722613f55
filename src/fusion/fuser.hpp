// The one place the local sources' readings meet the cloud's: a cloud snapshot and the newest
// word of each local source in, the snapshot the exporter serves out. A panel keeps its cloud
// labels and families; while its optimizer is heard on the bus its readings are the bus's
// (fresher by 10 to 60 minutes), with what only the bus measures beside them. Nodes the cloud's
// serials do not name take their panel from the mapping file, else they are served under the
// bus's own names in system 0. A CCA's minutes (its local web API) are matched by panel label in
// their system, and served when they are the newest reading. Pure apart from the energy it
// integrates: inputs and the two clocks are arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fusion/mapping.hpp"
#include "local/bus_state.hpp"
#include "local/cca_source.hpp"
#include "local/line_source.hpp"
#include "refresh/snapshot.hpp"

namespace fusion {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

struct BusInput {
  std::string name;
  std::shared_ptr<const local::BusSnapshot> bus;
  local::SourceStats stats;
};

// A CCA's local API: its newest minutes by panel label, of one system.
struct CcaInput {
  std::shared_ptr<const local::CcaSnapshot> cca;
  std::int64_t system_id = 0;
};

struct FuseOptions {
  // A bus reading is current this long after it was received (nodes report about every 20 s;
  // some fall quiet for a few minutes).
  std::chrono::seconds stale_after{120};
  // A CCA minute is current this long after the minute (the CCA is polled every minute or so).
  std::chrono::seconds cca_stale_after{300};
  Mapping mapping;
  bool local_only = false;  // no cloud account: the snapshot is ready from the start
};

// The system that unmatched nodes are served in (and, without a cloud, the mapping's default).
inline constexpr std::int64_t kLocalSystemId = 0;

// Energy since site-local midnight of one panel, integrated from its bus readings.
struct PanelEnergy {
  std::int64_t system_id = 0;
  std::string panel;
  std::chrono::sys_days day{};  // the site-local date, as days since the epoch
  double wh = 0;
  double covered_s = 0;  // seconds of the day the integral spans (the gaps left out)
  std::chrono::sys_time<std::chrono::microseconds> last_time{};
  double last_w = 0;
  bool operator==(const PanelEnergy&) const = default;
};

// Two readings further apart than this leave the time between them out of the energy (the
// node was silent: assuming its power held would invent energy).
inline constexpr std::chrono::seconds kMaxEnergyGap{150};

class Fuser {
 public:
  explicit Fuser(FuseOptions options);

  std::shared_ptr<const refresh::Snapshot> fuse(const refresh::Snapshot& cloud,
                                                const std::vector<BusInput>& buses,
                                                SteadyTime steady_now, WallTime wall_now,
                                                const std::vector<CcaInput>& ccas = {});

  // Per-panel energy of the current days, for the local state file, and to start from.
  std::vector<PanelEnergy> export_energy() const;
  void import_energy(const std::vector<PanelEnergy>& energy);

  const FuseOptions& options() const { return options_; }

 private:
  void integrate(std::int64_t system_id, const std::string& panel, const std::string& zone,
                 const local::PowerReport& r);
  // {Wh, seconds covered} of today (site-local), 0 for an entry of an earlier day.
  std::optional<std::pair<double, double>> energy_today(std::int64_t system_id,
                                                        const std::string& panel,
                                                        const std::string& zone,
                                                        WallTime now) const;

  FuseOptions options_;
  std::map<std::pair<std::int64_t, std::string>, PanelEnergy> energy_;
  std::uint64_t generation_ = 0;
};

}  // namespace fusion
