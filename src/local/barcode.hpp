// The permanent identity of a node on the Tigo bus: its 8-byte hardware address
// (04:C0:5B:40:00:9A:57:A2), the barcode printed on the unit (4-9A57A2L), and the match of a
// panel serial from the cloud to a bus node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace local {

// The 8 address bytes, first byte most significant: 04:C0:5B:40:00:9A:57:A2 is 0x04C05B40009A57A2.
using Address = std::uint64_t;

// "04:C0:5B:40:00:9A:57:A2" ('-' separators too, either case); nullopt for anything else.
std::optional<Address> parse_address(std::string_view text);
// Upper case with ':' separators, as taptap writes it.
std::string format_address(Address address);

// Tigo's barcode: the high nibble of the 4th byte, '-', the 9 remaining nibbles in hex with
// leading zeros dropped (one digit kept), then a check letter. Only addresses of Tigo's
// 04:C0:5B block have one (nullopt otherwise).
std::optional<std::string> format_barcode(Address address);
// "4-9A57A2L" (either case): nullopt unless the check letter matches.
std::optional<Address> parse_barcode(std::string_view text);
// The check letter of an address: a 4-bit CRC (x^4 + x + 1, most significant bit first, starting
// value 2) over the 8 bytes, as one of "GHJKLMNPRSTVWXYZ".
char barcode_check_letter(Address address);

// A serial as the cloud may write it, reduced to upper-case hex: separators (':', '-', '.', ' ')
// dropped; empty when anything else remains (a barcode's check letter, a model name).
std::string normalise_serial(std::string_view serial);

// What a cloud serial says of an address, read once and tested against many: the address is
// named when (address & mask) == value. A barcode or the 16 hex digits name one address; a
// shorter hex starting with Tigo's 04C05B names the addresses of that block ending in its
// remaining digits (at least 6; the simulator's and some accounts' form: 04C05B9A57A2).
struct SerialPattern {
  Address value = 0;
  Address mask = 0;
  bool matches(Address address) const { return (address & mask) == value; }
  bool operator==(const SerialPattern&) const = default;
};
// nullopt when the serial is none of those forms (it then names no node).
std::optional<SerialPattern> serial_pattern(std::string_view serial);

// serial_pattern(serial) names `address`.
bool matches(std::string_view serial, Address address);

}  // namespace local
