// Runs the refresh jobs on worker threads within the rate budget and publishes a new immutable
// Snapshot after changes (at most once a second). Scrapes only ever read the last published one.
//
// Jobs: the fleet-wide one (systems list, user, object and alert types) and, per system,
// objects, layout, sources, summary, panels (minute data, only when sources show new minutes
// and not while the sun is well below the horizon), combined, alerts. Intervals come from
// plan_intervals() against what the governor allows, re-planned as the fleet or budget changes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "refresh/fleet_state.hpp"
#include "refresh/plan.hpp"
#include "refresh/scheduler.hpp"
#include "refresh/snapshot.hpp"
#include "refresh/system_filter.hpp"
#include "tigo/client.hpp"
#include "util/shared_slot.hpp"

namespace refresh {

// The UTC time now by the system clock, to the second.
Timestamp system_utc_now();

// The flags' intervals, windows and their defaults (config::RefreshSettings), and the rest.
struct RefresherOptions : config::RefreshSettings {
  // What "now" is when asking for data windows and judging the data's age: the system clock, or
  // a simulated instant (--debug.time) so that a pinned simulator's data is current.
  std::function<Timestamp()> clock = system_utc_now;
  std::chrono::milliseconds retry_interval{std::chrono::seconds{10}};  // after a failure
  SystemFilter systems;                                                // --tigo.systems, --shard.*
  int workers = 4;            // jobs in progress at once (the client limits requests in flight too)
  double budget_share = 0.9;  // of the governor's rate, the rest is headroom
};

class Refresher {
 public:
  using PublishFn = std::function<void(const std::shared_ptr<const Snapshot>&)>;

  Refresher(std::shared_ptr<tigo::Client> client, RefresherOptions options, PublishFn on_publish);
  ~Refresher();

  void start();
  void stop();  // joins; logs out of the API
  std::shared_ptr<const Snapshot> snapshot() const { return current_.load(); }

 private:
  void worker(std::stop_token stop);
  void publisher(std::stop_token stop);
  void run_job(const Job& job, std::stop_token stop);
  void run_account(std::stop_token stop);
  // Each returns the dataset's outcome; the caller records it and reschedules.
  bool run_system_job(std::int64_t id, Dataset d, std::stop_token stop);
  bool wanted(std::int64_t system_id) const;
  // Remembers (and warns once about) --tigo.systems ids the account's list lacks.
  void note_unlisted_locked(const std::vector<tigo::System>& listed);
  void replan_locked();
  std::chrono::seconds interval_locked(Dataset d) const;
  void publish_now();

  std::shared_ptr<tigo::Client> client_;
  RefresherOptions options_;
  PublishFn on_publish_;
  util::SharedSlot<Snapshot> current_{std::make_shared<const Snapshot>()};

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable_any wake_;
  FleetState fleet_;
  JobQueue queue_;
  Plan plan_;
  bool dirty_ = false;
  std::uint64_t generation_ = 0;
  std::set<std::pair<std::int64_t, Dataset>> disabled_;  // 402: not asked again

  std::vector<std::jthread> threads_;
};

}  // namespace refresh
