#include "util/signals.hpp"

#include <pthread.h>

#include <csignal>

namespace util {
namespace {

sigset_t handled_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void block_termination_signals() {
  const sigset_t set = handled_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a scraper hanging up must not kill us
}

int wait_for_signal() {
  const sigset_t set = handled_set();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

int wait_for_termination_signal() {
  int sig = SIGHUP;
  while (sig == SIGHUP) sig = wait_for_signal();
  return sig;
}

}  // namespace util
