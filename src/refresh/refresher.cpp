#include "refresh/refresher.hpp"

#include <algorithm>
#include <condition_variable>
#include <unordered_map>

#include "util/log.hpp"

namespace refresh {
namespace {

Timestamp now_seconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

void mark_ok(DatasetState& s, Timestamp now) {
  s.attempted = true;
  s.success = true;
  s.last_success = now;
  s.last_error.clear();
}

void mark_failed(DatasetState& s, std::string error) {
  s.attempted = true;
  s.success = false;
  s.last_error = std::move(error);
}

bool wanted(const RefresherOptions& o, std::int64_t id) {
  if (o.shard_count > 1 && id % o.shard_count != o.shard_index) return false;
  return o.only_systems.empty() ||
         std::find(o.only_systems.begin(), o.only_systems.end(), id) != o.only_systems.end();
}

}  // namespace

Refresher::Refresher(std::unique_ptr<tigo::Client> client, RefresherOptions options,
                     PublishFn on_publish)
    : client_(std::move(client)), options_(std::move(options)), on_publish_(std::move(on_publish)) {
  current_.store(std::make_shared<const Snapshot>());
}

Refresher::~Refresher() { stop(); }

void Refresher::start() {
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

void Refresher::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

bool Refresher::refresh_systems(Snapshot& next) {
  const auto now = now_seconds();
  auto listed = client_->systems();
  if (!listed) {
    util::log::warn("refresh failed", {{"dataset", "system"}, {"err", listed.error().message}});
    for (auto& e : next.systems) mark_failed(e.state(Dataset::system), listed.error().message);
    return false;
  }
  std::unordered_map<std::int64_t, SystemEntry*> old;
  for (auto& e : next.systems) old[e.system.system_id] = &e;
  std::vector<SystemEntry> fresh;
  for (auto& s : *listed) {
    if (!wanted(options_, s.system_id)) continue;
    SystemEntry entry;
    if (auto it = old.find(s.system_id); it != old.end()) entry = std::move(*it->second);
    entry.system = std::move(s);
    mark_ok(entry.state(Dataset::system), now);
    fresh.push_back(std::move(entry));
  }
  std::sort(fresh.begin(), fresh.end(), [](const SystemEntry& a, const SystemEntry& b) {
    return a.system.system_id < b.system.system_id;
  });
  // Systems that left the account leave the output.
  next.systems = std::move(fresh);
  return true;
}

void Refresher::refresh_summaries(Snapshot& next) {
  for (auto& e : next.systems) {
    const auto now = now_seconds();
    auto summary = client_->summary(e.system.system_id);
    if (!summary) {
      util::log::warn("refresh failed", {{"dataset", "summary"},
                                         {"system_id", std::to_string(e.system.system_id)},
                                         {"err", summary.error().message}});
      mark_failed(e.state(Dataset::summary), summary.error().message);
      continue;
    }
    e.summary = std::move(*summary);
    mark_ok(e.state(Dataset::summary), now);
  }
}

void expire_stale(Snapshot& snap, Timestamp now, std::chrono::milliseconds max_staleness) {
  for (auto& e : snap.systems) {
    const auto& st = e.state(Dataset::summary);
    if (e.summary && !st.success && (!st.last_success || now - *st.last_success > max_staleness))
      e.summary.reset();
  }
}

void Refresher::publish(Snapshot next) {
  next.built_at = now_seconds();
  next.generation = current_.load()->generation + 1;
  if (!next.ready) {
    next.ready = std::all_of(next.systems.begin(), next.systems.end(),
                             [](const SystemEntry& e) {
                               return e.state(Dataset::system).last_success &&
                                      e.state(Dataset::summary).last_success;
                             }) &&
                 !next.systems.empty();
  }
  auto published = std::make_shared<const Snapshot>(std::move(next));
  if (on_publish_) on_publish_(published);
  current_.store(published);
}

void Refresher::run(std::stop_token stop) {
  using clock = std::chrono::steady_clock;
  auto next_layout = clock::now();
  auto next_summary = clock::now();
  bool listed_once = false;
  std::mutex mu;
  std::condition_variable_any cv;

  while (!stop.stop_requested()) {
    Snapshot next = *current_.load();
    bool changed = false;
    if (clock::now() >= next_layout) {
      const bool ok = refresh_systems(next);
      listed_once = listed_once || ok;
      next_layout = clock::now() + (ok ? options_.layout_interval : options_.retry_interval);
      changed = true;
    }
    if (listed_once && clock::now() >= next_summary && !stop.stop_requested()) {
      refresh_summaries(next);
      const bool all_ok =
          std::all_of(next.systems.begin(), next.systems.end(),
                      [](const SystemEntry& e) { return e.state(Dataset::summary).success; });
      next_summary =
          clock::now() + (all_ok ? options_.summary_interval
                                 : std::min(options_.summary_interval, options_.retry_interval));
      changed = true;
    }
    if (changed) {
      expire_stale(next, now_seconds(), options_.max_staleness);
      publish(std::move(next));
    }
    std::unique_lock lock(mu);
    cv.wait_until(lock, stop, std::min(next_layout, next_summary), [] { return false; });
  }
  client_->logout();
}

}  // namespace refresh
