#include "web/web_config.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace web {

util::Result<WebConfig> parse_web_config(const std::string& yaml, const std::string& origin) {
  // yaml-cpp reports errors by exception; this runs once at start-up, so they end here.
  try {
    const YAML::Node root = YAML::Load(yaml);
    WebConfig cfg;
    if (!root || root.IsNull()) return cfg;
    if (!root.IsMap()) return util::make_error(origin + ": expected a mapping at the top");
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      if (key != "tls_server_config" && key != "basic_auth_users" && key != "http_server_config")
        return util::make_error(origin + ": unknown key \"" + key + "\"");
    }
    if (const auto tls = root["tls_server_config"]; tls && !tls.IsNull()) {
      TlsConfig t;
      if (tls["cert_file"]) t.cert_file = tls["cert_file"].as<std::string>();
      if (tls["key_file"]) t.key_file = tls["key_file"].as<std::string>();
      if (t.cert_file.empty() || t.key_file.empty())
        return util::make_error(origin + ": tls_server_config needs cert_file and key_file");
      // Relative paths are relative to the config file, as in the exporter toolkit.
      const auto dir = std::filesystem::path(origin).parent_path();
      for (auto* f : {&t.cert_file, &t.key_file}) {
        if (std::filesystem::path(*f).is_relative() && !dir.empty()) *f = (dir / *f).string();
        if (!std::ifstream(*f)) return util::make_error(origin + ": cannot read " + *f);
      }
      cfg.tls = t;
    }
    if (const auto users = root["basic_auth_users"]; users && !users.IsNull()) {
      if (!users.IsMap()) return util::make_error(origin + ": basic_auth_users must be a mapping");
      for (const auto& kv : users) {
        const auto user = kv.first.as<std::string>();
        const auto hash = kv.second.as<std::string>();
        if (!(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")))
          return util::make_error(origin + ": the password of \"" + user +
                                  "\" is not a bcrypt hash");
        cfg.basic_auth_users[user] = hash;
      }
    }
    return cfg;
  } catch (const YAML::Exception& e) {
    return util::make_error(origin + ": " + e.what());
  }
}

util::Result<WebConfig> load_web_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return util::make_error(path + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_web_config(ss.str(), path);
}

}  // namespace web
