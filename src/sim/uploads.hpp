// When minute data reaches the cloud. Each gateway uploads a batch now and then; a batch holds the
// minutes since the gateway's previous upload and becomes visible after the data delay, a few
// batches another half hour later. Batches become visible in order: a late batch holds back the
// ones behind it. A stalled gateway uploads nothing after its fault's onset.
//
// Irregular arrivals (the default), as real gateways are reported to behave, for an upload
// interval I (default 10 min): each gateway keeps its own cadence between I and 1.5 I (10-15 min)
// at its own phase; each upload lands up to I/5 (2 min) before or after its slot; about one
// upload in 12 is missed and its minutes come with the next upload (never two missed in a row).
// Periodic arrivals: every gateway uploads exactly every I at a whole-minute phase.
// Everything is a pure function of the system's seed and the batch's number.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sim/model.hpp"

namespace sim {

enum class Arrivals { Irregular, Periodic };
// "irregular" | "periodic".
std::optional<Arrivals> parse_arrivals(std::string_view text);

struct UploadOptions {
  std::chrono::seconds interval{600};
  std::chrono::seconds delay{600};
  bool late_batches = true;  // quirk: about 1 batch in 20 arrives 30 minutes later still
  Arrivals arrivals = Arrivals::Irregular;
};

inline constexpr std::chrono::seconds kLateBatchExtra{1800};
inline constexpr int kLateOneIn = 20;    // late batches: about one in this many
inline constexpr int kMissedOneIn = 12;  // irregular arrivals: missed uploads, about one in this

// A gateway's upload rhythm: upload k is due at k x cadence + phase and lands within +-jitter.
struct UploadCadence {
  std::chrono::seconds cadence{};
  std::chrono::seconds phase{};   // in [0, cadence)
  std::chrono::seconds jitter{};  // 0 for periodic arrivals
};
UploadCadence upload_cadence(const SystemContext& c, const UploadOptions& o);

// One upload of a gateway and when the API serves its minutes.
struct Batch {
  std::int64_t number = 0;               // k: consecutive per gateway
  std::chrono::sys_seconds uploaded{};   // when the gateway sent it (a missed one: its slot)
  std::chrono::sys_seconds first_min{};  // the minutes it holds, first_min..last_min
  std::chrono::sys_seconds last_min{};   //   (the minute before the upload)
  std::chrono::sys_seconds visible{};    // when the API first serves them
  bool missed = false;                   // its minutes came with the next upload
  bool late = false;                     // held back kLateBatchExtra (itself or its carrier)
};

// The batches whose minutes became visible in [from, to), in order (several can share a
// `visible`: a missed one with its carrier, those held behind a late one). The model of arrivals
// without HTTP: availability(c, t).last_min is the last_min of the last batch visible at t. A
// stalled gateway's batches end with the minute before its fault's onset.
std::vector<Batch> arrivals(const SystemContext& c, std::chrono::sys_seconds from,
                            std::chrono::sys_seconds to, const UploadOptions& o);

struct DataAvailability {
  std::chrono::sys_seconds last_min{};      // newest minute of panel data visible
  std::chrono::sys_seconds last_checkin{};  // gateway's last contact
  std::chrono::sys_seconds sensor_last{};   // newest minute of the gateway's own sensor column
  bool stalled = false;
};

DataAvailability availability(const SystemContext& c, std::chrono::sys_seconds now,
                              const UploadOptions& o);

}  // namespace sim
