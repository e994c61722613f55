// When minute data reaches the cloud: each gateway uploads a batch every upload interval (at a
// per-system phase); a batch holds the minutes before its upload and becomes visible after the
// data delay, a few batches another half hour later (in order: a late batch holds back the ones
// behind it). A stalled gateway uploads nothing after its fault's onset.
#pragma once

#include <chrono>

#include "sim/model.hpp"

namespace sim {

struct UploadOptions {
  std::chrono::seconds interval{600};
  std::chrono::seconds delay{600};
  bool late_batches = true;  // quirk: about 1 batch in 20 arrives 30 minutes later still
};

struct DataAvailability {
  std::chrono::sys_seconds last_min{};      // newest minute of panel data visible
  std::chrono::sys_seconds last_checkin{};  // gateway's last contact
  std::chrono::sys_seconds sensor_last{};   // newest minute of the gateway's own sensor column
  bool stalled = false;
};

DataAvailability availability(const SystemContext& c, std::chrono::sys_seconds now,
                              const UploadOptions& o);

inline constexpr std::chrono::seconds kLateBatchExtra{1800};

}  // namespace sim
