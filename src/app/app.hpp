// Wires Config -> (demo simulator) -> Client -> Refresher -> rendered exposition -> web Server,
// and runs until SIGINT/SIGTERM (SIGHUP re-reads --web.config.file).
#pragma once

#include "config/config.hpp"

namespace app {

// Returns the process exit code.
int run(const config::Config& config);

// `tigo_exporter backfill` (config.backfill is set): 0 when every system was written, 1 when one
// failed (what succeeded is still written) or nothing could be, 2 when the output cannot be made.
int run_backfill(const config::Config& config);

}  // namespace app
