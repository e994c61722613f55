#include "app/landing.hpp"

#include "util/time.hpp"

namespace app {
namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string state_cell(const refresh::DatasetState& st) {
  if (!st.attempted) return "-";
  std::string cell = st.success ? "ok" : (st.last_success ? "failing" : "never succeeded");
  if (st.last_success) cell += ", last success " + util::format_iso8601_utc(*st.last_success);
  if (!st.last_error.empty()) cell += ": " + st.last_error;
  return html_escape(cell);
}

}  // namespace

std::string login_line(const tigo::LoginState& login) {
  std::string line = "Login (" + login.mode + "): ";
  if (!login.last_attempt) {
    line += login.mode == "token" ? "pre-issued token in use" : "not yet";
  } else if (login.last_ok) {
    line += "ok at " + util::format_iso8601_utc(*login.last_attempt);
  } else {
    line += "failed at " + util::format_iso8601_utc(*login.last_attempt) + ": " + login.last_error;
  }
  if (login.token_expires)
    line += ", token expires " + util::format_iso8601_utc(*login.token_expires);
  if (login.next_attempt)
    line += ", next attempt not before " + util::format_iso8601_utc(*login.next_attempt);
  return line + ".";
}

std::string landing_html(const refresh::Snapshot& snap, const std::string& telemetry_path,
                         const std::string& version, const tigo::LoginState& login) {
  std::string out =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Tigo Exporter</title></head>"
      "<body><h1>Tigo Exporter</h1><p>" +
      html_escape(version) + "</p><ul><li><a href=\"" + html_escape(telemetry_path) +
      "\">Metrics</a></li><li><a href=\"/-/healthy\">Health</a></li>"
      "<li><a href=\"/-/ready\">Readiness</a></li></ul>";
  out += "<p>Snapshot " + std::to_string(snap.generation) + ", built " +
         (snap.generation ? util::format_iso8601_utc(snap.built_at) : std::string("never")) + ", " +
         (snap.ready ? "ready" : "not ready yet") + ".</p>";
  out += "<p>" + html_escape(login_line(login)) + "</p>";
  out += "<table border=\"1\"><tr><th>system</th><th>name</th>";
  for (auto d : refresh::kAllDatasets)
    out += "<th>" + std::string(refresh::dataset_name(d)) + "</th>";
  out += "</tr>";
  for (const auto& e : snap.systems) {
    out += "<tr><td>" + std::to_string(e.system.system_id) + "</td><td>" +
           html_escape(e.system.name) + "</td>";
    for (auto d : refresh::kAllDatasets) out += "<td>" + state_cell(e.state(d)) + "</td>";
    out += "</tr>";
  }
  out += "</table></body></html>\n";
  return out;
}

}  // namespace app
