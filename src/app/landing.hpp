// The landing page: links and the state of each dataset. Never shows credentials.
#pragma once

#include <string>

#include "refresh/snapshot.hpp"

namespace app {

std::string landing_html(const refresh::Snapshot& snap, const std::string& telemetry_path,
                         const std::string& version);

}  // namespace app
