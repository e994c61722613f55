// The state file (--storage.path) on its text: a file is read back only if all of it checks, and
// what is read is written again as a text that reads back as the same state, byte for byte.
#include "refresh/state_file.hpp"

#include <string>

#include "targets.hpp"

namespace fuzz {

void run_state_file(std::string_view input) {
  const auto state = refresh::parse_state(input);
  if (!state) {
    require(!state.error().message.empty(), "refused without a reason");
    return;
  }
  const std::string text = refresh::serialize_state(*state);
  const auto again = refresh::parse_state(text);
  require(again.ok(),
          "its own text is refused: " + (again ? std::string() : again.error().message));
  require(refresh::serialize_state(*again) == text, "written again, the text differs");
}

}  // namespace fuzz
