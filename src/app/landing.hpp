// The landing page: links and the state of each dataset. Never shows credentials.
#pragma once

#include <string>

#include "refresh/snapshot.hpp"
#include "tigo/client.hpp"

namespace app {

std::string landing_html(const refresh::Snapshot& snap, const std::string& telemetry_path,
                         const std::string& version, const tigo::LoginState& login);

// One line about the session: "Login (password): ok at ..., token expires ...", or the last
// refusal and the next attempt. Plain text (not escaped).
std::string login_line(const tigo::LoginState& login);

}  // namespace app
