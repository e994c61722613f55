#include "util/thread_priority.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

namespace {
int own_nice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); }
}  // namespace

TEST_CASE("lowering a thread's priority affects that thread and the threads it starts only",
          "[util]") {
  const int main_before = own_nice();
  int lowered = 0, child = 0;
  std::thread worker([&] {
    const int before = own_nice();
    util::lower_current_thread_priority(5);
    lowered = own_nice() - before;
    std::thread([&] { child = own_nice() - before; }).join();
  });
  worker.join();
  const int expected = std::min(5, 19 - main_before);  // nice tops out at 19
  CHECK(lowered == expected);
  CHECK(child == expected);
  CHECK(own_nice() == main_before);
}
