// The --web.config.file loader on the file's text. The origin is a path in a folder that does not
// exist, so a TLS section's relative cert and key paths resolve to nothing readable.
#include "web/web_config.hpp"

#include <string>

#include "targets.hpp"

namespace fuzz {

void run_web_config(std::string_view input) {
  const std::string origin = "/nonexistent-fuzz-dir/web.yml";
  const auto config = web::parse_web_config(std::string(input), origin);
  if (!config.ok()) {
    require(config.error().message.starts_with(origin + ": "), "error does not name the file");
    return;
  }
  for (const auto& [user, hash] : config->basic_auth_users) {
    require(hash.starts_with("$2"), "user " + user + " kept with a hash that is not bcrypt");
  }
}

}  // namespace fuzz
