#include "util/ascii.hpp"

#include <catch2/catch.hpp>

TEST_CASE("iequals folds ASCII letters only", "[util][ascii]") {
  CHECK(util::iequals("Content-Length", "content-length"));
  CHECK(util::iequals("TRANSFER-ENCODING", "Transfer-Encoding"));
  CHECK(util::iequals("", ""));
  CHECK_FALSE(util::iequals("chunked", "chunke"));
  CHECK_FALSE(util::iequals("chunked", "chunkex"));
  // Not letters: '@' and '`', '[' and '{', '^' and '~' differ only by 0x20 and must stay apart.
  CHECK_FALSE(util::iequals("@", "`"));
  CHECK_FALSE(util::iequals("[", "{"));
  CHECK_FALSE(util::iequals("^", "~"));
  // UTF-8 bytes are compared as they are: no locale folds them.
  CHECK(util::iequals("Zürich", "zürich"));
  CHECK_FALSE(util::iequals("\xC3\x9C", "\xC3\xBC"));  // U+00DC and U+00FC
}

TEST_CASE("ascii_lower lowers A to Z and nothing else", "[util][ascii]") {
  CHECK(util::ascii_lower("DateTime, Ü @[") == "datetime, Ü @[");
  CHECK(util::ascii_lower('Q') == 'q');
  CHECK(util::ascii_lower('@') == '@');
}

TEST_CASE("trim takes spaces and tabs off both ends only", "[util][ascii]") {
  CHECK(util::trim("  \tgzip;q=0.5 \t") == "gzip;q=0.5");
  CHECK(util::trim("a b") == "a b");
  CHECK(util::trim(" \t ").empty());
  CHECK(util::trim("").empty());
  // Other bytes are content: a CR or a newline is not optional whitespace.
  CHECK(util::trim("value\r") == "value\r");
  CHECK(util::trim("\nvalue") == "\nvalue");
}
