// What the local sources taught that must survive a restart (--storage.path, beside the cloud's
// state file): each bus's node -> address map (infrastructure reports come rarely, mostly after
// dusk) and each panel's energy of the day. JSON, written whole and renamed into place; a file
// that fails any check is not used (one log line) and that start is cold, never a crash.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fusion/fuser.hpp"
#include "local/bus_state.hpp"
#include "util/result.hpp"

namespace fusion {

inline constexpr std::string_view kLocalStateFileName = "local-state.json";
inline constexpr std::size_t kMaxLocalStateBytes = std::size_t{32} << 20;
inline constexpr std::size_t kMaxLocalStateEntries = 500'000;

struct LocalState {
  std::map<std::string, std::vector<local::LearnedAddress>> addresses;  // by source name
  std::vector<PanelEnergy> energy;
  bool operator==(const LocalState&) const = default;
};

std::string format_local_state(const LocalState& state);
util::Result<LocalState> parse_local_state(std::string_view json);
util::Result<LocalState> read_local_state(const std::string& path);  // a missing file says so
util::Result<std::size_t> write_local_state(const std::string& path, const LocalState& state);

}  // namespace fusion
