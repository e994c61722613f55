// The exporter's self-metrics: exact names, labels and HELP of the family table's tigo_api_* rows.
#include "metrics/self_metrics.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "util/time.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("self-metrics: every family with HELP and TYPE", "[metrics][self]") {
  metrics::SelfMetrics m({"0.1.0", "abc123", "gcc 12"});
  m.on_call("data/summary", "200", 0.2);
  m.on_call("data/summary", "200", 0.3);
  m.on_call("users/login", "error", 30);
  m.on_login(true, util::parse_iso8601("2026-09-30T04:18:00Z"));
  m.on_login(false, std::nullopt);
  m.on_rate_limit(100.0, 42.0, 17.0);
  m.on_csv_anomaly("data/aggregate", "future_row", 2);
  m.on_csv_anomaly("data/aggregate", "future_row", 1);
  m.on_csv_anomaly("data/combined", "header_only", 1);
  m.on_web_auth_failure("invalid");
  m.on_web_auth_failure("invalid");
  m.on_web_auth_failure("missing");
  const auto text = m.render();
  INFO(text);

  const std::vector<std::pair<std::string, std::string>> families = {
      {"tigo_exporter_build_info", "gauge"},
      {"tigo_api_requests_total", "counter"},
      {"tigo_api_request_duration_seconds", "histogram"},
      {"tigo_api_rate_limit_limit", "gauge"},
      {"tigo_api_rate_limit_remaining", "gauge"},
      {"tigo_api_rate_limit_reset_seconds", "gauge"},
      {"tigo_api_logins_total", "counter"},
      {"tigo_api_token_expiry_timestamp_seconds", "gauge"},
      {"tigo_api_csv_anomalies_total", "counter"},
      {"tigo_exporter_web_auth_failures_total", "counter"},
  };
  for (const auto& [name, type] : families) {
    INFO(name);
    CHECK(has_line(text, "# TYPE " + name + " " + type));
    bool help = false;
    for (const auto& l : lines_of(text)) {
      if (l.rfind("# HELP " + name + " ", 0) == 0) {
        help = true;
        CHECK(l.size() > name.size() + 12);
        CHECK(l.find('\\') == std::string::npos);
      }
    }
    CHECK(help);
  }
  // No family beyond these rows of the family table.
  std::set<std::string> typed;
  for (const auto& l : lines_of(text)) {
    if (l.rfind("# TYPE ", 0) == 0) typed.insert(l.substr(7, l.find(' ', 7) - 7));
  }
  CHECK(typed.size() == families.size());

  CHECK(has_line(
      text, R"(tigo_exporter_build_info{compiler="gcc 12",revision="abc123",version="0.1.0"} 1)"));
  CHECK(has_line(text, R"(tigo_api_requests_total{code="200",endpoint="data/summary"} 2)"));
  CHECK(has_line(text, R"(tigo_api_requests_total{code="error",endpoint="users/login"} 1)"));
  CHECK(has_line(text, R"(tigo_api_request_duration_seconds_count{endpoint="data/summary"} 2)"));
  CHECK(has_line(text, R"(tigo_api_request_duration_seconds_sum{endpoint="data/summary"} 0.5)"));
  CHECK(has_line(
      text, R"(tigo_api_request_duration_seconds_bucket{endpoint="data/summary",le="0.25"} 1)"));
  CHECK(has_line(
      text, R"(tigo_api_request_duration_seconds_bucket{endpoint="users/login",le="+Inf"} 1)"));
  CHECK(has_line(text, "tigo_api_rate_limit_limit 100"));
  CHECK(has_line(text, "tigo_api_rate_limit_remaining 42"));
  CHECK(has_line(text, "tigo_api_rate_limit_reset_seconds 17"));
  CHECK(has_line(text, R"(tigo_api_logins_total{result="success"} 1)"));
  CHECK(has_line(text, R"(tigo_api_logins_total{result="failure"} 1)"));
  CHECK(has_line(text, "tigo_api_token_expiry_timestamp_seconds 1790741880"));
  CHECK(has_line(text,
                 R"(tigo_api_csv_anomalies_total{endpoint="data/aggregate",kind="future_row"} 3)"));
  CHECK(has_line(text,
                 R"(tigo_api_csv_anomalies_total{endpoint="data/combined",kind="header_only"} 1)"));
  CHECK(has_line(text, R"(tigo_exporter_web_auth_failures_total{reason="invalid"} 2)"));
  CHECK(has_line(text, R"(tigo_exporter_web_auth_failures_total{reason="missing"} 1)"));
}

TEST_CASE("self-metrics before any call: known label sets at zero, no request series",
          "[metrics][self]") {
  metrics::SelfMetrics m({"0.1.0", "abc123", "gcc 12"});
  const auto text = m.render();
  CHECK(has_line(text, R"(tigo_api_logins_total{result="success"} 0)"));
  CHECK(has_line(text, R"(tigo_api_logins_total{result="failure"} 0)"));
  // Both CSV endpoints times the four kinds, so a dashboard's rate() shows 0, not "No data".
  int anomaly_series = 0;
  for (const auto& l : lines_of(text))
    anomaly_series += l.rfind("tigo_api_csv_anomalies_total{", 0) == 0;
  CHECK(anomaly_series == 8);
  CHECK(has_line(
      text, R"(tigo_api_csv_anomalies_total{endpoint="data/combined",kind="unknown_column"} 0)"));
  CHECK(has_line(
      text, R"(tigo_api_csv_anomalies_total{endpoint="data/aggregate",kind="header_only"} 0)"));
  CHECK(text.find("tigo_api_requests_total{") == std::string::npos);
  CHECK(has_line(text, R"(tigo_exporter_web_auth_failures_total{reason="missing"} 0)"));
  CHECK(has_line(text, R"(tigo_exporter_web_auth_failures_total{reason="invalid"} 0)"));
  // A failed login leaves the known expiry alone.
  m.on_login(true, util::parse_iso8601("2026-01-01T00:00:00Z"));
  m.on_login(false, std::nullopt);
  CHECK(has_line(m.render(), "tigo_api_token_expiry_timestamp_seconds 1767225600"));
}
