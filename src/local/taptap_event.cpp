#include "local/taptap_event.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "util/json_string.hpp"
#include "util/time.hpp"

namespace local {
namespace {

namespace dom = simdjson::dom;

// A report is an object of objects of objects (infrastructure: root, nodes, gateway, node).
constexpr std::size_t kMaxDepth = 8;

// What a TS4 can report, in the units taptap writes (its fields are 12-bit counts of 0.05 V,
// 0.1 V, 5 mA and 0.1 degrees; rssi a byte): wider than any real panel, so only garbage fails.
struct Range {
  std::string_view field;
  double min;
  double max;
};
constexpr Range kVoltageIn{"voltage_in", 0, 200};
constexpr Range kVoltageOut{"voltage_out", 0, 200};
constexpr Range kCurrent{"current", 0, 50};
constexpr Range kDutyCycle{"dc_dc_duty_cycle", 0, 1};
constexpr Range kTemperature{"temperature", -60, 150};
constexpr Range kRssi{"rssi", 0, 255};

// One parser per thread (sources read on their own threads), its capacity and depth capped.
dom::parser& thread_parser() {
  thread_local dom::parser parser = [] {
    dom::parser p(kMaxLineBytes);
    if (p.allocate(4096, kMaxDepth) != simdjson::SUCCESS) {
      // Left unallocated, every parse fails with a clear error instead.
    }
    return p;
  }();
  return parser;
}

util::Error fail(std::string_view what, std::string_view why) {
  return util::make_error(std::string(what) + ": " + std::string(why));
}

std::string number_text(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::string("?");
}

util::Result<double> number_field(dom::object o, const Range& range) {
  dom::element e;
  if (o.at_key(range.field).get(e) != simdjson::SUCCESS) return fail(range.field, "missing");
  double v = 0;  // integers too: taptap writes 1.0 as 1.0, other writers may write 1
  if (e.get_double().get(v) != simdjson::SUCCESS) return fail(range.field, "not a number");
  if (v == 0) v = 0;  // -0.0 is 0: it would print as "-0" and read back as the integer 0
  if (!std::isfinite(v) || v < range.min || v > range.max) {
    return fail(range.field, "out of range " + number_text(range.min) + ".." +
                                 number_text(range.max) + ": " + number_text(v));
  }
  return v;
}

// An integer in [min, max]; a fraction or a number out of int64 is refused.
util::Result<std::int64_t> integer_of(dom::element e, std::string_view what, std::int64_t min,
                                      std::int64_t max) {
  std::int64_t i = 0;
  if (e.type() == dom::element_type::UINT64) return fail(what, "out of range");
  if (e.type() != dom::element_type::INT64 || e.get_int64().get(i) != simdjson::SUCCESS)
    return fail(what, "not an integer");
  if (i < min || i > max) {
    return fail(what, "out of range " + std::to_string(min) + ".." + std::to_string(max) + ": " +
                          std::to_string(i));
  }
  return i;
}

// A map key that is an id: canonical decimal ("116", not "0116" or "+116"), within range.
util::Result<std::int64_t> id_key(std::string_view key, std::string_view what, std::int64_t min,
                                  std::int64_t max) {
  std::int64_t id = -1;
  const bool canonical = !key.empty() && key.size() <= 5 && (key.size() == 1 || key[0] != '0');
  auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
  if (!canonical || ec != std::errc{} || ptr != key.data() + key.size() || id < min || id > max)
    return fail(what, "bad id key");
  return id;
}

std::optional<std::string_view> string_field(dom::object o, std::string_view key, bool& mistyped) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) {
    mistyped = true;
    return std::nullopt;
  }
  return s;
}

// At most `limit` bytes, cut before a UTF-8 continuation byte so the text stays valid.
std::string bounded(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return std::string(s);
  std::size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u) --n;
  return std::string(s.substr(0, n));
}

// A node's address from "address" and/or "barcode" (they must agree); nullopt when neither.
util::Result<std::optional<Address>> node_identity(dom::object o, std::string_view what) {
  bool mistyped = false;
  const auto address_text = string_field(o, "address", mistyped);
  const auto barcode_text = string_field(o, "barcode", mistyped);
  if (mistyped) return fail(what, "address or barcode not a string");
  std::optional<Address> address;
  if (address_text) {
    address = parse_address(*address_text);
    if (!address) return fail(what, "bad address");
  }
  if (barcode_text) {
    const auto decoded = parse_barcode(*barcode_text);
    if (!decoded) return fail(what, "bad barcode");
    if (address && *address != *decoded) return fail(what, "address and barcode disagree");
    address = decoded;
  }
  return address;
}

// "gateway"/"node": an integer, or an object with its "id" (and maybe its address).
struct Endpoint {
  std::int64_t id = 0;
  std::optional<Address> address;
};

util::Result<Endpoint> endpoint_field(dom::object root, std::string_view key, std::int64_t min,
                                      std::int64_t max) {
  dom::element e;
  if (root.at_key(key).get(e) != simdjson::SUCCESS) return fail(key, "missing");
  dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) {
    auto id = integer_of(e, key, min, max);
    if (!id) return id.error();
    return Endpoint{*id, std::nullopt};
  }
  dom::element id_element;
  if (o.at_key("id").get(id_element) != simdjson::SUCCESS) return fail(key, "no id");
  auto id = integer_of(id_element, key, min, max);
  if (!id) return id.error();
  auto address = node_identity(o, key);
  if (!address) return address.error();
  return Endpoint{*id, *address};
}

// RFC 3339 with an offset and up to nanoseconds: "2024-08-24T09:16:41.686961-05:00".
util::Result<Microseconds> time_field(dom::object root) {
  bool mistyped = false;
  const auto text = string_field(root, "timestamp", mistyped);
  if (!text) return fail("timestamp", mistyped ? "not a string" : "missing");
  std::string_view s = *text;
  const auto bad = fail("timestamp", "not RFC 3339 with an offset");
  if (s.size() < 20 || s.size() > 40 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':')
    return bad;
  std::string whole(s.substr(0, 19));
  std::string_view rest = s.substr(19);
  std::int64_t micros = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits > 9) return bad;
    for (std::size_t k = 0; k < 6; ++k) micros = micros * 10 + (k < digits ? rest[k] - '0' : 0);
    rest.remove_prefix(digits);
  }
  if (rest.empty() || (rest != "Z" && rest.front() != '+' && rest.front() != '-')) return bad;
  whole += rest;
  const auto seconds = util::parse_iso8601(whole);
  if (!seconds) return bad;
  return Microseconds{
      std::chrono::duration_cast<std::chrono::microseconds>(seconds->time_since_epoch()) +
      std::chrono::microseconds{micros}};
}

util::Result<Event> power_report_of(dom::object root) {
  PowerReport r;
  auto gateway = endpoint_field(root, "gateway", 0, kMaxGatewayId);
  if (!gateway) return gateway.error();
  auto node = endpoint_field(root, "node", kMinNodeId, kMaxNodeId);
  if (!node) return node.error();
  r.gateway = gateway->id;
  r.gateway_address = gateway->address;
  r.node = node->id;
  r.node_address = node->address;
  auto time = time_field(root);
  if (!time) return time.error();
  r.time = *time;
  for (auto [range, out] :
       {std::pair{&kVoltageIn, &r.voltage_in}, std::pair{&kVoltageOut, &r.voltage_out},
        std::pair{&kCurrent, &r.current}, std::pair{&kDutyCycle, &r.duty_cycle},
        std::pair{&kTemperature, &r.temperature}}) {
    auto v = number_field(root, *range);
    if (!v) return v.error();
    *out = *v;
  }
  dom::element rssi;
  if (root.at_key(kRssi.field).get(rssi) != simdjson::SUCCESS) return fail("rssi", "missing");
  auto rssi_value = integer_of(rssi, "rssi", static_cast<std::int64_t>(kRssi.min),
                               static_cast<std::int64_t>(kRssi.max));
  if (!rssi_value) return rssi_value.error();
  r.rssi = static_cast<int>(*rssi_value);
  return Event{r};
}

// Absent is empty; anything but an object is an error.
util::Result<std::optional<dom::object>> optional_object(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return std::optional<dom::object>{};
  dom::object inner;
  if (e.get_object().get(inner) != simdjson::SUCCESS) return fail(key, "not an object");
  return std::optional<dom::object>{inner};
}

util::Result<Event> infrastructure_report_of(dom::object root) {
  InfrastructureReport report;
  auto gateways = optional_object(root, "gateways");
  if (!gateways) return gateways.error();
  if (*gateways) {
    for (auto [key, value] : **gateways) {
      auto id = id_key(key, "gateways", 0, kMaxGatewayId);
      if (!id) return id.error();
      dom::object g;
      if (value.get_object().get(g) != simdjson::SUCCESS) return fail("gateways", "not an object");
      bool mistyped = false;
      const auto address = string_field(g, "address", mistyped);
      const auto version = string_field(g, "version", mistyped);
      if (mistyped) return fail("gateways", "address or version not a string");
      GatewayInfo info;
      if (address) {
        info.address = parse_address(*address);
        info.address_text = bounded(*address, kMaxGatewayText);
      }
      if (version) info.version = bounded(*version, kMaxGatewayText);
      report.gateways[*id] = std::move(info);
    }
  }
  auto nodes = optional_object(root, "nodes");
  if (!nodes) return nodes.error();
  if (*nodes) {
    for (auto [gateway_key, gateway_nodes] : **nodes) {
      auto gateway = id_key(gateway_key, "nodes", 0, kMaxGatewayId);
      if (!gateway) return gateway.error();
      dom::object table;
      if (gateway_nodes.get_object().get(table) != simdjson::SUCCESS)
        return fail("nodes", "not an object");
      auto& out = report.nodes[*gateway];
      for (auto [node_key, node_value] : table) {
        auto node = id_key(node_key, "nodes", kMinNodeId, kMaxNodeId);
        if (!node) return node.error();
        dom::object n;
        if (node_value.get_object().get(n) != simdjson::SUCCESS)
          return fail("nodes", "not an object");
        auto address = node_identity(n, "nodes");
        if (!address) return address.error();
        if (!*address) return fail("nodes", "node " + std::string(node_key) + " has no address");
        out[*node] = NodeInfo{**address};
      }
    }
  }
  return Event{std::move(report)};
}

}  // namespace

util::Result<Event> parse_taptap_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxLineBytes) return fail("line", "too long");
  if (line.empty()) return fail("line", "empty");
  simdjson::padded_string padded(line);
  dom::element root_element;
  if (auto err = thread_parser().parse(padded).get(root_element); err) {
    return fail("line", std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  dom::object root;
  if (root_element.get_object().get(root) != simdjson::SUCCESS)
    return fail("line", "not an object");
  dom::element type_element;
  if (root.at_key("event_type").get(type_element) != simdjson::SUCCESS) {
    return power_report_of(root);  // builds before 2025 write no event_type
  }
  std::string_view type;
  if (type_element.get_string().get(type) != simdjson::SUCCESS)
    return fail("event_type", "not a string");
  if (type == "power_report") return power_report_of(root);
  if (type == "infrastructure_report") return infrastructure_report_of(root);
  return Event{UnknownEvent{bounded(type, kMaxTypeName)}};
}

namespace {

void append_number(std::string& out, double v) { out += number_text(v); }

void append_time(std::string& out, Microseconds t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const auto in_day = t - day;
  const auto h = duration_cast<hours>(in_day);
  const auto m = duration_cast<minutes>(in_day - h);
  const auto s = duration_cast<seconds>(in_day - h - m);
  const auto us = duration_cast<microseconds>(in_day - h - m - s);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lld+00:00",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(h.count()),
                static_cast<int>(m.count()), static_cast<int>(s.count()),
                static_cast<long long>(us.count()));
  out += buf;
}

void append_endpoint(std::string& out, std::string_view key, std::int64_t id,
                     const std::optional<Address>& address) {
  out += '"';
  out += key;
  out += "\":";
  if (!address) {
    out += std::to_string(id);
    return;
  }
  out += R"({"id":)" + std::to_string(id) + R"(,"address":")" + format_address(*address) + R"("})";
}

std::string format_power_report(const PowerReport& r) {
  std::string out = R"({"event_type":"power_report",)";
  append_endpoint(out, "gateway", r.gateway, r.gateway_address);
  out += ',';
  append_endpoint(out, "node", r.node, r.node_address);
  out += R"(,"timestamp":")";
  append_time(out, r.time);
  out += R"(","voltage_in":)";
  append_number(out, r.voltage_in);
  out += ",\"voltage_out\":";
  append_number(out, r.voltage_out);
  out += ",\"current\":";
  append_number(out, r.current);
  out += ",\"dc_dc_duty_cycle\":";
  append_number(out, r.duty_cycle);
  out += ",\"temperature\":";
  append_number(out, r.temperature);
  out += ",\"rssi\":" + std::to_string(r.rssi) + "}";
  return out;
}

std::string format_infrastructure_report(const InfrastructureReport& r) {
  std::string out = R"({"event_type":"infrastructure_report","gateways":{)";
  bool first = true;
  for (const auto& [id, g] : r.gateways) {
    if (!first) out += ',';
    first = false;
    out += '"' + std::to_string(id) + R"(":{"address":)";
    util::append_json_string(out, g.address ? format_address(*g.address) : g.address_text);
    out += ",\"version\":";
    util::append_json_string(out, g.version);
    out += '}';
  }
  out += "},\"nodes\":{";
  first = true;
  for (const auto& [gateway, table] : r.nodes) {
    if (!first) out += ',';
    first = false;
    out += '"' + std::to_string(gateway) + "\":{";
    bool first_node = true;
    for (const auto& [node, info] : table) {
      if (!first_node) out += ',';
      first_node = false;
      out += '"' + std::to_string(node) + R"(":{"address":")" + format_address(info.address) + '"';
      if (auto barcode = format_barcode(info.address)) out += R"(,"barcode":")" + *barcode + '"';
      out += '}';
    }
    out += '}';
  }
  out += "}}";
  return out;
}

}  // namespace

std::string format_taptap_line(const Event& event) {
  if (const auto* p = std::get_if<PowerReport>(&event)) return format_power_report(*p);
  if (const auto* i = std::get_if<InfrastructureReport>(&event))
    return format_infrastructure_report(*i);
  std::string out = "{\"event_type\":";
  util::append_json_string(out, std::get<UnknownEvent>(event).type);
  out += '}';
  return out;
}

std::string_view event_type_name(const Event& event) {
  if (std::holds_alternative<PowerReport>(event)) return "power_report";
  if (std::holds_alternative<InfrastructureReport>(event)) return "infrastructure_report";
  return std::get<UnknownEvent>(event).type;
}

}  // namespace local
