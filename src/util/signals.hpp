// Waiting for SIGINT/SIGTERM without async-signal-unsafe handlers: block them in every thread,
// then wait for one on the calling thread.
#pragma once

namespace util {

// Call first in main, before any thread starts, so every thread inherits the mask.
void block_termination_signals();
// Blocks until SIGINT or SIGTERM arrives; returns its number.
int wait_for_termination_signal();

}  // namespace util
