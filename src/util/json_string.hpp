// JSON string literals for everything the project writes as JSON text (logs, the pages' data,
// the simulator's answers): one escaping, safe for any bytes.
#pragma once

#include <string>
#include <string_view>

namespace util {

// A JSON string literal, quotes included. Besides what JSON requires, <, >, & and U+2028/2029
// are escaped, so the text is also inert if someone pastes it into HTML or a script. Invalid
// UTF-8 bytes become U+FFFD: the document stays valid JSON whatever the input.
std::string json_string(std::string_view s);
void append_json_string(std::string& out, std::string_view s);

}  // namespace util
