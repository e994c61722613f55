// The state file (--storage.path) on its text: a file is read back only if all of it checks, and
// what is read is written again as a text that reads back as the same state, byte for byte. A file
// that reads is restored and the policy runs an hour on it (a fake clock, every job answered), so a
// file that parses can never crash the policy.
#include "refresh/state_file.hpp"

#include <string>

#include "targets.hpp"

namespace fuzz {

namespace {

// Restores `state` as the refresher would at start, then an hour of jobs a minute apart: each
// answered, panel power with a batch every ten minutes, every fifth job failing.
void run_policy_on(refresh::SavedState state) {
  refresh::RestoreOptions options;
  options.identity = state.identity;
  options.now = state.written_at + std::chrono::minutes{3};
  options.max_age = std::chrono::hours{6};
  refresh::FleetState fleet;
  refresh::Policy policy(refresh::default_policy_options());
  const auto restored = refresh::restore_state(std::move(state), options, fleet, policy);
  require(restored.ok(), "a file that reads, restored at its own time, is refused: " +
                             (restored ? std::string() : restored.error().message));
  int job_count = 0;
  for (auto now = options.now; now < options.now + std::chrono::hours{1};
       now += std::chrono::minutes{1}) {
    // Elapsed time from the restart (in nanoseconds a file's far-future time would overflow).
    policy.observe_clock(now, now - options.now);
    for (int i = 0; i < 200; ++i) {
      const auto job = policy.next(now);
      if (!job) break;
      refresh::Outcome outcome;
      outcome.ok = ++job_count % 5 != 0;
      outcome.panels_known = true;
      outcome.newest_pin = std::chrono::floor<std::chrono::minutes>(now) -
                           (now.time_since_epoch() % std::chrono::minutes{10});
      outcome.detail_calls = 4;
      policy.finished(*job, now, outcome);
    }
    require(policy.next_wake(now) >= now, "the next wake is in the past");
    require(policy.in_flight() == 0, "a finished job is still in flight");
  }
}

}  // namespace

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
  run_policy_on(*state);
}

}  // namespace fuzz
