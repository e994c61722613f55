// The fleet as last seen: immutable once published, shared by the renderer and the web server.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tigo/model.hpp"

namespace refresh {

using Timestamp = std::chrono::sys_seconds;

// Whether the last refresh of one (system, dataset) worked, and when one last did.
struct DatasetState {
  bool success = false;
  std::optional<Timestamp> last_success;
  std::string last_error;  // no secrets: built from endpoint, status and body excerpt
};

struct SystemEntry {
  tigo::System system;
  DatasetState system_state;
  std::optional<tigo::Summary> summary;  // last good answer, dropped after max staleness
  DatasetState summary_state;
};

struct Snapshot {
  std::vector<SystemEntry> systems;  // ordered by system_id
  Timestamp built_at{};
  std::uint64_t generation = 0;
  bool ready = false;  // every system's list entry and summary refreshed at least once
};

}  // namespace refresh
