// What the client tells the world about each call, in a header of its own so that whoever
// observes calls (self-metrics) needs nothing else of the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tigo/model.hpp"

namespace tigo {

// Called from the calling threads, concurrently: implementations must be thread-safe.
struct CallObserver {
  virtual ~CallObserver() = default;
  // `code` is the HTTP status, or "error" for transport failures.
  virtual void on_call(std::string_view endpoint, std::string_view code, double seconds) = 0;
  virtual void on_login(bool success, std::optional<Timestamp> expires) = 0;
  virtual void on_rate_limit(std::optional<double> limit, std::optional<double> remaining,
                             std::optional<double> reset_seconds) = 0;
  // `kind` is to_string(CsvAnomaly); `count` > 0 for one answer.
  virtual void on_csv_anomaly(std::string_view /*endpoint*/, std::string_view /*kind*/,
                              std::uint64_t /*count*/) {}
};

}  // namespace tigo
