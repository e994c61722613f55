#include "util/gzip.hpp"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("gzip round trip, single and parallel members", "[gzip]") {
  std::string text;
  for (int i = 0; i < 200000; ++i)
    text += "tigo_panel_power_watts{system_id=\"" + std::to_string(1000 + i % 97) + "\",panel=\"A" +
            std::to_string(i) + "\"} " + std::to_string(i * 0.5) + "\n";
  REQUIRE(text.size() > 4u << 20);
  const auto one = util::gzip_compress(text);
  CHECK(one.size() < text.size() / 4);
  CHECK(util::gzip_decompress(one) == text);
  for (int parts : {1, 2, 3}) {
    INFO(parts);
    const auto many = util::gzip_compress_parallel(text, parts);
    CHECK(util::gzip_decompress(many) == text);
    // Each member starts with the gzip magic: the body is `parts` members back to back.
    std::size_t members = 0;
    for (std::size_t at = many.find("\x1f\x8b\x08"); at != std::string::npos;
         at = many.find("\x1f\x8b\x08", at + 1))
      ++members;
    CHECK(members >= static_cast<std::size_t>(parts));
  }
  CHECK(util::gzip_decompress(util::gzip_compress_parallel("small\n", 2)) == "small\n");
  CHECK(util::gzip_decompress(util::gzip_compress("")).empty());
}
