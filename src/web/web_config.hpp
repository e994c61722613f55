// The exporter-toolkit style --web.config.file: TLS for the listener and bcrypt basic auth.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace web {

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
};

struct WebConfig {
  std::optional<TlsConfig> tls;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

// Reads and checks the YAML file; the error names the file and the problem.
util::Result<WebConfig> load_web_config(const std::string& path);
util::Result<WebConfig> parse_web_config(const std::string& yaml, const std::string& origin);

}  // namespace web
