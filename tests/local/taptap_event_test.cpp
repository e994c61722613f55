// taptap observe's lines -> events: both power report shapes, the fork's infrastructure report,
// unknown events, and everything refused.
#include "local/taptap_event.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

using namespace std::chrono;
using local::Address;

namespace {

// The README's line: builds before 2025, ids as objects, no event_type.
constexpr std::string_view kReadmeLine =
    R"({"gateway":{"id":4609},"node":{"id":116},"timestamp":"2024-08-24T09:16:41.686961-05:00","voltage_in":30.6,"voltage_out":30.2,"current":6.94,"dc_dc_duty_cycle":1.0,"temperature":26.8,"rssi":132})";

constexpr std::string_view kNewLine =
    R"({"event_type":"power_report","gateway":4609,"node":117,"timestamp":"2025-06-01T12:00:05.123456789+02:00","voltage_in":35.25,"voltage_out":34.9,"current":8.115,"dc_dc_duty_cycle":0.8980392156862745,"temperature":-0.1,"rssi":201})";

constexpr std::string_view kInfrastructure =
    R"({"event_type":"infrastructure_report","gateways":{"4609":{"address":"04:C0:5B:30:00:02:7F:1A","version":"Mgate Version G8.59\rJul  6 2020\r16:51:51\rGW-H158.4.3S0.12\r"}},"nodes":{"4609":{"116":{"address":"04:C0:5B:40:00:9A:57:A2","barcode":"4-9A57A2L"},"117":{"address":"04:C0:5B:40:00:79:AC:16","barcode":"4-79AC16V"}}}})";

local::Microseconds utc(int y, unsigned mo, unsigned d, int h, int mi, int s, int us) {
  return local::Microseconds{sys_days{year{y} / mo / d}.time_since_epoch() + hours{h} +
                             minutes{mi} + seconds{s} + microseconds{us}};
}

local::PowerReport power(std::string_view line) {
  auto event = local::parse_taptap_line(line);
  INFO(line);
  REQUIRE(event.ok());
  REQUIRE(std::holds_alternative<local::PowerReport>(*event));
  return std::get<local::PowerReport>(*event);
}

std::string refusal(const std::string& line) {
  auto event = local::parse_taptap_line(line);
  INFO(line);
  REQUIRE_FALSE(event.ok());
  return event.error().message;
}

// kNewLine with one field's text replaced.
std::string with(std::string_view field, std::string_view value) {
  std::string line(kNewLine);
  const std::string key = "\"" + std::string(field) + "\":";
  const auto at = line.find(key);
  REQUIRE(at != std::string::npos);
  const auto start = at + key.size();
  auto end = start;
  if (line[start] == '"') {
    end = line.find('"', start + 1) + 1;
  } else {
    end = line.find_first_of(",}", start);
  }
  line.replace(start, end - start, value);
  return line;
}

}  // namespace

TEST_CASE("taptap line: the README's power report (ids as objects, no event_type)",
          "[local][taptap]") {
  const auto r = power(kReadmeLine);
  CHECK(r.gateway == 4609);
  CHECK(r.node == 116);
  CHECK(r.time == utc(2024, 8, 24, 14, 16, 41, 686961));
  CHECK(r.voltage_in == 30.6);
  CHECK(r.voltage_out == 30.2);
  CHECK(r.current == 6.94);
  CHECK(r.duty_cycle == 1.0);
  CHECK(r.temperature == 26.8);
  CHECK(r.rssi == 132);
  CHECK(r.power_in() == Approx(30.6 * 6.94));
  CHECK_FALSE(r.node_address.has_value());
  CHECK_FALSE(r.gateway_address.has_value());
}

TEST_CASE("taptap line: the newer power report (event_type, integer ids, nanoseconds)",
          "[local][taptap]") {
  const auto r = power(kNewLine);
  CHECK(r.gateway == 4609);
  CHECK(r.node == 117);
  CHECK(r.time == utc(2025, 6, 1, 10, 0, 5, 123456));  // nanoseconds cut to microseconds
  CHECK(r.temperature == -0.1);
  CHECK(r.duty_cycle == Approx(229.0 / 255));
  CHECK(r.rssi == 201);
}

TEST_CASE("taptap line: node and gateway objects may carry their address and barcode",
          "[local][taptap]") {
  std::string line(kReadmeLine);
  line.replace(line.find(R"({"id":116})"), 10,
               R"({"id":116,"address":"04:C0:5B:40:00:9A:57:A2","barcode":"4-9A57A2L"})");
  line.replace(line.find(R"({"id":4609})"), 11,
               R"({"id":4609,"address":"04:C0:5B:30:00:02:7F:1A"})");
  const auto r = power(line);
  CHECK(r.node_address == Address{0x04C05B40009A57A2});
  CHECK(r.gateway_address == Address{0x04C05B3000027F1A});

  std::string barcode_only(kReadmeLine);
  barcode_only.replace(barcode_only.find(R"({"id":116})"), 10,
                       R"({"id":116,"barcode":"4-79AC16V"})");
  CHECK(power(barcode_only).node_address == Address{0x04C05B400079AC16});

  std::string disagree(kReadmeLine);
  disagree.replace(disagree.find(R"({"id":116})"), 10,
                   R"({"id":116,"address":"04:C0:5B:40:00:9A:57:A2","barcode":"4-79AC16V"})");
  CHECK(refusal(disagree) == "node: address and barcode disagree");
}

TEST_CASE("taptap line: time offsets, fractions and a trailing CR", "[local][taptap]") {
  CHECK(power(with("timestamp", "\"2025-06-01T12:00:05+05:30\"")).time ==
        utc(2025, 6, 1, 6, 30, 5, 0));
  CHECK(power(with("timestamp", "\"2025-06-01T12:00:05.5Z\"")).time ==
        utc(2025, 6, 1, 12, 0, 5, 500000));
  CHECK(power(with("timestamp", "\"2025-06-01 12:00:05.000001-00:00\"")).time ==
        utc(2025, 6, 1, 12, 0, 5, 1));
  CHECK(power(std::string(kNewLine) + "\r").node == 117);
}

TEST_CASE("taptap line: -0.0 reads as 0, so it is written back as it reads (fuzz_taptap_event)",
          "[local][taptap]") {
  const auto r = power(with("temperature", "-0.0"));
  CHECK(r.temperature == 0.0);
  CHECK_FALSE(std::signbit(r.temperature));
  CHECK(local::format_taptap_line(r).find("\"temperature\":0,") != std::string::npos);
}

TEST_CASE("taptap line: the infrastructure report (gateways, then nodes by gateway)",
          "[local][taptap]") {
  auto event = local::parse_taptap_line(kInfrastructure);
  REQUIRE(event.ok());
  REQUIRE(std::holds_alternative<local::InfrastructureReport>(*event));
  const auto& r = std::get<local::InfrastructureReport>(*event);
  REQUIRE(r.gateways.size() == 1);
  CHECK(r.gateways.at(4609).address == Address{0x04C05B3000027F1A});
  CHECK(r.gateways.at(4609).version.substr(0, 19) == "Mgate Version G8.59");
  REQUIRE(r.nodes.count(4609) == 1);
  CHECK(r.nodes.at(4609).size() == 2);
  CHECK(r.nodes.at(4609).at(116).address == 0x04C05B40009A57A2);
  CHECK(r.nodes.at(4609).at(117).address == 0x04C05B400079AC16);
  CHECK(local::event_type_name(*event) == "infrastructure_report");

  // Empty tables, a gateway address in a form we do not read, a node with its barcode alone.
  auto sparse = local::parse_taptap_line(
      R"({"event_type":"infrastructure_report","gateways":{"1":{"address":"?","version":""}},"nodes":{"1":{"2":{"barcode":"4-9A57A2L"}},"3":{}}})");
  REQUIRE(sparse.ok());
  const auto& s = std::get<local::InfrastructureReport>(*sparse);
  CHECK_FALSE(s.gateways.at(1).address.has_value());
  CHECK(s.gateways.at(1).address_text == "?");
  CHECK(s.nodes.at(1).at(2).address == 0x04C05B40009A57A2);
  CHECK(s.nodes.at(3).empty());
}

TEST_CASE("taptap line: an unknown event_type is an event of its own, not an error",
          "[local][taptap]") {
  auto event = local::parse_taptap_line(R"({"event_type":"topology_report","x":[1,2]})");
  REQUIRE(event.ok());
  REQUIRE(std::holds_alternative<local::UnknownEvent>(*event));
  CHECK(std::get<local::UnknownEvent>(*event).type == "topology_report");
  auto long_name = local::parse_taptap_line("{\"event_type\":\"" + std::string(300, 'x') + "\"}");
  REQUIRE(long_name.ok());
  CHECK(std::get<local::UnknownEvent>(*long_name).type.size() == local::kMaxTypeName);
}

TEST_CASE("taptap line: malformed lines are refused with a short reason", "[local][taptap]") {
  CHECK(refusal("") == "line: empty");
  CHECK(refusal("not json").rfind("line: invalid JSON", 0) == 0);
  CHECK(refusal("[1,2]") == "line: not an object");
  CHECK(refusal(std::string(kNewLine).substr(0, 80)).rfind("line: invalid JSON", 0) == 0);
  CHECK(refusal(R"({"event_type":7})") == "event_type: not a string");
  CHECK(refusal(R"({"event_type":"power_report"})") == "gateway: missing");
  CHECK(refusal(with("voltage_in", "-0.05")) == "voltage_in: out of range 0..200: -0.05");
  CHECK(refusal(with("voltage_out", "250")) == "voltage_out: out of range 0..200: 250");
  CHECK(refusal(with("current", "50.5")) == "current: out of range 0..50: 50.5");
  CHECK(refusal(with("dc_dc_duty_cycle", "1.01")) == "dc_dc_duty_cycle: out of range 0..1: 1.01");
  CHECK(refusal(with("temperature", "-61")) == "temperature: out of range -60..150: -61");
  CHECK(refusal(with("temperature", "\"20\"")) == "temperature: not a number");
  CHECK(refusal(with("rssi", "256")) == "rssi: out of range 0..255: 256");
  CHECK(refusal(with("rssi", "20.5")) == "rssi: not an integer");
  CHECK(refusal(with("gateway", "32768")) == "gateway: out of range 0..32767: 32768");
  CHECK(refusal(with("gateway", "\"4609\"")) == "gateway: not an integer");
  CHECK(refusal(with("node", "0")) == "node: out of range 1..65535: 0");
  CHECK(refusal(with("node", "65536")) == "node: out of range 1..65535: 65536");
  CHECK(refusal(with("node", "18446744073709551615")) == "node: out of range");
  CHECK(refusal(with("node", "{\"address\":\"04:C0:5B:40:00:9A:57:A2\"}")) == "node: no id");
  CHECK(refusal(with("node", "{\"id\":5,\"barcode\":\"4-9A57A2G\"}")) == "node: bad barcode");
  CHECK(refusal(with("voltage_in", "1e999")).rfind("line: invalid JSON", 0) == 0);
  for (const char* time : {"\"2025-06-01T12:00:05\"", "\"2025-06-01T12:00:05.1234567891Z\"",
                           "\"2025-06-01T12:00\"", "\"2025-02-30T12:00:05Z\"", "\"2025-06-01\"",
                           "\"2025-06-01T12:00:05.Z\"", "\"2025-06-01T25:00:05Z\"", "12"}) {
    INFO(time);
    CHECK(refusal(with("timestamp", time)).rfind("timestamp: ", 0) == 0);
  }
}

TEST_CASE("taptap line: infrastructure reports with bad ids or addresses are refused",
          "[local][taptap]") {
  const std::string head = R"({"event_type":"infrastructure_report",)";
  CHECK(refusal(head + R"("nodes":[]})") == "nodes: not an object");
  CHECK(refusal(head + R"("gateways":{"x":{}}})") == "gateways: bad id key");
  CHECK(refusal(head + R"("gateways":{"32768":{}}})") == "gateways: bad id key");
  CHECK(refusal(head + R"("gateways":{"1":5}})") == "gateways: not an object");
  CHECK(refusal(head + R"("gateways":{"1":{"version":5}}})") ==
        "gateways: address or version not a string");
  CHECK(refusal(head + R"("nodes":{"01":{}}})") == "nodes: bad id key");
  CHECK(refusal(head + R"("nodes":{"1":{"0":{"barcode":"4-9A57A2L"}}}})") == "nodes: bad id key");
  CHECK(refusal(head + R"("nodes":{"1":{"+2":{"barcode":"4-9A57A2L"}}}})") == "nodes: bad id key");
  CHECK(refusal(head + R"("nodes":{"1":{"2":{}}}})") == "nodes: node 2 has no address");
  CHECK(refusal(head + R"("nodes":{"1":{"2":{"address":"04:C0"}}}})") == "nodes: bad address");
}

TEST_CASE("taptap line: size and nesting are bounded", "[local][taptap]") {
  std::string deep = "{\"event_type\":\"x\",\"a\":";
  for (int i = 0; i < 20; ++i) deep += "[";
  for (int i = 0; i < 20; ++i) deep += "]";
  deep += "}";
  CHECK(refusal(deep).rfind("line: invalid JSON", 0) == 0);
  std::string huge =
      "{\"event_type\":\"x\",\"pad\":\"" + std::string(local::kMaxLineBytes, 'x') + "\"}";
  CHECK(refusal(huge) == "line: too long");
  // Just under the limit is read.
  std::string big = "{\"event_type\":\"x\",\"pad\":\"";
  big += std::string(local::kMaxLineBytes - big.size() - 2, 'x') + "\"}";
  REQUIRE(big.size() == local::kMaxLineBytes);
  CHECK(local::parse_taptap_line(big).ok());
}

TEST_CASE("taptap line: what is written reads back as the same event", "[local][taptap]") {
  for (std::string_view line :
       {kReadmeLine, kNewLine, kInfrastructure, std::string_view(R"({"event_type":"x<y"})")}) {
    auto event = local::parse_taptap_line(line);
    REQUIRE(event.ok());
    const std::string text = local::format_taptap_line(*event);
    INFO(text);
    auto again = local::parse_taptap_line(text);
    REQUIRE(again.ok());
    CHECK(*again == *event);
    CHECK(local::format_taptap_line(*again) == text);
  }
  std::string with_address(kReadmeLine);
  with_address.replace(with_address.find(R"({"id":116})"), 10,
                       R"({"id":116,"barcode":"4-9A57A2L"})");
  auto event = local::parse_taptap_line(with_address);
  REQUIRE(event.ok());
  CHECK(local::parse_taptap_line(local::format_taptap_line(*event)).value() == *event);
}
