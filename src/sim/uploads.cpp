#include "sim/uploads.hpp"

#include <algorithm>
#include <limits>

namespace sim {
namespace {

using std::chrono::floor;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_seconds;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

std::uint64_t bits(std::int64_t k) { return static_cast<std::uint64_t>(k); }

// One gateway's uploads by batch number k, in seconds since the epoch.
class Uploads {
 public:
  Uploads(const SystemContext& c, const UploadOptions& o)
      : Uploads(c.spec.seed, upload_cadence(c, o), o) {}
  Uploads(std::uint64_t seed, const UploadCadence& r, const UploadOptions& o)
      : seed_(seed),
        cadence_(r.cadence.count()),
        phase_(r.phase.count()),
        jitter_(r.jitter.count()),
        delay_(std::max<std::int64_t>(0, o.delay.count())),
        irregular_(o.arrivals == Arrivals::Irregular),
        late_batches_(o.late_batches) {}

  std::int64_t upload(std::int64_t k) const {
    const std::int64_t slot = k * cadence_ + phase_;
    if (jitter_ == 0) return slot;
    const auto draw = mix(seed_ ^ 0x717E4ULL ^ (bits(k) * 0xC2B2AE3D27D4EB4FULL));
    return slot + static_cast<std::int64_t>(draw % bits(2 * jitter_ + 1)) - jitter_;
  }
  // Never two in a row, so a missed upload's minutes always come with the next.
  bool missed(std::int64_t k) const { return irregular_ && missed_draw(k) && !missed_draw(k - 1); }
  bool late(std::int64_t k) const {
    return late_batches_ && mix(seed_ ^ bits(k) * 0x9E37ULL) % kLateOneIn == 0;
  }
  std::int64_t carrier(std::int64_t k) const { return missed(k) ? k + 1 : k; }
  // When batch k's minutes land, ignoring the batches before it.
  std::int64_t lands(std::int64_t k) const {
    const std::int64_t by = carrier(k);
    return upload(by) + delay_ + (late(by) ? kLateBatchExtra.count() : 0);
  }
  // No batch after this one has landed at t.
  std::int64_t newest_candidate(std::int64_t t) const {
    return floor_div(t - delay_ + jitter_ - phase_, cadence_);
  }
  // The newest batch visible at t: every one up to it has landed.
  std::int64_t newest_visible(std::int64_t t) const {
    const std::int64_t last = newest_candidate(t);
    // Batches this far back landed even if late and carried by the next upload.
    std::int64_t visible =
        last - 2 - (kLateBatchExtra.count() + 2 * jitter_ + cadence_ - 1) / cadence_;
    for (std::int64_t k = visible + 1; k <= last; ++k) {
      if (lands(k) > t) break;
      visible = k;
    }
    return visible;
  }
  // The newest upload the gateway made by t (a missed one is no contact).
  std::int64_t last_contact(std::int64_t t) const {
    std::int64_t k = floor_div(t - phase_ + jitter_, cadence_);
    while (upload(k) > t) --k;
    return missed(k) ? k - 1 : k;
  }
  sys_seconds last_min(std::int64_t k) const {
    return sys_seconds{floor<minutes>(seconds{upload(k)}) - minutes{1}};
  }
  std::uint64_t seed() const { return seed_; }

 private:
  bool missed_draw(std::int64_t k) const {
    return mix(seed_ ^ 0x5EED0000ULL ^ (bits(k) * 0xD6E8FEB86659FD93ULL)) % kMissedOneIn == 0;
  }

  std::uint64_t seed_;
  std::int64_t cadence_, phase_, jitter_, delay_;
  bool irregular_, late_batches_;
};

std::optional<sys_seconds> stall_stop(const SystemContext& c) {
  if (c.fault.kind != FaultKind::GatewayStall) return std::nullopt;
  return sys_seconds{floor<minutes>(c.fault.onset)};
}

}  // namespace

std::optional<Arrivals> parse_arrivals(std::string_view text) {
  if (text == "irregular") return Arrivals::Irregular;
  if (text == "periodic") return Arrivals::Periodic;
  return std::nullopt;
}

UploadCadence upload_cadence(const SystemContext& c, const UploadOptions& o) {
  const std::int64_t interval = std::max<std::int64_t>(60, o.interval.count());
  const std::uint64_t h = c.spec.seed;
  if (o.arrivals == Arrivals::Periodic) {
    const auto phase = static_cast<std::int64_t>(mix(h ^ 0x0B1ADULL) % bits(interval / 60)) * 60;
    return {seconds{interval}, seconds{phase}, seconds{0}};
  }
  const auto cadence =
      interval + static_cast<std::int64_t>(mix(h ^ 0xCADEULL) % bits(interval / 2 + 1));
  const auto phase = static_cast<std::int64_t>(mix(h ^ 0x0B1ADULL) % bits(cadence));
  // Uploads stay at least a minute apart, so each brings minutes of its own.
  const auto jitter = std::min(interval / 5, (interval - 60) / 2);
  return {seconds{cadence}, seconds{phase}, seconds{jitter}};
}

std::vector<Batch> arrivals(const SystemContext& c, sys_seconds from, sys_seconds to,
                            const UploadOptions& o) {
  std::vector<Batch> out;
  if (to <= from) return out;
  const Uploads u(c, o);
  const std::int64_t before = u.newest_visible(from.time_since_epoch().count() - 1);
  const std::int64_t last = u.newest_visible(to.time_since_epoch().count() - 1);
  const auto stop = stall_stop(c);
  std::int64_t visible = std::numeric_limits<std::int64_t>::min();
  for (std::int64_t k = before + 1; k <= last; ++k) {
    Batch b;
    b.number = k;
    b.uploaded = sys_seconds{seconds{u.upload(k)}};
    b.first_min = u.last_min(k - 1) + minutes{1};
    b.last_min = u.last_min(k);
    visible = std::max(visible, u.lands(k));
    b.visible = sys_seconds{seconds{visible}};
    b.missed = u.missed(k);
    b.late = u.late(u.carrier(k));
    if (stop) {
      if (b.first_min >= *stop) break;  // a stalled gateway sends nothing more
      b.last_min = std::min(b.last_min, *stop - minutes{1});
    }
    out.push_back(b);
  }
  return out;
}

DataAvailability availability(const SystemContext& c, sys_seconds now, const UploadOptions& o) {
  DataAvailability a;
  const Uploads u(c, o);
  const std::int64_t t = now.time_since_epoch().count();
  sys_seconds last_min = u.last_min(u.newest_visible(t));
  const std::int64_t contact = u.last_contact(t);
  sys_seconds checkin = sys_seconds{seconds{u.upload(contact)}} +
                        seconds{static_cast<std::int64_t>(mix(u.seed() ^ bits(contact)) % 40)};
  sys_seconds sensor{floor<minutes>(now) - minutes{1}};
  if (c.fault.kind == FaultKind::GatewayStall && c.fault.active(now)) {
    a.stalled = true;
    const sys_seconds stop = *stall_stop(c);
    last_min = std::min(last_min, stop - minutes{1});
    checkin = std::min(checkin, c.fault.onset);
    sensor = std::min(sensor, stop - minutes{1});
  }
  a.last_min = last_min;
  a.last_checkin = std::min(checkin, now);
  a.sensor_last = sensor;
  return a;
}

}  // namespace sim
