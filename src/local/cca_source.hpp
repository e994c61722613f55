// One Cloud Connect Advanced's local web API as a source: polled on its own thread every
// interval (the CCA has each minute as it is measured), read into an immutable snapshot: per
// panel label the newest minute's power, input voltage and RSSI with that minute's UTC time,
// the panel's inverter and string, the system's energy today, and how the polling goes.
//
// A poll asks summary_jsconfig (the probe: one request while the CCA refuses us), summary_config
// (at the first poll and every layout_interval), summary_data of today (the device's local day
// at `now`) for pin, vin and rssi, and summary_energy. A refused connection or a 401 ends the
// poll; another status or a malformed body is counted and the poll goes on. What was read stays
// until read again: each value carries its own minute, so its age shows.
//
// Firmware 4.0.4 and later answer 401 to the local user: that is logged once (not per poll),
// flagged `locked`, and polled every locked_interval in case it is unlocked. The password is
// never logged nor written into an error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "local/cca_parse.hpp"

namespace local {

inline constexpr const char* kCcaUser = "Tigo";

struct CcaSourceOptions {
  std::string host;  // the CCA on the LAN: an address or a name
  int port = 80;
  std::string password;  // basic auth as kCcaUser; empty: none sent. Secret
  std::string zone;      // the system's IANA zone, in which the CCA's clock runs
  std::chrono::milliseconds interval{60'000};
  std::chrono::milliseconds locked_interval{15 * 60'000};  // after a 401
  // Connecting, each read and write, and a body's whole transfer: a request ends after it.
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds layout_interval{60 * 60'000};  // summary_config read again
  std::size_t max_body_bytes = kMaxCcaBodyBytes;
  // "Now": the day asked for and the time of a success. Empty: the system clock.
  std::function<std::chrono::system_clock::time_point()> now;
  std::string name;  // in logs; empty: "cca:HOST:PORT"
};

enum class CcaFailure {
  unreachable,   // no connection, or no complete answer within the timeout
  http_status,   // an answer other than 200 and 401
  unauthorized,  // 401: a wrong or missing password, or the firmware's lock
  malformed,     // a 200 whose body was refused (or larger than max_body_bytes)
};

std::string_view cca_failure_name(CcaFailure kind);

struct CcaHealth {
  std::uint64_t polls = 0;     // polls made (a poll stopped midway included)
  std::uint64_t requests = 0;  // requests sent
  // Failed requests by kind.
  std::uint64_t unreachable = 0;
  std::uint64_t http_status = 0;
  std::uint64_t unauthorized = 0;
  std::uint64_t malformed = 0;
  std::optional<std::chrono::sys_seconds> last_success;  // `now` of the last poll without a failure
  std::optional<CcaFailure> last_failure;                // of the newest failed request
  std::string last_error;  // the newest failure's text (endpoint and reason, never the password)
  // The last answer was 401: firmware 4.0.4 and later lock the local API (the CCA answers a wrong
  // password the same way), so polls come every locked_interval until an answer is 200.
  bool locked = false;
  std::chrono::milliseconds next_poll_in{0};  // the wait planned after the last poll

  std::uint64_t failures() const { return unreachable + http_status + unauthorized + malformed; }
};

struct CcaPanel {
  std::string label;
  std::string inverter;  // the inverter's label; empty when the string hangs on the system
  std::string string;    // the string's label; empty when summary_config does not list the panel
  std::optional<CcaPoint> power;    // W, of its newest minute in pin
  std::optional<CcaPoint> voltage;  // V (input), of its newest minute in vin
  std::optional<CcaPoint> rssi;     // 0..255, of its newest minute in rssi
};

struct CcaSnapshot {
  std::string name;
  // The layout's panels in order, then the labels only the data name, sorted.
  std::vector<CcaPanel> panels;
  std::optional<CcaLayout> layout;
  std::optional<std::chrono::local_days> day;          // the local day the data were asked for
  std::optional<std::chrono::sys_seconds> last_data;   // pin's lastData, UTC
  std::optional<std::chrono::local_days> device_date;  // summary_jsconfig's sDate
  std::optional<double> energy_today_wh;               // summary_energy's row of `day`
  CcaHealth health;

  const CcaPanel* find(std::string_view label) const;
};

class CcaSource {
 public:
  // Throws std::invalid_argument on an empty host, a port outside 1..65535, an unknown zone or a
  // zero interval or timeout (settings the flags must have checked).
  explicit CcaSource(CcaSourceOptions options);
  ~CcaSource();  // stop()
  CcaSource(const CcaSource&) = delete;
  CcaSource& operator=(const CcaSource&) = delete;

  void start();  // the polling thread, first poll at once; once
  // Ends the thread promptly: a request in flight is cut off, the wait between polls ended.
  void stop();
  // One poll on the caller's thread (one poll at a time: it waits for the thread's). Does
  // nothing once stopped.
  void poll_once();

  std::shared_ptr<const CcaSnapshot> snapshot() const;
  const std::string& name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace local
