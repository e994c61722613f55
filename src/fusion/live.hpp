// The local path at run time: the bus sources running, and a thread that fuses their news with
// the cloud's latest snapshot and publishes the result. A fused snapshot follows new bus lines
// within about half a second (--local.* readings reach /metrics in about a second), no more than
// two a second and less often when publishing is slow (rendering a large fleet), so the local
// path never takes more than about a quarter of a core. A CCA's local API is polled on its own
// thread and fused the same way when its snapshot changes. The learned node addresses and the
// panels' energy of the day are kept in the local state file.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fusion/fuser.hpp"
#include "local/bus_source.hpp"
#include "local/cca_source.hpp"
#include "refresh/snapshot.hpp"
#include "util/shared_slot.hpp"

namespace fusion {

struct LiveOptions {
  std::chrono::milliseconds poll{100};            // how often the sources' news is looked for
  std::chrono::milliseconds min_interval{500};    // between two fused snapshots at least
  std::chrono::milliseconds rejudge_every{5000};  // fused again without news: readings age
  std::string state_path;                         // the local state file; empty: none
  std::chrono::seconds save_every{300};
  // The exporter's clock (the site's day, the snapshot's time): null is the system clock;
  // --debug.time pins it.
  std::function<WallTime()> wall_clock;
};

// A CCA to poll, and the system its panel labels name.
struct CcaSpec {
  local::CcaSourceOptions options;
  std::int64_t system_id = 0;
};

class LiveFusion {
 public:
  using Publish = std::function<void(const std::shared_ptr<const refresh::Snapshot>&)>;

  LiveFusion(FuseOptions fuse, std::vector<local::SourceSpec> buses,
             local::SourceOptions source_options, LiveOptions options, Publish publish,
             std::vector<CcaSpec> ccas = {});
  ~LiveFusion();  // stop()
  LiveFusion(const LiveFusion&) = delete;
  LiveFusion& operator=(const LiveFusion&) = delete;

  // Reads the state file, starts the sources and the fusing thread; publishes at once.
  void start();
  // Stops the thread and the sources, then writes the state file.
  void stop();

  // The cloud's newest snapshot (the refresher's publish); fused in soon after.
  void set_cloud(std::shared_ptr<const refresh::Snapshot> cloud);
  // The newest fused snapshot.
  std::shared_ptr<const refresh::Snapshot> snapshot() const { return fused_.load(); }

 private:
  void run(std::stop_token stop);
  void fuse_and_publish();
  void load_state();
  void save_state();

  Fuser fuser_;  // used by the fusing thread only (and start/stop around it)
  std::vector<std::unique_ptr<local::BusSource>> buses_;
  struct Cca {
    std::unique_ptr<local::CcaSource> source;
    std::int64_t system_id = 0;
  };
  std::vector<Cca> ccas_;
  LiveOptions options_;
  Publish publish_;
  util::SharedSlot<refresh::Snapshot> cloud_{std::make_shared<const refresh::Snapshot>()};
  util::SharedSlot<refresh::Snapshot> fused_{std::make_shared<const refresh::Snapshot>()};
  std::mutex wake_mutex_;
  std::condition_variable_any wake_;
  std::uint64_t cloud_seq_ = 0;  // guarded by wake_mutex_
  std::jthread thread_;
  bool started_ = false;
};

}  // namespace fusion
