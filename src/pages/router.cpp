#include "pages/router.hpp"

#include <charconv>
#include <optional>

#include "pages/assets.hpp"
#include "pages/panel_map.hpp"
#include "pages/status.hpp"

namespace pages {
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kText = "text/plain; charset=utf-8";

// The id after `prefix`, digits only.
std::optional<std::int64_t> id_after(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return std::nullopt;
  path.remove_prefix(prefix.size());
  if (path.empty() || path.size() > 18) return std::nullopt;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), id);
  if (ec != std::errc{} || end != path.data() + path.size() || id < 0) return std::nullopt;
  return id;
}

Answer not_found(std::string text) { return {404, kText, std::move(text), "no-store"}; }

}  // namespace

Answer serve(const refresh::Snapshot& snap, Timestamp now, const Request& req, const Site& site) {
  MapOptions map{site.thresholds, site.refresh_seconds, site.version};
  if (req.path == "/") {
    StatusOptions o;
    o.thresholds = site.thresholds;
    o.telemetry_path = site.telemetry_path;
    o.version = site.version;
    o.session = site.session;
    o.query = req.query;
    return {200, kHtml, status_html(snap, now, o), "no-store"};
  }
  if (auto id = id_after(req.path, "/systems/")) {
    if (auto html = panel_map_html(snap, *id, now, map))
      return {200, kHtml, std::move(*html), "no-store"};
    return not_found("No system " + std::to_string(*id) + " in the exporter's snapshot.\n");
  }
  if (auto id = id_after(req.path, "/api/systems/")) {
    if (auto json = panel_map_json(snap, *id, now, map))
      return {200, "application/json", std::move(*json), "no-store"};
    return not_found("No system " + std::to_string(*id) + " in the exporter's snapshot.\n");
  }
  if (req.path.starts_with("/static/")) {
    if (auto a = asset(std::string_view(req.path).substr(8)))
      return {200, std::string(a->content_type), std::string(a->body), "max-age=300"};
  }
  return not_found("Not found.\n");
}

}  // namespace pages
