// Runs the refresh jobs on worker threads within the rate budget and publishes a new immutable
// Snapshot after changes (at most once a second). Scrapes only ever read the last published one.
//
// Jobs: the fleet-wide one (systems list, user, object and alert types) and, per system,
// objects, layout, sources, summary, panel power, panel details, combined, alerts. Which job runs
// next is the Policy's choice (refresh/policy.hpp); here each job is fetched (one small fetcher
// per dataset), and its outcome recorded in one place.
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
#include "refresh/policy.hpp"
#include "refresh/snapshot.hpp"
#include "refresh/state_file.hpp"
#include "refresh/system_filter.hpp"
#include "tigo/client.hpp"
#include "util/shared_slot.hpp"

namespace refresh {

// The flags' intervals, windows and their defaults (config::RefreshSettings), and the rest.
struct RefresherOptions : config::RefreshSettings {
  std::chrono::milliseconds retry_interval{std::chrono::seconds{10}};  // after a failure
  SystemFilter systems;                                                // --tigo.systems, --shard.*
  int workers = 4;  // jobs in progress at once (the client limits requests in flight too)
  // Of the governor's rate: the policy counts every call it starts in any 60 s, so little headroom
  // is needed (logins, and a clock a little off the API's).
  double budget_share = 0.97;
  // The exporter's clock (UTC): what "now" is when asking for data windows and judging the data's
  // age. Null: the system clock; tests, benchmarks and --debug.time pin it.
  std::function<Timestamp()> clock;
  // Real time passing, never stepping (null: util::boot_elapsed): how the policy notices the wall
  // clock stepping (Policy::observe_clock). Tests step `clock` against it.
  std::function<std::chrono::nanoseconds()> elapsed;
  // The state file (--storage.path, refresh/state_file.hpp); empty: none. Read at start, written
  // every state_save_interval and at stop. state_identity: state_identity() of API and account.
  std::string state_path;
  std::string state_identity;
  std::chrono::seconds state_save_interval = kStateSaveInterval;
};

// What snapshots are judged by (build_snapshot's options): the flags' limits, the plan's
// intervals (panels: the batch cadence) and each system's own where it differs. Read under the
// refresher's lock.
BuildOptions publish_options(const Policy& policy, const FleetState& fleet,
                             const config::RefreshSettings& settings);

class Refresher {
 public:
  using PublishFn = std::function<void(const std::shared_ptr<const Snapshot>&)>;

  Refresher(std::shared_ptr<tigo::Client> client, RefresherOptions options, PublishFn on_publish);
  ~Refresher();

  void start();  // restores the state file first, if there is one
  void stop();   // joins; writes the state file; logs out of the API
  std::shared_ptr<const Snapshot> snapshot() const { return current_.load(); }

 private:
  // What a fetcher brings back: how it went, and what to apply to the system's state.
  struct Fetched {
    std::optional<tigo::Error> error;  // the first failure (the rest is logged)
    bool cancelled = false;            // shutting down: nothing to record
    Outcome outcome;
    std::function<void(SystemState&, Outcome&)> apply;  // on success
    std::function<void(SystemState&)> partial;  // on failure: what still came (panel params)
  };

  void worker(std::stop_token stop);
  void publisher(std::stop_token stop);
  void run_account(const Choice& job, std::stop_token stop);
  Fetched fetch(std::int64_t id, Dataset d, const SystemState& view, Timestamp now,
                std::stop_token stop);
  Fetched fetch_combined(std::int64_t id, const SystemState& view, Timestamp now,
                         std::stop_token stop);
  Fetched fetch_panel_params(std::int64_t id, Dataset d, const SystemState& view, Timestamp now,
                             std::stop_token stop);
  // The one place a job's outcome lands: state, success/failure, 402, the policy.
  void record(const Choice& job, Fetched& fetched);
  bool wanted(std::int64_t system_id) const;
  // Remembers (and warns once about) --tigo.systems ids the account's list lacks.
  void note_unlisted_locked(const std::vector<tigo::System>& listed);
  void sync_budget_locked();
  void publish_now();
  Timestamp now() const;
  // now(), after telling the policy (under the lock) so that a wall clock step is noticed first.
  Timestamp policy_now_locked();
  // The state file: restored into the empty fleet at start, saved by its own thread and at stop.
  void load_state();
  void save_state();
  void saver(std::stop_token stop);

  std::shared_ptr<tigo::Client> client_;
  RefresherOptions options_;
  PublishFn on_publish_;
  util::SharedSlot<Snapshot> current_{std::make_shared<const Snapshot>()};

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable_any wake_;
  // Every change to a system of fleet_ is followed by shares_.changed(system), or publishing
  // keeps sharing its older copy.
  FleetState fleet_;
  SystemShares shares_;
  Policy policy_;
  std::size_t logged_systems_ = 0;  // the budget's plan as last logged
  bool logged_beyond_ = false;
  std::uint64_t wake_seq_ = 0;  // bumped when a job ends: idle workers look again
  bool dirty_ = false;
  std::uint64_t generation_ = 0;

  std::vector<std::jthread> threads_;
};

}  // namespace refresh
