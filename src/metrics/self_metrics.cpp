#include "metrics/self_metrics.hpp"

#include <prometheus/metric_family.h>

#include "metrics/family_table.hpp"
#include "tigo/csv.hpp"

namespace metrics {
namespace {

std::string help_of(const FamilySpec& f) { return std::string(f.help); }

prometheus::Gauge& single_gauge(prometheus::Registry& r, const FamilySpec& f) {
  return prometheus::BuildGauge().Name(std::string(f.name)).Help(help_of(f)).Register(r).Add({});
}

}  // namespace

SelfMetrics::SelfMetrics(const BuildInfo& build)
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("tigo_api_requests_total")
                    .Help(help_of(family_spec("tigo_api_requests_total")))
                    .Register(*registry_)),
      durations_(prometheus::BuildHistogram()
                     .Name("tigo_api_request_duration_seconds")
                     .Help(help_of(family_spec("tigo_api_request_duration_seconds")))
                     .Register(*registry_)),
      logins_(prometheus::BuildCounter()
                  .Name("tigo_api_logins_total")
                  .Help(help_of(family_spec("tigo_api_logins_total")))
                  .Register(*registry_)),
      csv_anomalies_(prometheus::BuildCounter()
                         .Name("tigo_api_csv_anomalies_total")
                         .Help(help_of(family_spec("tigo_api_csv_anomalies_total")))
                         .Register(*registry_)),
      token_expiry_(
          single_gauge(*registry_, family_spec("tigo_api_token_expiry_timestamp_seconds"))),
      limit_(single_gauge(*registry_, family_spec("tigo_api_rate_limit_limit"))),
      remaining_(single_gauge(*registry_, family_spec("tigo_api_rate_limit_remaining"))),
      reset_(single_gauge(*registry_, family_spec("tigo_api_rate_limit_reset_seconds"))) {
  prometheus::BuildGauge()
      .Name("tigo_exporter_build_info")
      .Help(help_of(family_spec("tigo_exporter_build_info")))
      .Register(*registry_)
      .Add({{"version", build.version}, {"revision", build.revision}, {"compiler", build.compiler}})
      .Set(1);
  // Label sets known in advance are present from the start, at 0.
  logins_.Add({{"result", "success"}});
  logins_.Add({{"result", "failure"}});
  for (auto endpoint : tigo::kCsvEndpoints)
    for (auto kind : tigo::kAllCsvAnomalies)
      csv_anomalies_.Add(
          {{"endpoint", std::string(endpoint)}, {"kind", std::string(tigo::to_string(kind))}});
}

void SelfMetrics::on_call(std::string_view endpoint, std::string_view code, double seconds) {
  requests_.Add({{"endpoint", std::string(endpoint)}, {"code", std::string(code)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.05, 0.1, 0.25, 0.5, 1,
                                                                   2.5,  5,   10,   30};
  durations_.Add({{"endpoint", std::string(endpoint)}}, kBuckets).Observe(seconds);
}

void SelfMetrics::on_login(bool success, std::optional<tigo::Timestamp> expires) {
  logins_.Add({{"result", success ? "success" : "failure"}}).Increment();
  if (success && expires)
    token_expiry_.Set(static_cast<double>(expires->time_since_epoch().count()));
}

void SelfMetrics::on_rate_limit(std::optional<double> limit, std::optional<double> remaining,
                                std::optional<double> reset_seconds) {
  if (limit) limit_.Set(*limit);
  if (remaining) remaining_.Set(*remaining);
  if (reset_seconds) reset_.Set(*reset_seconds);
}

void SelfMetrics::on_csv_anomaly(std::string_view endpoint, std::string_view kind,
                                 std::uint64_t count) {
  csv_anomalies_.Add({{"endpoint", std::string(endpoint)}, {"kind", std::string(kind)}})
      .Increment(static_cast<double>(count));
}

std::string SelfMetrics::render(Format format) const {
  std::string out;
  TextWriter w(out);
  for (const auto& family : registry_->Collect()) {
    const FamilySpec* spec = find_family(family.name);
    const std::string_view type = family.type == prometheus::MetricType::Counter     ? "counter"
                                  : family.type == prometheus::MetricType::Histogram ? "histogram"
                                                                                     : "gauge";
    append_family_header(
        out, spec != nullptr ? header_of(*spec) : FamilyHeader{family.name, type, "", family.help},
        format);
    for (const auto& m : family.metric) {
      LabelBlock labels;
      for (const auto& l : m.label) labels.add(l.name, l.value);
      switch (family.type) {
        case prometheus::MetricType::Counter:
          w.sample_prerendered(family.name, labels.str(), m.counter.value);
          break;
        case prometheus::MetricType::Histogram: {
          const std::string bucket = family.name + "_bucket";
          for (const auto& b : m.histogram.bucket) {
            LabelBlock with_le = labels;
            std::string le;
            append_value(le, b.upper_bound);
            with_le.add("le", le);
            w.sample_prerendered(bucket, with_le.str(), static_cast<double>(b.cumulative_count));
          }
          w.sample_prerendered(family.name + "_sum", labels.str(), m.histogram.sample_sum);
          w.sample_prerendered(family.name + "_count", labels.str(),
                               static_cast<double>(m.histogram.sample_count));
          break;
        }
        default:
          w.sample_prerendered(family.name, labels.str(), m.gauge.value);
          break;
      }
    }
  }
  return out;
}

}  // namespace metrics
