#include "local/bus_state.hpp"

#include <algorithm>

#include "util/log.hpp"

namespace local {
namespace {

// A name safe as a metric label value and in a log line.
std::string plain_type_name(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '.' || c == '-';
    out += plain ? c : '_';
  }
  return out.empty() ? "_" : out;
}

bool blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

const BusNode* BusSnapshot::find(std::int64_t gateway, std::int64_t node) const {
  const auto it =
      std::lower_bound(nodes.begin(), nodes.end(), std::pair{gateway, node},
                       [](const BusNode& n, const std::pair<std::int64_t, std::int64_t>& k) {
                         return std::pair{n.gateway, n.node} < k;
                       });
  return it != nodes.end() && it->gateway == gateway && it->node == node ? &*it : nullptr;
}

const BusNode* BusSnapshot::find_serial(std::string_view serial) const {
  const auto pattern = serial_pattern(serial);
  if (!pattern) return nullptr;
  const BusNode* found = nullptr;
  for (const auto& n : nodes) {
    if (!n.address || !pattern->matches(*n.address)) continue;
    if (found != nullptr) return nullptr;  // an address is on one node, so two means ambiguous
    found = &n;
  }
  return found;
}

BusState::BusState(BusLimits limits, std::string source_name)
    : limits_(limits), source_name_(std::move(source_name)) {}

void BusState::apply_line(std::string_view line, ReceiveTime received) {
  if (blank(line)) return;
  auto event = parse_taptap_line(line);  // outside the lock: readers never wait for a parse
  std::lock_guard lock(mutex_);
  ++counters_.lines;
  generation_.fetch_add(1, std::memory_order_release);
  if (!event) {
    refuse_locked(event.error().message, received);
    return;
  }
  apply_locked(*event, received);
}

void BusState::apply(const Event& event, ReceiveTime received) {
  std::lock_guard lock(mutex_);
  ++counters_.lines;
  generation_.fetch_add(1, std::memory_order_release);
  apply_locked(event, received);
}

void BusState::note_oversized_line() {
  std::lock_guard lock(mutex_);
  ++counters_.oversized_lines;
  generation_.fetch_add(1, std::memory_order_release);
}

void BusState::note_partial_line() {
  std::lock_guard lock(mutex_);
  ++counters_.partial_lines;
  generation_.fetch_add(1, std::memory_order_release);
}

void BusState::set_connected(bool connected) {
  std::lock_guard lock(mutex_);
  connected_ = connected;
  generation_.fetch_add(1, std::memory_order_release);
}

void BusState::refuse_locked(std::string_view reason, ReceiveTime received) {
  ++counters_.malformed_lines;
  ++refusals_since_log_;
  last_refusal_ = std::string(reason);
  // The first refusal is logged at once, then at most one line per interval with the count.
  if (last_refusal_log_ && received.steady - *last_refusal_log_ < limits_.refusal_log_interval)
    return;
  util::log::warn("bus line refused", {{"source", source_name_},
                                       {"reason", last_refusal_},
                                       {"refused", std::to_string(refusals_since_log_)}});
  last_refusal_log_ = received.steady;
  refusals_since_log_ = 0;
}

BusState::Entry* BusState::entry_for(Key key) {
  if (auto it = nodes_.find(key); it != nodes_.end()) return &it->second;
  if (nodes_.size() >= limits_.max_nodes) {
    ++counters_.nodes_refused;
    if (!cap_logged_) {
      util::log::warn("bus node limit reached, new nodes ignored",
                      {{"source", source_name_}, {"max_nodes", std::to_string(limits_.max_nodes)}});
      cap_logged_ = true;
    }
    return nullptr;
  }
  return &nodes_[key];
}

void BusState::learn_address(Key key, Address address, bool imported) {
  const auto holder = node_of_address_.find(address);
  if (imported && holder != node_of_address_.end()) return;  // the bus said otherwise since
  if (imported) {
    if (auto it = nodes_.find(key); it != nodes_.end() && it->second.address) return;
  }
  Entry* entry = entry_for(key);
  if (entry == nullptr) return;
  if (entry->address == address) return;
  if (entry->address) {
    // Another node now answers to this id: the reading held is the old node's.
    ++counters_.address_changes;
    util::log::warn("bus node id now names another address",
                    {{"source", source_name_},
                     {"gateway", std::to_string(key.gateway)},
                     {"node", std::to_string(key.node)},
                     {"old_address", format_address(*entry->address)},
                     {"new_address", format_address(address)}});
    node_of_address_.erase(*entry->address);
    entry->reading.reset();
  }
  if (holder != node_of_address_.end() && holder->second != key) {
    // The address moved from another id: that id's address and reading are the old ones.
    ++counters_.address_changes;
    util::log::warn("bus address moved to another node id",
                    {{"source", source_name_},
                     {"address", format_address(address)},
                     {"old_gateway", std::to_string(holder->second.gateway)},
                     {"old_node", std::to_string(holder->second.node)},
                     {"gateway", std::to_string(key.gateway)},
                     {"node", std::to_string(key.node)}});
    if (auto old = nodes_.find(holder->second); old != nodes_.end()) {
      old->second.address.reset();
      old->second.reading.reset();
    }
  }
  entry->address = address;
  node_of_address_[address] = key;
  ++addresses_version_;
}

void BusState::apply_locked(const Event& event, ReceiveTime received) {
  last_event_received_ = received;
  if (const auto* report = std::get_if<PowerReport>(&event)) {
    ++counters_.power_reports;
    const Key key{report->gateway, report->node};
    if (report->node_address) learn_address(key, *report->node_address, false);
    Entry* entry = entry_for(key);
    if (entry == nullptr) return;
    entry->reading = *report;
    entry->received = received;
    if (!newest_report_time_ || report->time > *newest_report_time_)
      newest_report_time_ = report->time;
    return;
  }
  if (const auto* report = std::get_if<InfrastructureReport>(&event)) {
    ++counters_.infrastructure_reports;
    for (const auto& [id, info] : report->gateways) {
      if (gateways_.size() >= limits_.max_gateways && gateways_.count(id) == 0) continue;
      gateways_[id] = info;
    }
    for (const auto& [gateway, table] : report->nodes) {
      for (const auto& [node, info] : table) learn_address(Key{gateway, node}, info.address, false);
    }
    return;
  }
  ++counters_.unknown_events;
  std::string name = plain_type_name(std::get<UnknownEvent>(event).type);
  if (unknown_event_types_.count(name) == 0 &&
      unknown_event_types_.size() >= limits_.max_unknown_types)
    name = "other";
  ++unknown_event_types_[name];
}

std::shared_ptr<const BusSnapshot> BusState::snapshot(
    std::chrono::steady_clock::time_point now) const {
  auto out = std::make_shared<BusSnapshot>();
  std::lock_guard lock(mutex_);
  out->nodes.reserve(nodes_.size());
  for (const auto& [key, entry] : nodes_) {
    out->nodes.push_back(
        BusNode{key.gateway, key.node, entry.address, entry.reading, entry.received});
    if (entry.reading && now - entry.received.steady <= limits_.heard_window)
      ++out->nodes_heard_recently;
  }
  out->gateways = gateways_;
  out->counters = counters_;
  out->unknown_event_types = unknown_event_types_;
  out->connected = connected_;
  out->last_event_received = last_event_received_;
  out->newest_report_time = newest_report_time_;
  out->last_refusal = last_refusal_;
  out->addresses_version = addresses_version_;
  return out;
}

std::vector<LearnedAddress> BusState::export_addresses() const {
  std::lock_guard lock(mutex_);
  std::vector<LearnedAddress> out;
  for (const auto& [key, entry] : nodes_) {
    if (entry.address) out.push_back({key.gateway, key.node, *entry.address});
  }
  return out;
}

void BusState::import_addresses(const std::vector<LearnedAddress>& learned) {
  std::lock_guard lock(mutex_);
  for (const auto& l : learned) {
    if (l.gateway < 0 || l.gateway > kMaxGatewayId || l.node < kMinNodeId || l.node > kMaxNodeId)
      continue;
    learn_address(Key{l.gateway, l.node}, l.address, true);
  }
  generation_.fetch_add(1, std::memory_order_release);
}

}  // namespace local
