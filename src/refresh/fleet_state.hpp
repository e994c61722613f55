// What the refresher knows of the fleet, mutable, updated by each finished job, and turned into
// an immutable Snapshot for publication. Guarded by the refresher's lock; nothing here locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "refresh/hierarchy.hpp"
#include "refresh/snapshot.hpp"
#include "tigo/csv.hpp"
#include "tigo/local_time.hpp"
#include "tigo/model.hpp"

namespace refresh {

// The minute-data params (tigo::kPanelParams) are asked for one call each. An optional one (Temp)
// that a system answers without panel columns is not asked for again for kOptionalRecheck.
inline constexpr std::chrono::hours kOptionalRecheck{24};

// The hierarchy of a system nothing is known of yet (shared, empty).
const std::shared_ptr<const Hierarchy>& no_hierarchy();

// What a snapshot build reads of a system: everything but the raw answers the hierarchy is
// resolved from and what only the fetches use. Publishing copies exactly this part.
// A panel's energy of one site-local day integrated from the panel power minutes fetched: a
// minute's W counts W/60 Wh, each minute once.
struct MinuteEnergy {
  date::local_days day{};
  double wh = 0;
  int minutes = 0;
  Timestamp last{};  // the newest minute counted
};

struct SystemValues {
  tigo::System system;
  const date::time_zone* zone = nullptr;  // null: UTC is assumed
  // Re-resolved whenever objects, layout or types change, never changed in place: the copies
  // publishing takes share it.
  std::shared_ptr<const Hierarchy> hierarchy = no_hierarchy();
  std::vector<tigo::Source> sources;
  std::optional<tigo::Summary> summary;
  std::vector<tigo::Alert> alerts;
  std::map<std::int64_t, PanelReadings> panel_values;  // by panel object id
  std::map<std::int64_t, Reading> object_power;        // data/combined minute, by object id
  std::map<std::int64_t, std::pair<double, date::local_days>> object_energy_today;
  std::map<std::int64_t, MinuteEnergy> panel_energy;  // by panel object id
  std::array<DatasetState, kDatasetCount> states{};

  DatasetState& state(Dataset d) { return states[static_cast<std::size_t>(d)]; }
  const DatasetState& state(Dataset d) const { return states[static_cast<std::size_t>(d)]; }
};

struct SystemState : SystemValues {
  std::optional<std::vector<tigo::Object>> objects;
  std::optional<tigo::Layout> layout;
  // Minute data: the newest minute fetched, of panel power and of the detail params (each
  // window asks for everything since).
  std::optional<Timestamp> panels_cursor;
  std::optional<Timestamp> details_cursor;
  // When an optional param came back without panel columns, per param.
  std::array<std::optional<Timestamp>, tigo::kPanelParamCount> unanswered_at{};
  // Set by SystemShares::changed whenever the refresher changes the system; 0 (never set): copied
  // at every publish.
  std::uint64_t revision = 0;

  // Whether a panels refresh at `now` asks for `param`.
  bool wants_param(tigo::PanelParam param, Timestamp now) const {
    const auto& since = unanswered_at[tigo::index_of(param)];
    return !tigo::spec(param).optional || !since || now - *since >= kOptionalRecheck;
  }
};

struct FleetState {
  std::optional<tigo::User> user;
  std::map<std::int64_t, std::string> object_types;
  std::map<std::int64_t, tigo::AlertType> alert_types;
  std::map<std::int64_t, SystemState> systems;  // by system id
  // When the systems list last answered. Readiness needs one answer even if it held none of
  // this shard's systems (a shard without systems is ready, not stuck).
  std::optional<Timestamp> listed_at;
  std::vector<std::int64_t> unlisted_systems;  // SystemFilter::unlisted of the last list
};

// Records a success at `at`, the time the answer arrived; the time never goes back.
void mark_success(DatasetState& s, Timestamp at);
void mark_failure(DatasetState& s, std::string error);

void update_hierarchy(SystemState& s, const std::map<std::int64_t, std::string>& types);

// Newest non-empty value per panel column of a header=id aggregate CSV into the panels' readings
// (a reading only replaces an older one; other columns, such as the gateway's sensors, are left
// out). Returns the panels' newest minute, if any.
std::optional<Timestamp> apply_aggregate(SystemState& s, tigo::PanelParam param,
                                         const tigo::CsvTable& table);
// Every row of a panel power (Pin) answer kept with its rows (keep_rows) into the panels' energy
// of their site-local day (panel_energy); minutes counted before are skipped.
void integrate_panel_minutes(SystemState& s, const tigo::CsvTable& table);
void apply_combined_minute(SystemState& s, const tigo::CsvTable& table);
void apply_combined_day(SystemState& s, const tigo::CsvTable& table);

struct BuildOptions {
  std::chrono::milliseconds max_staleness = config::RefreshSettings{}.max_staleness;
  std::chrono::milliseconds alerts_window = config::RefreshSettings{}.alerts_window;
  std::array<std::optional<double>, kDatasetCount> intervals{};  // effective, seconds
  // Per system, intervals held that differ from `intervals` (at night summaries and gateways are
  // asked for less often), seconds.
  std::map<std::int64_t, std::array<std::optional<double>, kDatasetCount>> system_intervals;
  std::string budget_plan;
  bool beyond_budget = false;
};

// The staleness rule (README "Staleness", docs/METRICS.md): every value is served only while
//  1. the exporter confirmed it with the API within its dataset's limit, the longer of
//     --refresh.max-staleness and kIntervalsPerLimit of the dataset's own intervals (a failed
//     refresh drops nothing by itself; data refreshed every 6 h outlives one failure), and
//  2. the time it is true for still covers now: current power only while the summary's
//     `updated_on` is recent, today's energy on today's site-local date, this year's in this
//     year. Minute readings (panels, objects) are the newest a gateway delivered, kept through
//     the night, but only while that gateway checks in.
// Tigo's own times (a summary's updated_on, a gateway's last check-in) move only as a gateway's
// uploads arrive, minutes apart and often most of an hour late: they are judged against the
// longer of kTigoTimeAllowance and the limit, so a short --refresh.max-staleness (tests) does
// not make every healthy system look stalled.
inline constexpr int kIntervalsPerLimit = 3;
inline constexpr std::chrono::hours kTigoTimeAllowance{1};

// How long values of dataset `d` (of system `system_id`, if its interval differs) may go
// unconfirmed (rule 1).
std::chrono::seconds value_limit(Dataset d, const BuildOptions& options,
                                 std::int64_t system_id = 0);
// The same for minute readings (panel power and details). Power follows the gateways' batches
// (minutes apart, at night not at all) and details come every 15 minutes; what confirms them
// between fetches is the gateways' answer (sources/system), so its interval counts.
std::chrono::seconds readings_limit(const BuildOptions& options, std::int64_t system_id = 0);

// One system as publishing hands it to a snapshot build: an immutable copy of its values, shared
// by every build until the system changes.
struct SharedSystem {
  std::int64_t id = 0;
  std::uint64_t revision = 0;  // the SystemState::revision copied
  std::shared_ptr<const SystemValues> values;
};

// What build_snapshot reads of the fleet, taken under the refresher's lock: the account's parts
// copied (they are small), each system shared (SystemShares).
struct FleetView {
  std::optional<tigo::User> user;
  std::map<std::int64_t, tigo::AlertType> alert_types;
  std::vector<SharedSystem> systems;  // ascending ids
  std::optional<Timestamp> listed_at;
  std::vector<std::int64_t> unlisted_systems;
};

// Copy-on-write for publishing. The refresher changes its FleetState in place (under its lock)
// and calls changed() on each system it changes; view() copies a system's values only when it
// changed since the copy it last shared, and shares the others as they are. So a publish holds
// the lock for the systems changed since the last one, not for the whole fleet, and a snapshot
// build reads copies nobody writes to.
class SystemShares {
 public:
  // Stamps `s` with a new revision: the next view() copies it again.
  void changed(SystemState& s) { s.revision = ++last_revision_; }
  FleetView view(const FleetState& fleet);
  std::size_t copied() const { return copied_; }  // systems the last view() copied

 private:
  std::vector<SharedSystem> shared_;  // as last shared, ascending ids
  std::uint64_t last_revision_ = 0;
  std::size_t copied_ = 0;
};

// The immutable view of the fleet at `now`: hierarchy resolved, values the staleness rule does not
// vouch for left out, panel reporting decided, alerts counted inside the window. Everything that
// depends on `now` is judged here, at every publish; the same fleet gives the same snapshot
// whichever of the two it is read from.
Snapshot build_snapshot(const FleetView& fleet, Timestamp now, const BuildOptions& options);
Snapshot build_snapshot(const FleetState& fleet, Timestamp now, const BuildOptions& options);

}  // namespace refresh
