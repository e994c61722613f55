#include "app/client_options.hpp"

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
  return o;
}

}  // namespace app
