// `tigo_exporter backfill`: historical minute and hourly data of every selected system as one
// OpenMetrics file with timestamps, for `promtool tsdb create-blocks-from openmetrics`.
//
// Per system: objects/system and systems/layout once (the refresher's hierarchy resolution gives
// the same labels as /metrics), then per chunk of site-local days data/aggregate level=min for
// every param of tigo::kPanelParams (Temp only answers where the system has it), data/combined
// level=minute (per day, at most 24 h a call) and level=hour for the system, inverter and string
// objects. Every call goes through the one tigo::Client, so its governor keeps the rate limit;
// failed calls are retried a few times (the governor backs off), then the system counts as
// failed and the rest is still written.
//
// Families: the rows of metrics::kFamilies marked `backfilled`, with their names, units and HELP
// (the same as /metrics): tigo_system_dc_power_watts, tigo_object_power_watts and the panel value
// families per minute, tigo_system_dc_energy_today_joules and tigo_object_energy_today_joules
// per hour.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "refresh/system_filter.hpp"
#include "tigo/client.hpp"

namespace backfill {

using Timestamp = std::chrono::sys_seconds;

// from (inclusive), to (exclusive), output and chunk_days as the subcommand's flags give them.
struct Options : config::BackfillConfig {
  refresh::SystemFilter systems;
  int attempts = 4;  // per call, for transient failures (transport, 5xx, 429, bad body)
  std::chrono::seconds progress_every{30};
};

struct SystemOutcome {
  std::int64_t system_id = 0;
  bool ok = true;
  std::string error;  // the last failure, no secrets
  std::size_t calls = 0;
  std::size_t failed_calls = 0;
  std::size_t rows = 0;     // CSV rows read
  std::size_t samples = 0;  // lines written
};

struct Outcome {
  bool written = false;      // the output file exists now
  bool setup_error = false;  // the output cannot be written at all (a usage error)
  bool cancelled = false;
  std::string error;  // why nothing was written, if so
  std::vector<SystemOutcome> systems;
  std::size_t calls = 0;
  std::size_t samples = 0;
  std::uint64_t bytes = 0;

  bool all_ok() const;
};

Outcome run(tigo::Client& client, const Options& options, std::stop_token stop = {});

}  // namespace backfill
