#include "fusion/local_state.hpp"

#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "refresh/state_file.hpp"
#include "util/json_string.hpp"

namespace fusion {
namespace {

constexpr int kVersion = 1;
// A TS4 carries at most a few hundred watts; a day of that is a few kWh.
constexpr double kMaxPanelW = 10'000;
constexpr double kMaxPanelWh = 100'000;

struct Invalid {
  std::string message;
};

template <class T>
T get(simdjson::simdjson_result<T> r, const std::string& what) {
  T v{};
  if (std::move(r).get(v) != simdjson::SUCCESS) throw Invalid{what + ": missing or mistyped"};
  return v;
}

std::int64_t in_range(std::int64_t v, std::int64_t lo, std::int64_t hi, const std::string& what) {
  if (v < lo || v > hi) throw Invalid{what + ": out of range"};
  return v;
}

double finite_in(double v, double lo, double hi, const std::string& what) {
  if (!std::isfinite(v) || v < lo || v > hi) throw Invalid{what + ": out of range"};
  return v;
}

}  // namespace

std::string format_local_state(const LocalState& state) {
  std::string out = "{\"version\":" + std::to_string(kVersion) + ",\"sources\":[";
  bool first = true;
  for (const auto& [name, list] : state.addresses) {
    out += first ? "" : ",";
    first = false;
    out += "{\"name\":";
    util::append_json_string(out, name);
    out += ",\"addresses\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
      out += i ? ",[" : "[";
      out += std::to_string(list[i].gateway) + "," + std::to_string(list[i].node) + ",";
      util::append_json_string(out, local::format_address(list[i].address));
      out += "]";
    }
    out += "]}";
  }
  out += "],\"energy\":[";
  for (std::size_t i = 0; i < state.energy.size(); ++i) {
    const auto& e = state.energy[i];
    out += i ? ",{" : "{";
    out += "\"system\":" + std::to_string(e.system_id) + ",\"panel\":";
    util::append_json_string(out, e.panel);
    out += ",\"day\":" + std::to_string(e.day.time_since_epoch().count());
    char number[64];
    std::snprintf(number, sizeof number, "%.17g", e.wh);
    out += ",\"wh\":" + std::string(number);
    std::snprintf(number, sizeof number, "%.17g", e.covered_s);
    out += ",\"covered_s\":" + std::string(number);
    out += ",\"last_us\":" + std::to_string(e.last_time.time_since_epoch().count());
    std::snprintf(number, sizeof number, "%.17g", e.last_w);
    out += ",\"last_w\":" + std::string(number) + "}";
  }
  out += "]}\n";
  return out;
}

util::Result<LocalState> parse_local_state(std::string_view json) {
  if (json.size() > kMaxLocalStateBytes) return util::Error{"larger than its limit"};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::padded_string padded(json);
  if (auto err = parser.parse(padded).get(root))
    return util::Error{std::string("invalid JSON: ") + simdjson::error_message(err)};
  try {
    LocalState state;
    const auto version = get<std::int64_t>(root["version"].get_int64(), "version");
    if (version != kVersion) throw Invalid{"version " + std::to_string(version) + " is not ours"};
    std::size_t entries = 0;
    for (auto source : get<simdjson::dom::array>(root["sources"].get_array(), "sources")) {
      const std::string name(get<std::string_view>(source["name"].get_string(), "source name"));
      if (name.empty() || name.size() > 256) throw Invalid{"source name: empty or too long"};
      auto& list = state.addresses[name];
      for (auto item : get<simdjson::dom::array>(source["addresses"].get_array(), "addresses")) {
        if (++entries > kMaxLocalStateEntries) throw Invalid{"too many entries"};
        const auto a = get<simdjson::dom::array>(item.get_array(), "address entry");
        if (a.size() != 3) throw Invalid{"address entry: not [gateway, node, address]"};
        local::LearnedAddress l;
        l.gateway = in_range(get<std::int64_t>(a.at(0).get_int64(), "gateway"), 0,
                             local::kMaxGatewayId, "gateway");
        l.node = in_range(get<std::int64_t>(a.at(1).get_int64(), "node"), local::kMinNodeId,
                          local::kMaxNodeId, "node");
        const auto address =
            local::parse_address(get<std::string_view>(a.at(2).get_string(), "address"));
        if (!address) throw Invalid{"address: not 8 bytes"};
        l.address = *address;
        list.push_back(l);
      }
    }
    for (auto item : get<simdjson::dom::array>(root["energy"].get_array(), "energy")) {
      if (++entries > kMaxLocalStateEntries) throw Invalid{"too many entries"};
      PanelEnergy e;
      e.system_id = in_range(get<std::int64_t>(item["system"].get_int64(), "energy system"), 0,
                             INT64_MAX, "energy system");
      e.panel = std::string(get<std::string_view>(item["panel"].get_string(), "energy panel"));
      if (e.panel.empty() || e.panel.size() > 256) throw Invalid{"energy panel: empty or too long"};
      // Days from 2000 to 2200: anything else is no day this exporter lived.
      e.day = std::chrono::sys_days{std::chrono::days{in_range(
          get<std::int64_t>(item["day"].get_int64(), "energy day"), 10'957, 84'006, "energy day")}};
      e.wh =
          finite_in(get<double>(item["wh"].get_double(), "energy wh"), 0, kMaxPanelWh, "energy wh");
      e.covered_s = finite_in(get<double>(item["covered_s"].get_double(), "energy covered_s"), 0,
                              2 * 86'400, "energy covered_s");
      const auto last_us = get<std::int64_t>(item["last_us"].get_int64(), "energy last_us");
      const auto day_us =
          std::chrono::duration_cast<std::chrono::microseconds>(e.day.time_since_epoch()).count();
      // The last reading lies within a day of the site-local date (zones are within 14 h).
      in_range(last_us, day_us - 86'400'000'000LL, day_us + 2 * 86'400'000'000LL, "energy last_us");
      e.last_time =
          std::chrono::sys_time<std::chrono::microseconds>{std::chrono::microseconds{last_us}};
      e.last_w = finite_in(get<double>(item["last_w"].get_double(), "energy last_w"), 0, kMaxPanelW,
                           "energy last_w");
      state.energy.push_back(std::move(e));
    }
    return state;
  } catch (const Invalid& bad) {
    return util::Error{bad.message};
  }
}

util::Result<LocalState> read_local_state(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Error{"no file " + path};
  std::string text;
  text.resize(kMaxLocalStateBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_local_state(text);
}

util::Result<std::size_t> write_local_state(const std::string& path, const LocalState& state) {
  return refresh::write_state_file(path, format_local_state(state));
}

}  // namespace fusion
