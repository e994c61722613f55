// The optional state file (--storage.path): what a restart needs to serve full data at once and
// spend its budget on new data only. The systems list, user and types; each system's objects and
// layout (the hierarchy), its newest values (readings, gateways, summary, alerts, strings and
// inverters), the last minutes fetched; and what the policy learned (gateway arrivals, when each
// dataset last succeeded, so nothing fresh is fetched again).
//
// JSON, one document, written by a small writer and read with simdjson; every field is checked
// (types, ranges, sizes) and a file that fails any check is not used at all. Written atomically
// (a temp file beside it, fsync, rename, fsync of the directory); a missing, stale, foreign
// (another account or API URL) or corrupt file is ignored with one log line.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "refresh/fleet_state.hpp"
#include "refresh/policy.hpp"
#include "refresh/system_filter.hpp"
#include "tigo/model.hpp"
#include "util/result.hpp"

namespace refresh {

inline constexpr int kStateFormatVersion = 1;
// Far above what one account's budget keeps fresh (400 systems of 24 panels: about 3 MB), and
// small enough to read whole at start within the chart's memory limit.
inline constexpr std::size_t kMaxStateFileBytes = std::size_t{64} << 20;
inline constexpr std::chrono::minutes kStateSaveInterval{5};

struct SavedSystem {
  SystemState state;  // its zone and hierarchy are derived again when restored
  LearnedSystem learned;
};

struct SavedState {
  std::string identity;  // state_identity() of the process that wrote it
  Timestamp written_at{};
  std::optional<tigo::User> user;
  std::map<std::int64_t, std::string> object_types;
  std::map<std::int64_t, tigo::AlertType> alert_types;
  std::vector<SavedSystem> systems;  // ascending ids, no duplicates
};

// Hex SHA-256 of the API URL and the account (the username, or without one the token): a file
// written for another account or API is foreign. The password is never part of it, and neither
// the token nor the name can be read back from it.
std::string state_identity(std::string_view api_url, std::string_view username,
                           std::string_view token);

// The file's name in the --storage.path directory: one per shard, so shards may share it.
std::string state_file_name(const SystemFilter& systems);

// A copy of what a restart needs (under the refresher's lock; serialized outside it).
SavedState capture_state(const FleetState& fleet, const Policy& policy, std::string identity,
                         Timestamp now);

std::string serialize_state(const SavedState& state);
// Validates everything; any failure rejects the whole text, with the first reason. The fuzz
// targets' entry point: any input, no crash, bounded memory.
util::Result<SavedState> parse_state(std::string_view text);

struct RestoreOptions {
  std::string identity;
  Timestamp now{};
  std::chrono::seconds max_age{std::chrono::hours{6}};  // older files are stale
  SystemFilter systems;
};

// Into an empty fleet and policy: checks identity and age, then restores the wanted systems
// (hierarchy resolved again; values with the times they were confirmed at, for the staleness
// rule of build_snapshot to judge) and plans the budget. Returns the systems restored, or why
// the state is not used.
util::Result<std::size_t> restore_state(SavedState state, const RestoreOptions& options,
                                        FleetState& fleet, Policy& policy);

// Files. read: the whole file (at most kMaxStateFileBytes), parsed; a missing file says so.
util::Result<SavedState> read_state_file(const std::string& path);
// Atomic: the old file stays whole until the new one is complete on disk.
util::Result<std::size_t> write_state_file(const std::string& path, std::string_view text);
// The --storage.path directory: created if missing; an error when it is not a writable directory.
util::Result<bool> prepare_state_dir(const std::string& dir);

// read + restore with one log line, whatever happens. Returns the systems restored.
std::size_t load_state_file(const std::string& path, const RestoreOptions& options,
                            FleetState& fleet, Policy& policy);

}  // namespace refresh
