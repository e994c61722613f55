// Durations of the flags ("30s", "1h30m"): what parses prints back to the same length.
#include "util/duration.hpp"

#include <string>

#include "targets.hpp"

namespace fuzz {

void run_duration(std::string_view input) {
  const auto d = util::parse_duration(input);
  if (!d) return;
  require(d->count() >= 0, "negative duration from \"" + std::string(input) + "\"");
  const std::string printed = util::format_duration(*d);
  const auto again = util::parse_duration(printed);
  require(again && *again == *d, "\"" + printed + "\" does not read back as the same duration");
}

}  // namespace fuzz
