// Escaping for the three contexts the pages write untrusted text into (system, panel and
// gateway names, error messages): HTML text and quoted attributes, JSON strings, and nothing
// else. No value is ever written into a <script>: scripts read data-* attributes and JSON.
#pragma once

#include <string>
#include <string_view>

#include "util/json_string.hpp"

namespace pages {

// For HTML text and double- or single-quoted attribute values.
std::string html_escape(std::string_view s);
void append_html(std::string& out, std::string_view s);

// JSON strings: util/json_string.hpp (the same escaping as the logs and the simulator).
using util::append_json_string;
using util::json_string;

}  // namespace pages
