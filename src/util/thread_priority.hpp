// Background work (rendering the fleet, gzipping it) yields the CPU to scrapes and API calls.
#pragma once

namespace util {

// Raises the calling thread's nice value by `increment` (Linux: nice is per thread, and threads
// it starts inherit it). Best effort: a failure leaves the priority as it was.
void lower_current_thread_priority(int increment = 10);

}  // namespace util
