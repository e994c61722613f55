// Panel identities as the Tigo bus and the cloud print them. An optimizer has a permanent 8-byte
// radio address 04:C0:5B:4x:xx:xx:xx:xx; its label shows the barcode "4-9A57A2L" (the address's
// hex after the 04C05B prefix, leading zeros dropped, and a check letter); the cloud's layout
// shows a serial in one of several forms. The simulator's panels are 04:C0:5B:40:00:ab:cd:ef,
// their three low bytes from the seed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sim {

using LongAddress = std::array<std::uint8_t, 8>;

// How systems/layout and objects/system print a panel's serial (`--serial-format`).
enum class SerialFormat {
  Mac,      // "04C05B9A57A2": the prefix and the three low bytes (the default)
  Address,  // "04:C0:5B:40:00:9A:57:A2": the whole radio address
  Barcode,  // "4-9A57A2L": the label's barcode
};
std::optional<SerialFormat> parse_serial_format(std::string_view text);

// 04:C0:5B:<high>:<24 bits of low>: a panel optimizer (high 0x40) or a gateway (high 0x30).
LongAddress tigo_address(std::uint8_t high, std::uint32_t low);
// "04:C0:5B:40:00:9A:57:A2"
std::string address_text(const LongAddress& a);
// The label's check letter: a 4-bit CRC (x^4 + x + 1, most significant bit first, starting
// at 2) over the 8 bytes, as one of GHJKLMNPRSTVWXYZ.
char barcode_check(const LongAddress& a);
// "4-9A57A2L" for 04:C0:5B:40:00:9A:57:A2; an address without the 04:C0:5B prefix prints as
// address_text (it has no barcode).
std::string barcode(const LongAddress& a);
// A panel's serial in the given form, from the three low bytes of its address.
std::string panel_serial(std::uint32_t low, SerialFormat format);

}  // namespace sim
