// Escaping for the three contexts the pages write untrusted text into (system, panel and
// gateway names, error messages): HTML text and quoted attributes, JSON strings, and nothing
// else. No value is ever written into a <script>: scripts read data-* attributes and JSON.
#pragma once

#include <string>
#include <string_view>

namespace pages {

// For HTML text and double- or single-quoted attribute values.
std::string html_escape(std::string_view s);
void append_html(std::string& out, std::string_view s);

// A JSON string literal, quotes included. Besides what JSON requires, <, >, & and U+2028/2029
// are escaped, so the text is also inert if someone pastes it into HTML or a script. Invalid
// UTF-8 bytes become U+FFFD: the document stays valid JSON whatever Tigo sent.
std::string json_string(std::string_view s);
void append_json_string(std::string& out, std::string_view s);

}  // namespace pages
