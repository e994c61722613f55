// The Authorization header as the web server checks it: the header parser itself, and
// BasicAuth::check with one user (a bcrypt hash of cost 4, the cheapest, so that inputs that
// reach the comparison stay fast).
#include "web/basic_auth.hpp"

#include <map>
#include <string>
#include <utility>

#include "targets.hpp"
#include "util/base64.hpp"

namespace fuzz {
namespace {

// Test oracle: standard base64 with padding.
std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

void run_basic_auth(std::string_view input) {
  // User "fuzz", password "fuzz", bcrypt of cost 4 (htpasswd -nbBC 4 fuzz fuzz).
  static web::BasicAuth auth(std::map<std::string, std::string>{
      {"fuzz", "$2b$04$ZW1PQf5ePp3F3RIFW24NtelW49pKI4CYSujr6K2XKpHMBo8XHYHge"}});

  const auto credentials = util::parse_basic_auth(input);
  if (credentials) {
    // What was read is what the header says: encoding it again reads the same.
    const auto again = util::parse_basic_auth(
        "Basic " + base64_encode(credentials->first + ":" + credentials->second));
    require(again && *again == *credentials, "user:password does not survive re-encoding");
    require(credentials->first.find(':') == std::string::npos, "user name holds a ':'");
  }
  const bool accepted = auth.check(input);
  require(
      !accepted || (credentials && credentials->first == "fuzz" && credentials->second == "fuzz"),
      "a header with other credentials was accepted");
  // The header's own encoding of the right credentials is accepted.
  if (credentials && credentials->first == "fuzz" && credentials->second == "fuzz")
    require(accepted, "the right credentials were refused");
}

}  // namespace fuzz
