#include "sim/serials.hpp"

#include <cstdio>

namespace sim {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kCheckLetters[] = "GHJKLMNPRSTVWXYZ";
constexpr std::uint8_t kPanelHigh = 0x40;

}  // namespace

std::optional<SerialFormat> parse_serial_format(std::string_view text) {
  if (text == "mac") return SerialFormat::Mac;
  if (text == "address") return SerialFormat::Address;
  if (text == "barcode") return SerialFormat::Barcode;
  return std::nullopt;
}

LongAddress tigo_address(std::uint8_t high, std::uint32_t low) {
  return {0x04,
          0xC0,
          0x5B,
          high,
          static_cast<std::uint8_t>(low >> 24),
          static_cast<std::uint8_t>(low >> 16),
          static_cast<std::uint8_t>(low >> 8),
          static_cast<std::uint8_t>(low)};
}

std::string address_text(const LongAddress& a) {
  std::string out;
  out.reserve(23);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i) out += ':';
    out += kHex[a[i] >> 4];
    out += kHex[a[i] & 0xF];
  }
  return out;
}

char barcode_check(const LongAddress& a) {
  // Each byte enters below the 4-bit register; the 12 bits are reduced modulo x^4 + x + 1.
  unsigned crc = 2;
  for (const std::uint8_t byte : a) {
    unsigned v = ((crc << 4) ^ byte) << 4;
    for (int bit = 11; bit >= 4; --bit)
      if (v & (1u << bit)) v ^= 0x13u << (bit - 4);
    crc = v & 0xF;
  }
  return kCheckLetters[crc];
}

std::string barcode(const LongAddress& a) {
  if (a[0] != 0x04 || a[1] != 0xC0 || a[2] != 0x5B) return address_text(a);
  std::string out;
  out += kHex[a[3] >> 4];
  out += '-';
  bool leading = true;
  for (int i = 0; i < 9; ++i) {
    // Nibbles after the first: the low one of byte 3, then bytes 4..7.
    const int n = i + 1;
    const std::uint8_t byte = a[3 + static_cast<std::size_t>(n) / 2];
    const unsigned nibble = n % 2 ? byte & 0xF : byte >> 4;
    if (leading && nibble == 0) continue;
    leading = false;
    out += kHex[nibble];
  }
  out += barcode_check(a);
  return out;
}

std::string panel_serial(std::uint32_t low, SerialFormat format) {
  low &= 0xFFFFFF;
  switch (format) {
    case SerialFormat::Address:
      return address_text(tigo_address(kPanelHigh, low));
    case SerialFormat::Barcode:
      return barcode(tigo_address(kPanelHigh, low));
    case SerialFormat::Mac:
      break;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "04C05B%06X", static_cast<unsigned>(low));
  return buf;
}

}  // namespace sim
