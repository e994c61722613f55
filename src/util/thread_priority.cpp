#include "util/thread_priority.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

namespace util {

void lower_current_thread_priority(int increment) {
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) return;
  setpriority(PRIO_PROCESS, tid, now + increment);
}

}  // namespace util
