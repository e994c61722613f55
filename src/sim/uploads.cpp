#include "sim/uploads.hpp"

#include <algorithm>

namespace sim {
namespace {

using std::chrono::floor;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_seconds;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

DataAvailability availability(const SystemContext& c, sys_seconds now, const UploadOptions& o) {
  DataAvailability a;
  const std::int64_t interval = std::max<std::int64_t>(60, o.interval.count());
  const std::int64_t phase = static_cast<std::int64_t>(mix(c.spec.seed ^ 0x0B1ADULL) %
                                                       static_cast<std::uint64_t>(interval / 60)) *
                             60;
  const std::int64_t delay = std::max<std::int64_t>(0, o.delay.count());
  auto upload_at = [&](std::int64_t k) { return k * interval + phase; };
  auto extra = [&](std::int64_t k) {
    return o.late_batches && mix(c.spec.seed ^ static_cast<std::uint64_t>(k) * 0x9E37ULL) % 20 == 0
               ? kLateBatchExtra.count()
               : 0;
  };
  const std::int64_t t = now.time_since_epoch().count();
  const std::int64_t k0 = floor_div(t - delay - phase, interval);
  // Batches older than the longest extra delay are surely visible; walk the rest in order.
  std::int64_t visible = k0 - kLateBatchExtra.count() / interval - 1;
  for (std::int64_t k = visible + 1; k <= k0; ++k) {
    if (upload_at(k) + delay + extra(k) > t) break;
    visible = k;
  }
  const std::int64_t last_upload = floor_div(t - phase, interval);
  sys_seconds last_min{floor<minutes>(sys_seconds{seconds{upload_at(visible)}}) - minutes{1}};
  sys_seconds checkin = sys_seconds{seconds{upload_at(last_upload)}} +
                        seconds{static_cast<std::int64_t>(
                            mix(c.spec.seed ^ static_cast<std::uint64_t>(last_upload)) % 40)};
  sys_seconds sensor{floor<minutes>(now) - minutes{1}};
  if (c.fault.kind == FaultKind::GatewayStall && c.fault.active(now)) {
    a.stalled = true;
    const sys_seconds stop{floor<minutes>(c.fault.onset)};
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
