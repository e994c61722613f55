#include "local/barcode.hpp"

#include <cstdio>

namespace local {
namespace {

// Tigo's block of addresses: the first three bytes of every TAP and TS4.
constexpr Address kTigoPrefix = 0x04C05B;
constexpr std::string_view kCheckLetters = "GHJKLMNPRSTVWXYZ";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// One byte into the 4-bit CRC: the register is XORed into the byte's high nibble, then the 8
// bits are divided by x^4 + x + 1 (0x13), most significant first.
unsigned crc4_step(unsigned crc, unsigned byte) {
  unsigned remainder = ((byte ^ (crc << 4)) & 0xFFu) << 4;
  for (int bit = 11; bit >= 4; --bit) {
    if (remainder & (1u << bit)) remainder ^= 0x13u << (bit - 4);
  }
  return remainder & 0xFu;
}

std::string hex16(Address address) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llX", static_cast<unsigned long long>(address));
  return text;
}

}  // namespace

std::optional<Address> parse_address(std::string_view text) {
  // Eight pairs and seven separators.
  if (text.size() != 23) return std::nullopt;
  Address address = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const int high = hex_value(text[i * 3]);
    const int low = hex_value(text[i * 3 + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    if (i < 7 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return std::nullopt;
    address = (address << 8) | static_cast<Address>(high << 4 | low);
  }
  // One separator throughout: "04:C0-5B..." is no address anyone writes.
  for (std::size_t i = 1; i < 7; ++i)
    if (text[i * 3 + 2] != text[2]) return std::nullopt;
  return address;
}

std::string format_address(Address address) {
  std::string out;
  out.reserve(23);
  const std::string hex = hex16(address);
  for (std::size_t i = 0; i < 8; ++i) {
    if (i > 0) out += ':';
    out += hex.substr(i * 2, 2);
  }
  return out;
}

char barcode_check_letter(Address address) {
  unsigned crc = 2;
  for (int shift = 56; shift >= 0; shift -= 8) crc = crc4_step(crc, (address >> shift) & 0xFFu);
  return kCheckLetters[crc];
}

std::optional<std::string> format_barcode(Address address) {
  if ((address >> 40) != kTigoPrefix) return std::nullopt;
  const std::string hex = hex16(address);  // "04C05B" + 10 nibbles
  std::string out;
  out += hex[6];
  out += '-';
  std::string_view rest = std::string_view(hex).substr(7);  // 9 nibbles
  // taptap drops every leading zero, so an all-zero rest would print nothing and not parse back.
  while (rest.size() > 1 && rest.front() == '0') rest.remove_prefix(1);
  out += rest;
  out += barcode_check_letter(address);
  return out;
}

std::optional<Address> parse_barcode(std::string_view text) {
  // Lead nibble, '-', 1 to 9 nibbles, check letter.
  if (text.size() < 4 || text.size() > 12 || text[1] != '-') return std::nullopt;
  const int lead = hex_value(text[0]);
  if (lead < 0) return std::nullopt;
  Address rest = 0;
  for (char c : text.substr(2, text.size() - 3)) {
    const int v = hex_value(c);
    if (v < 0) return std::nullopt;
    rest = (rest << 4) | static_cast<Address>(v);
  }
  const Address address = ((kTigoPrefix << 4 | static_cast<Address>(lead)) << 36) | rest;
  if (upper(text.back()) != barcode_check_letter(address)) return std::nullopt;
  return address;
}

std::string normalise_serial(std::string_view serial) {
  std::string out;
  out.reserve(serial.size());
  for (char c : serial) {
    if (c == ':' || c == '-' || c == '.' || c == ' ') continue;
    if (hex_value(c) < 0) return {};
    out += upper(c);
  }
  return out;
}

std::optional<SerialPattern> serial_pattern(std::string_view serial) {
  while (!serial.empty() && serial.front() == ' ') serial.remove_prefix(1);
  while (!serial.empty() && serial.back() == ' ') serial.remove_suffix(1);
  constexpr Address kAll = ~Address{0};
  if (auto decoded = parse_barcode(serial)) return SerialPattern{*decoded, kAll};
  const std::string hex = normalise_serial(serial);
  // The full 16 digits, or 04C05B and 6 to 9 more.
  if (hex.size() != 16 && (hex.size() < 12 || hex.size() > 15 || hex.compare(0, 6, "04C05B") != 0))
    return std::nullopt;
  Address digits = 0;
  for (char c : hex) digits = (digits << 4) | static_cast<Address>(hex_value(c));
  if (hex.size() == 16) return SerialPattern{digits, kAll};
  const std::size_t tail_bits = (hex.size() - 6) * 4;
  const Address tail_mask = (Address{1} << tail_bits) - 1;
  const Address prefix_mask = Address{0xFFFFFF} << 40;
  return SerialPattern{(kTigoPrefix << 40) | (digits & tail_mask), prefix_mask | tail_mask};
}

bool matches(std::string_view serial, Address address) {
  const auto pattern = serial_pattern(serial);
  return pattern && pattern->matches(address);
}

}  // namespace local
