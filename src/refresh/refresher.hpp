// Runs the refresh jobs on a background thread and publishes a new immutable Snapshot after
// each round. Scrapes only ever read the last published snapshot.
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

#include "refresh/snapshot.hpp"
#include "tigo/client.hpp"

namespace refresh {

struct RefresherOptions {
  std::chrono::milliseconds layout_interval{std::chrono::hours{6}};
  std::chrono::milliseconds summary_interval{std::chrono::seconds{300}};
  std::chrono::milliseconds max_staleness{std::chrono::hours{1}};
  std::chrono::milliseconds retry_interval{
      std::chrono::seconds{30}};           // after a failed round, try again this soon
  std::vector<std::int64_t> only_systems;  // empty: all
  int shard_index = 0;                     // keep systems with system_id % count == index
  int shard_count = 1;
};

class Refresher {
 public:
  using PublishFn = std::function<void(const std::shared_ptr<const Snapshot>&)>;

  Refresher(std::unique_ptr<tigo::Client> client, RefresherOptions options, PublishFn on_publish);
  ~Refresher();

  void start();
  void stop();  // joins; logs out of the API
  std::shared_ptr<const Snapshot> snapshot() const { return current_.load(); }

 private:
  void run(std::stop_token stop);
  bool refresh_systems(Snapshot& next);
  void refresh_summaries(Snapshot& next);
  void publish(Snapshot next);

  std::unique_ptr<tigo::Client> client_;
  RefresherOptions options_;
  PublishFn on_publish_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  std::jthread thread_;
};

// Drops the data of datasets that have not succeeded within max_staleness (kept otherwise).
void expire_stale(Snapshot& snap, Timestamp now, std::chrono::milliseconds max_staleness);

}  // namespace refresh
