// The tigo::Client settings of the --tigo.* flags, shared by the exporter and the backfill.
#pragma once

#include "config/config.hpp"
#include "tigo/client.hpp"

namespace app {

tigo::ClientOptions client_options(const config::Config& cfg);

}  // namespace app
