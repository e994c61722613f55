// Node addresses, Tigo barcodes and the match of a cloud serial to a bus node.
#include "local/barcode.hpp"

#include <catch2/catch.hpp>
#include <random>

using local::Address;

TEST_CASE("barcode: taptap's known addresses and their check letters", "[local][barcode]") {
  CHECK(local::format_barcode(0x04C05B40009A57A2) == "4-9A57A2L");
  CHECK(local::barcode_check_letter(0x04C05B40009A57A2) == 'L');
  CHECK(local::barcode_check_letter(0x04C05B400079AC16) == 'V');
  CHECK(local::barcode_check_letter(0x04C05B400079AB99) == 'W');
  CHECK(local::parse_barcode("4-9A57A2L") == Address{0x04C05B40009A57A2});
  CHECK(local::parse_barcode("4-79AC16V") == Address{0x04C05B400079AC16});
  CHECK(local::parse_barcode("4-9a57a2l") == Address{0x04C05B40009A57A2});
}

TEST_CASE("barcode: a wrong check letter or shape is refused", "[local][barcode]") {
  for (const char* bad :
       {"4-9A57A2G", "", "4", "4-", "4-L", "G-9A57A2L", "4_9A57A2L", "4-9A57A2LL", "4-9A57A2",
        "4-1234567890L", "4--9A57A2L", " 4-9A57A2L", "4-9A57 A2L", "4-9A57A2\xc3\xa9"}) {
    INFO(bad);
    CHECK_FALSE(local::parse_barcode(bad).has_value());
  }
}

TEST_CASE("barcode: leading zeros dropped, one digit kept, other blocks have none",
          "[local][barcode]") {
  const Address small = 0x04C05B4000000123;
  const auto text = local::format_barcode(small);
  REQUIRE(text.has_value());
  CHECK(text->substr(0, 5) == "4-123");
  CHECK(text->size() == 6);
  CHECK(local::parse_barcode(*text) == small);
  const auto zero = local::format_barcode(0x04C05B4000000000);
  REQUIRE(zero.has_value());
  CHECK(zero->substr(0, 3) == "4-0");
  CHECK(local::parse_barcode(*zero) == Address{0x04C05B4000000000});
  // The 9 nibbles after the lead one are all printed when the first is not zero.
  CHECK(local::format_barcode(0x04C05B4123456789)->substr(0, 11) == "4-123456789");
  CHECK_FALSE(local::format_barcode(0x0011223344556677).has_value());
}

TEST_CASE("barcode and address text: round trips over the Tigo block", "[local][barcode]") {
  std::mt19937_64 random(19);
  for (int i = 0; i < 2000; ++i) {
    const Address address = (Address{0x04C05B} << 40) | (random() & 0xFFFFFFFFFFull);
    const auto barcode = local::format_barcode(address);
    REQUIRE(barcode.has_value());
    CHECK(local::parse_barcode(*barcode) == address);
    CHECK(local::parse_address(local::format_address(address)) == address);
    CHECK(local::matches(*barcode, address));
    CHECK(local::matches(local::format_address(address), address));
  }
}

TEST_CASE("address text: taptap's form, either case, ':' or '-'", "[local][barcode]") {
  CHECK(local::format_address(0x04C05B40009A57A2) == "04:C0:5B:40:00:9A:57:A2");
  CHECK(local::parse_address("04:C0:5B:40:00:9A:57:A2") == Address{0x04C05B40009A57A2});
  CHECK(local::parse_address("04:c0:5b:40:00:9a:57:a2") == Address{0x04C05B40009A57A2});
  CHECK(local::parse_address("04-C0-5B-40-00-9A-57-A2") == Address{0x04C05B40009A57A2});
  CHECK(local::parse_address("FF:FF:FF:FF:FF:FF:FF:FF") == ~Address{0});
  for (const char* bad : {"", "04:C0:5B:40:00:9A:57", "04:C0:5B:40:00:9A:57:A2:00",
                          "04:C0-5B:40:00:9A:57:A2", "04C05B40009A57A2", "04:C0:5B:40:00:9A:57:G2",
                          "04:C0:5B:40:00:9A:57:A2 ", "4:C0:5B:40:00:9A:57:A2:"}) {
    INFO(bad);
    CHECK_FALSE(local::parse_address(bad).has_value());
  }
}

TEST_CASE("serials: normalised to upper-case hex, anything else is no hex", "[local][barcode]") {
  CHECK(local::normalise_serial("04:c0:5b:40:00:9a:57:a2") == "04C05B40009A57A2");
  CHECK(local::normalise_serial("04-C0 5B.9A57A2") == "04C05B9A57A2");
  CHECK(local::normalise_serial("INV123").empty());
  CHECK(local::normalise_serial("4-9A57A2L").empty());
}

TEST_CASE("serials: a barcode, the full hex, or 04C05B and the address's last digits match",
          "[local][barcode]") {
  const Address address = 0x04C05B40009A57A2;
  for (const char* same :
       {"4-9A57A2L", "4-9a57a2l", " 4-9A57A2L ", "04C05B40009A57A2", "04:C0:5B:40:00:9A:57:A2",
        "04c05b40009a57a2", "04C05B9A57A2", "04C05B009A57A2", "04-C0-5B-9A-57-A2"}) {
    INFO(same);
    CHECK(local::matches(same, address));
  }
  for (const char* other :
       {"4-9A57A3L", "4-9A57A2G", "04C05B40009A57A3", "04C05B9A57A3", "04C05B57A2", "05C05B9A57A2",
        "9A57A2", "", "A1", "INV9A57A2", "04C05B40009A57A2FF"}) {
    INFO(other);
    CHECK_FALSE(local::matches(other, address));
  }
  // The short form says nothing of the digits it leaves out, but keeps Tigo's block.
  CHECK(local::matches("04C05B9A57A2", 0x04C05B41239A57A2));
  CHECK_FALSE(local::matches("04C05B9A57A2", 0x05C05B40009A57A2));
}

TEST_CASE("serials: the simulator's panel serial, its bus address and barcode agree",
          "[local][barcode]") {
  // tigo_sim writes a panel serial as 04C05B and 6 hex digits; on the bus the node's address is
  // 04:C0:5B:40:00 and those 3 bytes, so its barcode is 4- and the digits.
  const std::string serial = "04C05B0A1B2C";
  const Address address = 0x04C05B40000A1B2C;
  const auto barcode = local::format_barcode(address);
  REQUIRE(barcode.has_value());
  CHECK(barcode->substr(0, barcode->size() - 1) == "4-A1B2C");
  CHECK(local::matches(serial, address));
  CHECK(local::matches(*barcode, address));
  const auto pattern = local::serial_pattern(serial);
  REQUIRE(pattern.has_value());
  CHECK(pattern->matches(address));
  CHECK_FALSE(pattern->matches(address + 1));
}
