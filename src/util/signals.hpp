// Waiting for signals without async-signal-unsafe handlers: block SIGINT, SIGTERM and SIGHUP in
// every thread, then wait for one on the calling thread.
#pragma once

namespace util {

// Call first in main, before any thread starts, so every thread inherits the mask. SIGHUP is
// blocked too: it never kills the process (the exporter reloads on it, others ignore it).
void block_termination_signals();
// Blocks until SIGINT or SIGTERM arrives; returns its number. SIGHUP is consumed and ignored.
int wait_for_termination_signal();
// Blocks until SIGINT, SIGTERM or SIGHUP arrives; returns its number.
int wait_for_signal();

}  // namespace util
