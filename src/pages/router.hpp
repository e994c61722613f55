// Which page answers a path: / (status), /systems/{id} (panel map), /api/systems/{id} (its
// JSON), /static/{name} (stylesheet and scripts). Everything is drawn from the snapshot given;
// the web server only carries the answer.
#pragma once

#include <string>

#include "pages/view.hpp"
#include "refresh/snapshot.hpp"

namespace pages {

struct Request {
  std::string path;
  std::string query;  // the decoded ?q= value
};

struct Answer {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string cache_control;
};

struct Site {
  Thresholds thresholds;
  std::string telemetry_path = "/metrics";
  std::string version;
  int refresh_seconds = 30;
  std::string session;  // one line about the API session (login state), shown on /
};

Answer serve(const refresh::Snapshot& snap, Timestamp now, const Request& req, const Site& site);

}  // namespace pages
