// Base64 decoding for HTTP basic auth headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace util {

// Standard alphabet, padding optional; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);

// "Basic dXNlcjpwdw==" -> {"user", "pw"}; nullopt if the header is not basic auth.
std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header);

}  // namespace util
