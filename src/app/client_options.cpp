#include "app/client_options.hpp"

#include <algorithm>
#include <memory>

namespace app {

tigo::ClientOptions client_options(const config::Config& cfg) {
  tigo::ClientOptions o;
  o.base_url = cfg.api_url;
  o.credentials = {cfg.username, cfg.password, cfg.token};
  o.password_file = cfg.password_file;
  o.token_file = cfg.token_file;
  o.timeout = cfg.timeout;
  o.ca_file = cfg.ca_file;
  o.concurrency = cfg.concurrency;
  o.rate_limit = cfg.rate_limit;
  // Transport errors and 5xx back off exponentially, but never past the shortest refresh
  // interval: once the API is back, every dataset recovers within one of its intervals.
  tigo::GovernorOptions g;
  g.requests_per_minute = cfg.rate_limit;
  g.backoff_cap = std::min({g.backoff_cap, cfg.panels_interval, cfg.sources_interval,
                            cfg.summary_interval, cfg.combined_interval, cfg.alerts_interval});
  o.governor = std::make_shared<tigo::Governor>(g);
  return o;
}

}  // namespace app
