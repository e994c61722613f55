// The pages' stylesheet and scripts, compiled into the binary from src/pages/static/ (the
// exporter must work in an air-gapped cluster: no file to deploy, nothing from a CDN).
#pragma once

#include <optional>
#include <string_view>

namespace pages {

struct Asset {
  std::string_view content_type;
  std::string_view body;
};

// The asset served at static/<name>, if there is one.
std::optional<Asset> asset(std::string_view name);

}  // namespace pages
