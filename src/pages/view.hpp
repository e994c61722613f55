// What the pages show of one system, worked out once from the snapshot for the HTML and the
// JSON alike: each panel's state (its power against its string's median, dead, PV-Off), its
// rating, its reading's age, and the system's gateway and data freshness. Pure: the snapshot
// and the time in, plain values out; nothing here calls Tigo.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "refresh/snapshot.hpp"
#include "tigo/model.hpp"

namespace pages {

using Timestamp = refresh::Timestamp;

// A panel's colour on the map. The names are the `data-state` values tests and scripts read.
enum class PanelState {
  ok,        // at least `low` of its string's median
  low,       // below `low` of the median
  very_low,  // below `very_low` of the median: shaded, soiled or failing
  dead,      // no reading, or hours behind the system's other panels: not reporting
  pv_off,    // its gateway is in PV-Off: output shut down on purpose
  dark,      // its string produces (next to) nothing: night, snow, or no sun yet
  no_data,   // no panel of the system has a reading (yet)
};
std::string_view state_name(PanelState s);
std::string_view state_description(PanelState s);
inline constexpr PanelState kAllStates[] = {
    PanelState::ok,     PanelState::low,  PanelState::very_low, PanelState::dead,
    PanelState::pv_off, PanelState::dark, PanelState::no_data};

struct Thresholds {
  double low = 0.8;       // of the string's median power
  double very_low = 0.5;  // of the string's median power
  double dark_w = 5;      // a string median below this produces nothing worth comparing
  std::chrono::seconds stale_after{3600};  // a reading older than this is shown faded
};

struct PanelView {
  const refresh::Panel* panel = nullptr;
  const tigo::ObjectUi* ui = nullptr;  // its objects/system `ui`, if any
  std::size_t group = 0;               // index into SystemView::groups
  PanelState state = PanelState::no_data;
  std::optional<double> power_w;
  std::optional<double> ratio;     // power over its string's median
  std::optional<double> rating_w;  // ui MP
  std::optional<Timestamp> sample;
  std::optional<std::chrono::seconds> age;
  bool stale = false;
};

// A string of panels with its inverter: the map outlines each.
struct GroupView {
  std::string inverter, mppt, string;
  std::vector<std::size_t> panels;  // indices into SystemView::panels, in snapshot order
  std::optional<double> median_w;
};

struct FailingDataset {
  refresh::Dataset dataset;
  const refresh::DatasetState* state = nullptr;
};

struct SystemView {
  const refresh::SystemEntry* entry = nullptr;
  std::vector<PanelView> panels;
  std::vector<GroupView> groups;
  std::vector<const refresh::ObjectInfo*> segments;  // objects with a ui line segment
  std::string pv_off_gateway;                        // name of a gateway in PV-Off, if one is
  std::optional<Timestamp> newest_sample;
  std::optional<std::chrono::seconds> data_age;  // now - newest panel sample
  std::optional<Timestamp> last_checkin;         // newest over the gateways
  bool stale = false;             // the newest panel reading is older than stale_after
  bool gateway_silent = false;    // the newest gateway check-in is older than stale_after
  bool positioned = false;        // every panel has X and Y: drawn where it sits, else a grid
  std::optional<double> power_w;  // data/summary last power, else the panels' sum
  std::size_t reporting = 0;      // panels whose state is neither dead nor no_data
  std::size_t live = 0;           // panels whose reading is a local source's (bus, CCA)
  std::vector<FailingDataset> failing;
  bool pv_off() const { return !pv_off_gateway.empty(); }
};

SystemView view_system(const refresh::SystemEntry& e, Timestamp now, const Thresholds& t = {});

// "312 W", "4.25 kW", "1.20 MW"; "-" when absent.
std::string format_power(std::optional<double> w);
// "45 s", "12 min", "3.5 h", "2 d"; "-" when absent.
std::string format_age(std::optional<std::chrono::seconds> age);
// A number with `decimals` places, "-" when absent.
std::string format_number(std::optional<double> v, int decimals);

}  // namespace pages
