// Wires Config -> (demo simulator) -> Client -> Refresher -> rendered exposition -> web Server,
// and runs until SIGINT/SIGTERM.
#pragma once

#include "config/config.hpp"

namespace app {

// Returns the process exit code.
int run(const config::Config& config);

}  // namespace app
