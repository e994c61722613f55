// The exporter's own counters and gauges (API calls, logins, rate limit, build info), kept in a
// prometheus-cpp Registry and serialized per scrape: they are few and change between scrapes.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <string>

#include "metrics/exposition.hpp"
#include "tigo/call_observer.hpp"

namespace metrics {

struct BuildInfo {
  std::string version;
  std::string revision;
  std::string compiler;
};

class SelfMetrics : public tigo::CallObserver {
 public:
  explicit SelfMetrics(const BuildInfo& build);

  void on_call(std::string_view endpoint, std::string_view code, double seconds) override;
  void on_login(bool success, std::optional<tigo::Timestamp> expires) override;
  void on_rate_limit(std::optional<double> limit, std::optional<double> remaining,
                     std::optional<double> reset_seconds) override;
  void on_csv_anomaly(std::string_view endpoint, std::string_view kind,
                      std::uint64_t count) override;

  // Every family in the registry, with the family table's metadata, in either format (without
  // OpenMetrics' `# EOF`: these lines go at the end of the fleet's).
  std::string render(Format format = Format::text) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Counter>& logins_;
  prometheus::Family<prometheus::Counter>& csv_anomalies_;
  prometheus::Gauge& token_expiry_;
  prometheus::Gauge& limit_;
  prometheus::Gauge& remaining_;
  prometheus::Gauge& reset_;
};

}  // namespace metrics
