#include "sim/chaos.hpp"

#include <charconv>

#include "sim/json_writer.hpp"
#include "util/duration.hpp"

namespace sim {

util::Result<FaultOptions> parse_faults(std::string_view text) {
  FaultOptions o;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty() || item == "none") continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return util::make_error("--faults: \"" + std::string(item) + "\" is not name=value");
    const auto name = item.substr(0, eq);
    const auto value = std::string(item.substr(eq + 1));
    if (name == "latency") {
      const auto d = util::parse_duration(value);
      if (!d) return util::make_error("--faults: latency: bad duration \"" + value + "\"");
      o.latency = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      continue;
    }
    double rate = -1;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), rate);
    if (ec != std::errc{} || ptr != value.data() + value.size() || rate < 0 || rate > 1)
      return util::make_error("--faults: " + std::string(name) + ": rate must be in [0, 1]");
    if (name == "error_rate") {
      o.error_rate = rate;
    } else if (name == "malformed") {
      o.malformed = rate;
    } else if (name == "truncated") {
      o.truncated = rate;
    } else if (name == "drop_connection") {
      o.drop_connection = rate;
    } else if (name == "expired_token") {
      o.expired_token = rate;
    } else if (name == "burst_429") {
      o.burst_429 = rate;
    } else if (name == "bus_garbage") {
      o.bus_garbage = rate;
    } else if (name == "bus_drop") {
      o.bus_drop = rate;
    } else if (name == "bus_reassign") {
      o.bus_reassign = rate;
    } else {
      return util::make_error("--faults: unknown fault \"" + std::string(name) + "\"");
    }
  }
  return o;
}

void Stats::request(std::string_view endpoint, int status) {
  std::lock_guard lock(mutex_);
  auto it = requests_.find(endpoint);
  if (it == requests_.end())
    it = requests_.emplace(std::string(endpoint), std::map<int, std::uint64_t>{}).first;
  ++it->second[status];
  ++total_;
}

void Stats::fault(std::string_view kind) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(kind);
  if (it == faults_.end()) it = faults_.emplace(std::string(kind), 0).first;
  ++it->second;
}

std::uint64_t Stats::faults(std::string_view kind) const {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(kind);
  return it == faults_.end() ? 0 : it->second;
}

std::string Stats::json(std::string_view sim_time) const {
  std::lock_guard lock(mutex_);
  std::string out = "{";
  bool first = true;
  json::append_key(out, "time", first);
  json::append_string(out, sim_time);
  json::append_key(out, "requests_total", first);
  json::append_int(out, static_cast<std::int64_t>(total_));
  json::append_key(out, "requests", first);
  out += '{';
  bool f1 = true;
  for (const auto& [endpoint, statuses] : requests_) {
    json::append_key(out, endpoint, f1);
    out += '{';
    bool f2 = true;
    for (const auto& [status, n] : statuses) {
      json::append_key(out, std::to_string(status), f2);
      json::append_int(out, static_cast<std::int64_t>(n));
    }
    out += '}';
  }
  out += '}';
  json::append_key(out, "faults", first);
  out += '{';
  bool f3 = true;
  std::uint64_t faults_total = 0;
  for (const char* kind :
       {"error_rate", "latency", "malformed", "truncated", "drop_connection", "expired_token",
        "burst_429", "bus_garbage", "bus_drop", "bus_reassign"}) {
    auto it = faults_.find(std::string_view(kind));
    const std::uint64_t n = it == faults_.end() ? 0 : it->second;
    faults_total += n;
    json::append_key(out, kind, f3);
    json::append_int(out, static_cast<std::int64_t>(n));
  }
  out += '}';
  json::append_key(out, "faults_total", first);
  json::append_int(out, static_cast<std::int64_t>(faults_total));
  out += '}';
  return out;
}

}  // namespace sim
