// The client's whole-call deadlines: an action runs once its deadline has passed, again until its
// watch ends, and never after; a new deadline sooner than the others is not waited past.
#include "tigo/deadline_watch.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>

using namespace std::chrono;

namespace {

// Counts an action's runs; a test waits for a number of them.
struct Runs {
  std::mutex m;
  std::condition_variable cv;
  int count = 0;
  void add() {
    std::lock_guard lock(m);
    ++count;
    cv.notify_all();
  }
  bool wait_for_at_least(int n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, seconds{10}, [&] { return count >= n; });
  }
  int now() {
    std::lock_guard lock(m);
    return count;
  }
};

}  // namespace

TEST_CASE("a passed deadline runs its action again until the watch ends, then never",
          "[tigo][deadline]") {
  tigo::DeadlineWatch watch(milliseconds{5});
  Runs runs;
  std::optional<tigo::DeadlineWatch::Watch> w;
  w.emplace(watch.watch(steady_clock::now(), [&] { runs.add(); }));
  REQUIRE(runs.wait_for_at_least(3));
  w.reset();  // waits for a run in progress: none starts after this
  const int ended_at = runs.now();

  // Another watch's runs show the thread went on; the ended one's count stays.
  Runs other;
  auto o = watch.watch(steady_clock::now(), [&] { other.add(); });
  REQUIRE(other.wait_for_at_least(3));
  CHECK(runs.now() == ended_at);
}

TEST_CASE("a deadline sooner than those already watched is not waited past", "[tigo][deadline]") {
  tigo::DeadlineWatch watch;
  Runs late, due;
  auto in_an_hour = watch.watch(steady_clock::now() + hours{1}, [&] { late.add(); });
  auto now = watch.watch(steady_clock::now(), [&] { due.add(); });
  REQUIRE(due.wait_for_at_least(1));  // not an hour later
  CHECK(late.now() == 0);
}
