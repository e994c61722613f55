// What the bus told us: per (gateway id, node id) the newest power report and when it arrived,
// the node -> hardware address map learned from infrastructure reports, and counters. Fed by a
// line source's thread, read by anyone through immutable snapshots. Bounded: at most
// BusLimits::max_nodes nodes, so garbage ids cannot grow memory without end.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "local/barcode.hpp"
#include "local/taptap_event.hpp"

namespace local {

struct ReceiveTime {
  std::chrono::steady_clock::time_point steady{};
  std::chrono::system_clock::time_point wall{};
  static ReceiveTime now() {
    return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
  }
  bool operator==(const ReceiveTime&) const = default;
};

struct BusNode {
  std::int64_t gateway = 0;
  std::int64_t node = 0;
  std::optional<Address> address;      // learned (infrastructure report, or the report's object)
  std::optional<PowerReport> reading;  // the newest; none yet, or dropped when the id changed hands
  ReceiveTime received;                // of `reading`
};

struct BusCounters {
  std::uint64_t lines = 0;  // every line handed in, good or not (oversized ones are not read)
  std::uint64_t power_reports = 0;
  std::uint64_t infrastructure_reports = 0;
  std::uint64_t unknown_events = 0;
  std::uint64_t malformed_lines = 0;
  std::uint64_t oversized_lines = 0;  // skipped whole by the source, over kMaxLineBytes
  std::uint64_t partial_lines = 0;    // cut by a disconnect or an exit, dropped (not malformed)
  std::uint64_t address_changes = 0;  // a node id that now names another address
  std::uint64_t nodes_refused = 0;    // reports of new nodes past max_nodes
  bool operator==(const BusCounters&) const = default;
};

struct BusSnapshot {
  std::vector<BusNode> nodes;                    // by (gateway, node)
  std::map<std::int64_t, GatewayInfo> gateways;  // by gateway id
  BusCounters counters;
  std::map<std::string, std::uint64_t> unknown_event_types;  // at most max_unknown_types names
  bool connected = false;                                    // the source's last word
  std::optional<ReceiveTime> last_event_received;            // of any event that parsed
  std::optional<Microseconds> newest_report_time;            // the latest measurement time seen
  std::size_t nodes_heard_recently = 0;  // nodes with a reading received within heard_window
  std::string last_refusal;              // why the newest malformed line was refused
  // Bumped whenever a node's address changes (learned, moved, imported): a match of cloud
  // serials to nodes made at one value holds until it changes.
  std::uint64_t addresses_version = 0;

  const BusNode* find(std::int64_t gateway, std::int64_t node) const;
  // The node whose address a cloud serial names (barcode, full or partial hex: serial_pattern);
  // nullptr when none does, or more than one (a partial hex that is ambiguous names nobody).
  const BusNode* find_serial(std::string_view serial) const;
};

struct BusLimits {
  std::size_t max_nodes = 100'000;
  std::size_t max_gateways = 1'024;
  std::size_t max_unknown_types = 16;  // further names count under "other"
  std::chrono::seconds heard_window{60};
  std::chrono::seconds refusal_log_interval{60};  // malformed lines: one warning per interval
};

// The node -> address map as the state file keeps it.
struct LearnedAddress {
  std::int64_t gateway = 0;
  std::int64_t node = 0;
  Address address = 0;
  bool operator==(const LearnedAddress&) const = default;
};

class BusState {
 public:
  explicit BusState(BusLimits limits = {}, std::string source_name = "bus");

  // A line from a source: parsed (outside the lock) and applied; a refused one is counted and
  // logged (at most once per refusal_log_interval). Blank lines are skipped.
  void apply_line(std::string_view line, ReceiveTime received);
  void apply(const Event& event, ReceiveTime received);
  void note_oversized_line();
  void note_partial_line();
  void set_connected(bool connected);

  // A copy of everything, immutable; nodes_heard_recently counts from `now`.
  std::shared_ptr<const BusSnapshot> snapshot(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const;

  // The learned node -> address map, and a map to start from (the state file's): an imported
  // entry fills only what the bus has not said since, and never moves a known address.
  std::vector<LearnedAddress> export_addresses() const;
  void import_addresses(const std::vector<LearnedAddress>& learned);

  // Changes whenever anything a snapshot shows may have changed (a line, a connection): readers
  // poll it to take a snapshot only when there is news.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  struct Key {
    std::int64_t gateway = 0;
    std::int64_t node = 0;
    bool operator<(const Key& o) const {
      return gateway != o.gateway ? gateway < o.gateway : node < o.node;
    }
    bool operator==(const Key&) const = default;
  };
  struct Entry {
    std::optional<Address> address;
    std::optional<PowerReport> reading;
    ReceiveTime received;
  };

  Entry* entry_for(Key key);  // creates within max_nodes; nullptr past it
  void learn_address(Key key, Address address, bool imported);
  void apply_locked(const Event& event, ReceiveTime received);
  void refuse_locked(std::string_view reason, ReceiveTime received);

  const BusLimits limits_;
  const std::string source_name_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> nodes_;
  std::map<Address, Key> node_of_address_;
  std::map<std::int64_t, GatewayInfo> gateways_;
  BusCounters counters_;
  std::map<std::string, std::uint64_t> unknown_event_types_;
  bool connected_ = false;
  std::optional<ReceiveTime> last_event_received_;
  std::optional<Microseconds> newest_report_time_;
  std::string last_refusal_;
  std::optional<std::chrono::steady_clock::time_point> last_refusal_log_;
  std::uint64_t refusals_since_log_ = 0;
  bool cap_logged_ = false;
  std::uint64_t addresses_version_ = 0;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace local
