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

TEST_CASE("GzipReader streams concatenated members in any piece size, and fails on damage",
          "[gzip]") {
  std::string text;
  for (int i = 0; text.size() < 2'500'000; ++i)
    text += "line " + std::to_string(i * 31 % 9973) + "\n";
  const std::string gz = util::gzip_compress_parallel(text, 2) + util::gzip_compress("tail\n");
  for (std::size_t piece :
       {std::size_t{1}, std::size_t{7}, std::size_t{65536}, std::size_t{1} << 22}) {
    util::GzipReader reader(gz);
    std::string out, buf(piece, '\0');
    for (std::size_t n; (n = reader.read(buf.data(), buf.size())) > 0 && out.size() < 4'000'000;)
      out.append(buf, 0, n);
    INFO(piece);
    CHECK_FALSE(reader.failed());
    CHECK(out == text + "tail\n");
  }
  util::GzipReader truncated(std::string_view(gz).substr(0, gz.size() / 2));
  std::string buf(65536, '\0');
  std::size_t total = 0;
  for (std::size_t n; (n = truncated.read(buf.data(), buf.size())) > 0;) total += n;
  CHECK(truncated.failed());
  CHECK(total < text.size());
  util::GzipReader garbage("not gzip at all");
  CHECK(garbage.read(buf.data(), buf.size()) == 0);
  CHECK(garbage.failed());
  util::GzipReader empty("");
  CHECK(empty.read(buf.data(), buf.size()) == 0);
  CHECK_FALSE(empty.failed());
}
