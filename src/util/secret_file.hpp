// Secrets kept in files (the Tigo password, a bearer token): read whole, trailing newlines
// dropped. Shared by the flags (read at start) and the Tigo client (read again when a login is
// due, a token is refused, or on SIGHUP), so both see the same text.
#pragma once

#include <string>

#include "util/result.hpp"

namespace util {

// The file's content without its trailing CR and LF. The error names the path and the system's
// reason, never the content.
Result<std::string> read_secret_file(const std::string& path);

}  // namespace util
