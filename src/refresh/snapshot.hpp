// The fleet as last seen: immutable once published, shared by the renderer and the web server.
// Plain data in the exporter's own terms (resolved hierarchy, newest readings with their sample
// minute), independent of the API's answer shapes.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tigo/model.hpp"
#include "tigo/panel_param.hpp"

namespace refresh {

using Timestamp = std::chrono::sys_seconds;

// The datasets a system is refreshed by; their names are the `dataset` label values.
// `panels` is panel power (Pin, fetched on each gateway batch); `panel_details` the slower params
// (voltage, current, RSSI, temperature).
enum class Dataset {
  system,
  objects,
  layout,
  sources,
  summary,
  panels,
  panel_details,
  combined,
  alerts
};
inline constexpr std::size_t kDatasetCount = 9;
inline constexpr std::array<Dataset, kDatasetCount> kAllDatasets = {
    Dataset::system, Dataset::objects,       Dataset::layout,   Dataset::sources, Dataset::summary,
    Dataset::panels, Dataset::panel_details, Dataset::combined, Dataset::alerts};
std::string_view dataset_name(Dataset d);
// What readiness waits for, each tried once per system (failed or not): its hierarchy and its
// summary, what serving the system takes (its panels, power and energy). Layout, gateways and
// alerts follow within minutes; waiting for them too would keep a 20-system account unready
// beyond its first minute of budget (5 calls a system, 100 a minute).
inline constexpr std::array<Dataset, 2> kReadinessDatasets = {Dataset::objects, Dataset::summary};

// Whether the last refresh of one (system, dataset) worked, and when one last did.
struct DatasetState {
  bool attempted = false;
  bool success = false;
  std::optional<Timestamp> last_success;
  std::string last_error;  // no secrets: built from endpoint, status and body excerpt
};

// A value with the minute it belongs to (UTC).
struct Reading {
  double value = 0;
  Timestamp sample{};
};

// A panel's newest reading per data/aggregate param, indexed by tigo::index_of(param).
struct PanelReadings {
  std::array<std::optional<Reading>, tigo::kPanelParamCount> by_param{};

  std::optional<Reading>& operator[](tigo::PanelParam p) { return by_param[tigo::index_of(p)]; }
  const std::optional<Reading>& operator[](tigo::PanelParam p) const {
    return by_param[tigo::index_of(p)];
  }
};

// Where a panel's served readings were measured and reached us from: the cloud's minutes
// (data/aggregate), the local bus (taptap's power reports) or the CCA's local web API. The
// names are the `source` label values.
enum class ReadingSource : std::uint8_t { cloud, bus, cca };
std::string_view reading_source_name(ReadingSource s);

struct Panel {
  std::int64_t object_id = 0;
  std::string label;       // the panel's own label, e.g. "A1"
  std::string serial;      // from systems/layout
  std::string panel_type;  // from systems/layout
  std::string datasource;  // objects/system key, e.g. "04C05B800ACE.panels.A1"
  // Hierarchy labels, empty where the system has no such level.
  std::string inverter, mppt, string;
  PanelReadings readings;
  // Has a reading in the newest minute its gateway delivered, and the readings are confirmed
  // (the staleness rule, fleet_state.hpp): never 1 on data the exporter cannot vouch for.
  bool reporting = false;
  // Set by the fusion of local sources (src/fusion): where `readings` came from, and what only
  // the bus measures (while a bus reading is served).
  ReadingSource source = ReadingSource::cloud;
  std::optional<Reading> voltage_out;  // V
  std::optional<Reading> duty_cycle;   // 0..1
  // Energy since site-local midnight integrated from the panel's readings, Wh: from the cloud's
  // minutes (build_snapshot) or the bus's reports (fusion), whichever covers more of the day
  // (energy_covered_s, seconds of the day the integral spans).
  std::optional<double> energy_today_wh;
  std::optional<double> energy_covered_s;
};

struct ObjectInfo {
  std::int64_t object_id = 0;
  std::int64_t parent_id = -1;
  std::string object_type;  // objects/types name, e.g. "Panel"
  std::string label;
  std::string datasource;
  std::optional<tigo::ObjectUi> ui;  // objects/system `ui`: the panel map's positions
};

// data/combined for system, inverter and string objects.
struct ObjectReading {
  std::int64_t object_id = 0;
  std::string object_type;
  std::string label;
  std::optional<double> power_w;
  std::optional<double> energy_today_wh;
};

struct GatewaySet {
  std::string name;
  std::optional<Timestamp> last_min;
  std::optional<Timestamp> last_day;
};

struct Gateway {
  std::string source_id;
  std::string name, serial, sw_version, timezone;
  std::optional<Timestamp> last_checkin;
  std::optional<double> gateway_count;
  std::string control_state;
  std::vector<GatewaySet> sets;
};

// alerts/system entries generated inside the alerts window, per alert code.
struct AlertCount {
  std::string unique_id;
  std::string title;
  std::int64_t count = 0;
  std::optional<Timestamp> last_generated;
};

// Only what the staleness rule (fleet_state.hpp) still vouches for: a value that is not true
// now is left out, never served as current.
struct SystemEntry {
  tigo::System system;
  bool info_current = true;  // the systems list confirmed the system within its limit
  // Last good answer; power, today's and this year's energy only while updated_on covers now.
  std::optional<tigo::Summary> summary;
  std::vector<ObjectInfo> objects;
  std::vector<Panel> panels;  // ordered by inverter, mppt, string, panel label
  std::vector<ObjectReading> object_readings;
  std::vector<Gateway> gateways;
  std::vector<AlertCount> alerts;
  std::array<DatasetState, kDatasetCount> states{};

  DatasetState& state(Dataset d) { return states[static_cast<std::size_t>(d)]; }
  const DatasetState& state(Dataset d) const { return states[static_cast<std::size_t>(d)]; }
};

struct User {
  std::string user_id, user_type, company;
};

// A local source's health as the fusion last saw it (the tigo_local_* families, the status page).
struct LocalSourceStatus {
  std::string name;  // "taptap", "tcp:192.168.1.20:7160", "cca:192.168.1.5"
  std::string kind;  // "bus" or "cca"
  bool connected = false;
  std::vector<std::pair<std::string, std::uint64_t>> events;   // events read, by type
  std::vector<std::pair<std::string, std::uint64_t>> dropped;  // lines dropped, by reason
  std::uint64_t restarts = 0;         // ends of the command or the connection, polls failed
  std::uint64_t node_id_changes = 0;  // a node id that came to name another optimizer
  std::optional<std::chrono::sys_time<std::chrono::milliseconds>> last_event;  // received
  std::size_t nodes_heard = 0;      // nodes (CCA: panels) with a reading in the last minute
  std::size_t nodes_matched = 0;    // tied to a panel of the cloud or of the mapping file
  std::size_t nodes_unmatched = 0;  // known to the source, tied to no panel
  std::string last_error;           // no secrets
};

struct Snapshot {
  std::optional<User> user;
  std::vector<SystemEntry> systems;  // ordered by system_id
  // The effective interval the scheduler holds per dataset, seconds (panels: the mean spacing of
  // gateway batches, which panel power follows).
  std::array<std::optional<double>, kDatasetCount> intervals{};
  std::string budget_plan;  // what the budget buys, in words (Policy's BudgetPlan::describe)
  bool beyond_budget = false;
  Timestamp built_at{};
  std::uint64_t generation = 0;
  bool ready = false;  // the list answered and every system's kReadinessDatasets were tried
  // --tigo.systems ids (of this shard) that the account's systems list does not hold.
  std::vector<std::int64_t> unlisted_systems;
  // The local sources (--local.*) fused into `systems`; empty without any.
  std::vector<LocalSourceStatus> local_sources;
};

}  // namespace refresh
