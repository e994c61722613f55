#include "fusion/live.hpp"

#include <filesystem>

#include "fusion/local_state.hpp"
#include "util/log.hpp"

namespace fusion {

LiveFusion::LiveFusion(FuseOptions fuse, std::vector<local::SourceSpec> buses,
                       local::SourceOptions source_options, LiveOptions options, Publish publish,
                       std::vector<CcaSpec> ccas)
    : fuser_(std::move(fuse)), options_(std::move(options)), publish_(std::move(publish)) {
  for (auto& spec : buses)
    buses_.push_back(std::make_unique<local::BusSource>(std::move(spec), source_options));
  for (auto& c : ccas) {
    if (!c.options.now && options_.wall_clock) c.options.now = options_.wall_clock;
    ccas_.push_back({std::make_unique<local::CcaSource>(std::move(c.options)), c.system_id});
  }
}

LiveFusion::~LiveFusion() { stop(); }

void LiveFusion::start() {
  if (started_) return;
  started_ = true;
  load_state();
  for (auto& b : buses_) b->start();
  for (auto& c : ccas_) c.source->start();
  fuse_and_publish();
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void LiveFusion::stop() {
  if (!started_) return;
  started_ = false;
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
  for (auto& b : buses_) b->stop();
  for (auto& c : ccas_) c.source->stop();
  save_state();
}

void LiveFusion::set_cloud(std::shared_ptr<const refresh::Snapshot> cloud) {
  cloud_.store(std::move(cloud));
  {
    std::lock_guard lock(wake_mutex_);
    ++cloud_seq_;
  }
  wake_.notify_one();
}

void LiveFusion::fuse_and_publish() {
  std::vector<BusInput> inputs;
  inputs.reserve(buses_.size());
  const auto steady_now = std::chrono::steady_clock::now();
  for (const auto& b : buses_)
    inputs.push_back(BusInput{b->name(), b->snapshot(steady_now), b->source_stats()});
  const auto wall_now =
      options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now();
  std::vector<CcaInput> ccas;
  ccas.reserve(ccas_.size());
  for (const auto& c : ccas_) ccas.push_back({c.source->snapshot(), c.system_id});
  auto fused = fuser_.fuse(*cloud_.load(), inputs, steady_now, wall_now, ccas);
  fused_.store(fused);
  if (publish_) publish_(fused);
}

void LiveFusion::run(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::uint64_t> seen(buses_.size(), ~std::uint64_t{0});
  // Held, not just compared by address: a freed snapshot's address could come back.
  std::vector<std::shared_ptr<const local::CcaSnapshot>> seen_cca(ccas_.size());
  std::uint64_t cloud_seen = ~std::uint64_t{0};
  auto next_allowed = Clock::now();
  auto last_fused = Clock::now();
  auto last_saved = Clock::now();
  while (!stop.stop_requested()) {
    std::uint64_t cloud_seq = 0;
    {
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, stop, options_.poll, [&] { return cloud_seq_ != cloud_seen; });
      cloud_seq = cloud_seq_;
    }
    if (stop.stop_requested()) break;
    const auto now = Clock::now();
    bool news = cloud_seq != cloud_seen || now - last_fused >= options_.rejudge_every;
    for (std::size_t i = 0; i < buses_.size(); ++i) news |= buses_[i]->generation() != seen[i];
    for (std::size_t i = 0; i < ccas_.size(); ++i)
      news |= ccas_[i].source->snapshot() != seen_cca[i];
    if (news && now >= next_allowed) {
      cloud_seen = cloud_seq;
      for (std::size_t i = 0; i < buses_.size(); ++i) seen[i] = buses_[i]->generation();
      for (std::size_t i = 0; i < ccas_.size(); ++i) seen_cca[i] = ccas_[i].source->snapshot();
      fuse_and_publish();
      const auto took = Clock::now() - now;
      // Publishing renders the whole fleet: a slow one spaces the next out, so this thread's
      // share of a core stays near a quarter.
      next_allowed = now + std::max<Clock::duration>(options_.min_interval, 4 * took);
      last_fused = now;
    }
    if (!options_.state_path.empty() && now - last_saved >= options_.save_every) {
      save_state();
      last_saved = now;
    }
  }
}

void LiveFusion::load_state() {
  if (options_.state_path.empty()) return;
  if (!std::filesystem::exists(options_.state_path)) return;
  auto state = read_local_state(options_.state_path);
  if (!state) {
    util::log::warn("local state file not used: starting cold",
                    {{"path", options_.state_path}, {"reason", state.error().message}});
    return;
  }
  std::size_t addresses = 0;
  for (auto& b : buses_) {
    const auto it = state->addresses.find(b->name());
    if (it == state->addresses.end()) continue;
    b->state().import_addresses(it->second);
    addresses += it->second.size();
  }
  fuser_.import_energy(state->energy);
  util::log::info("local state restored",
                  {{"path", options_.state_path},
                   {"addresses", std::to_string(addresses)},
                   {"panels_with_energy", std::to_string(state->energy.size())}});
}

void LiveFusion::save_state() {
  if (options_.state_path.empty()) return;
  LocalState state;
  for (const auto& b : buses_) state.addresses[b->name()] = b->state().export_addresses();
  state.energy = fuser_.export_energy();
  if (auto written = write_local_state(options_.state_path, state); !written)
    util::log::warn("cannot write the local state file",
                    {{"path", options_.state_path}, {"err", written.error().message}});
}

}  // namespace fusion
