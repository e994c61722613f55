// A system's panel map (/systems/{id}): every panel drawn where objects/system `ui` places it
// (a grid by string when the objects carry no positions), outlined by string and inverter,
// coloured by its state (view.hpp), with a legend, a tooltip per panel and the same data as a
// table for readers without JavaScript. Its JSON (/api/systems/{id}) carries what changes
// between snapshots, so the page refreshes itself without being drawn again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pages/view.hpp"
#include "refresh/snapshot.hpp"

namespace pages {

struct MapOptions {
  Thresholds thresholds;
  int refresh_seconds = 30;      // how often the page asks for the JSON
  std::string version;           // shown in the footer
  int live_refresh_seconds = 2;  // as often while a local source feeds the system's panels
};

// nullopt when the snapshot has no such system.
std::optional<std::string> panel_map_html(const refresh::Snapshot& snap, std::int64_t system_id,
                                          Timestamp now, const MapOptions& options);
std::optional<std::string> panel_map_json(const refresh::Snapshot& snap, std::int64_t system_id,
                                          Timestamp now, const MapOptions& options);

}  // namespace pages
