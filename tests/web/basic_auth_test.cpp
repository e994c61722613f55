// Basic auth against bcrypt hashes: verdicts, the cache (told apart by bcrypt runs, not by time)
// and the dummy hash for unknown names.
#include "web/basic_auth.hpp"

#include <crypt.h>

#include <catch2/catch.hpp>
#include <string>

#include "util/base64.hpp"

namespace {

std::string hash_password(const std::string& pw, unsigned long cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* h = crypt_r(pw.c_str(), salt, &data);
  REQUIRE(h != nullptr);
  return h;
}

// "Basic base64(user:password)"
std::string header(const std::string& user, const std::string& password) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

using Verdict = web::BasicAuth::Verdict;

}  // namespace

TEST_CASE("basic auth: the header helper encodes what the parser decodes", "[web][auth]") {
  const auto parsed = util::parse_basic_auth(header("prom", "pa:ss"));
  REQUIRE(parsed.has_value());
  CHECK(parsed->first == "prom");
  CHECK(parsed->second == "pa:ss");
}

TEST_CASE("basic auth: verdicts for missing, malformed, wrong and right credentials",
          "[web][auth]") {
  web::BasicAuth auth({{"prom", hash_password("scrape-me")}, {"grafana", hash_password("dash")}});
  REQUIRE(auth.enabled());
  CHECK(auth.check("") == Verdict::missing);
  CHECK(auth.check("Bearer abc") == Verdict::invalid);
  CHECK(auth.check("Basic !!!") == Verdict::invalid);
  CHECK(auth.check(header("prom", "scrape-me")) == Verdict::ok);
  CHECK(auth.check(header("grafana", "dash")) == Verdict::ok);
  CHECK(auth.check(header("prom", "dash")) == Verdict::invalid);  // another user's password
  CHECK(auth.check(header("prom", "scrape-me ")) == Verdict::invalid);
  CHECK(auth.check(header("Prom", "scrape-me")) == Verdict::invalid);  // names are exact
  CHECK(auth.check(header("nobody", "scrape-me")) == Verdict::invalid);
  CHECK_FALSE(web::BasicAuth({}).enabled());
}

TEST_CASE("basic auth: a verdict already reached costs no bcrypt run", "[web][auth]") {
  web::BasicAuth auth({{"prom", hash_password("scrape-me")}});
  CHECK(auth.bcrypt_runs() == 0);
  CHECK(auth.check(header("prom", "scrape-me")) == Verdict::ok);
  CHECK(auth.bcrypt_runs() == 1);
  for (int i = 0; i < 5; ++i) CHECK(auth.check(header("prom", "scrape-me")) == Verdict::ok);
  CHECK(auth.bcrypt_runs() == 1);
  // A wrong password is checked once, then refused from the cache.
  CHECK(auth.check(header("prom", "guess")) == Verdict::invalid);
  CHECK(auth.check(header("prom", "guess")) == Verdict::invalid);
  CHECK(auth.bcrypt_runs() == 2);
  // Missing or malformed credentials never reach bcrypt.
  CHECK(auth.check("") == Verdict::missing);
  CHECK(auth.check("Basic !!!") == Verdict::invalid);
  CHECK(auth.bcrypt_runs() == 2);
}

TEST_CASE("basic auth: an unknown name costs a bcrypt run like a known one", "[web][auth]") {
  web::BasicAuth auth({{"prom", hash_password("scrape-me")}});
  CHECK(auth.check(header("nobody", "scrape-me")) == Verdict::invalid);
  CHECK(auth.bcrypt_runs() == 1);  // against the dummy hash
  CHECK(auth.check(header("nobody", "other")) == Verdict::invalid);
  CHECK(auth.bcrypt_runs() == 2);
  CHECK(auth.check(header("nobody", "other")) == Verdict::invalid);
  CHECK(auth.bcrypt_runs() == 2);  // cached like any refusal
  // The dummy hash matches no password, the empty one included.
  CHECK(auth.check(header("nobody", "")) == Verdict::invalid);
}

TEST_CASE("basic auth: the dummy hash has the users' (highest) cost", "[web][auth]") {
  CHECK(web::bcrypt_cost("$2b$04$abcdefghijklmnopqrstuu") == 4);
  CHECK(web::bcrypt_cost("$2y$12$abcdefghijklmnopqrstuu") == 12);
  CHECK(web::bcrypt_cost("nonsense") == 10);
  web::BasicAuth auth({{"a", hash_password("x", 4)}, {"b", hash_password("y", 5)}});
  CHECK(auth.dummy_hash().starts_with("$2b$05$"));
  CHECK(auth.dummy_hash().size() == 60);
  CHECK(web::BasicAuth({}).dummy_hash().empty());  // no users: nothing to hide, no bcrypt
}

TEST_CASE("basic auth: a flood of wrong passwords does not evict verified credentials",
          "[web][auth]") {
  web::BasicAuth auth({{"prom", hash_password("scrape-me")}}, 8);
  CHECK(auth.check(header("prom", "scrape-me")) == Verdict::ok);
  for (int i = 0; i < 30; ++i)
    CHECK(auth.check(header("prom", "guess" + std::to_string(i))) == Verdict::invalid);
  const auto runs = auth.bcrypt_runs();
  CHECK(runs == 31);
  CHECK(auth.check(header("prom", "scrape-me")) == Verdict::ok);
  CHECK(auth.bcrypt_runs() == runs);
  // The refused set is bounded: the oldest guesses were dropped and cost a run again.
  CHECK(auth.check(header("prom", "guess0")) == Verdict::invalid);
  CHECK(auth.bcrypt_runs() == runs + 1);
}

TEST_CASE("basic auth: a changed hash for the same user never reuses the old verdict",
          "[web][auth]") {
  const auto old_hash = hash_password("old");
  web::BasicAuth before({{"prom", old_hash}});
  CHECK(before.check(header("prom", "old")) == Verdict::ok);
  web::BasicAuth after({{"prom", hash_password("new")}});  // as a reload builds it
  CHECK(after.check(header("prom", "old")) == Verdict::invalid);
  CHECK(after.check(header("prom", "new")) == Verdict::ok);
}
