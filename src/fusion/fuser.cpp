#include "fusion/fuser.hpp"

#include <date/tz.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

namespace fusion {
namespace {

using refresh::Panel;
using refresh::Reading;
using refresh::SystemEntry;
using tigo::PanelParam;

// The zones named by systems and the mapping, looked up once (date's lookup is a search).
const date::time_zone* zone_of(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, const date::time_zone*> cache;
  if (name.empty()) return nullptr;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(name);
  } catch (const std::exception&) {
    zone = nullptr;  // unknown: the day is UTC's
  }
  cache.emplace(name, zone);
  return zone;
}

std::chrono::sys_days site_date(std::chrono::sys_seconds t, const std::string& zone_name) {
  const auto* zone = zone_of(zone_name);
  if (zone == nullptr) return std::chrono::floor<std::chrono::days>(t);
  const auto local = zone->to_local(t);
  return std::chrono::sys_days{std::chrono::floor<date::days>(local).time_since_epoch()};
}

bool fresh(const local::BusNode& n, SteadyTime now, std::chrono::seconds stale_after) {
  return n.reading && now - n.received.steady <= stale_after;
}

void serve_reading(Panel& p, const local::PowerReport& r) {
  const auto t = std::chrono::floor<std::chrono::seconds>(r.time);
  p.readings[PanelParam::power] = Reading{r.power_in(), t};
  p.readings[PanelParam::voltage] = Reading{r.voltage_in, t};
  p.readings[PanelParam::current] = Reading{r.current, t};
  p.readings[PanelParam::rssi] = Reading{static_cast<double>(r.rssi), t};
  p.readings[PanelParam::temperature] = Reading{r.temperature, t};
  p.voltage_out = Reading{r.voltage_out, t};
  p.duty_cycle = Reading{r.duty_cycle, t};
  p.source = refresh::ReadingSource::bus;
  p.reporting = true;
}

// The name an unmatched node is served under: its barcode once the bus told its address, else
// its gateway and node ids.
std::string bus_name(const local::BusNode& n) {
  if (n.address)
    if (auto code = local::format_barcode(*n.address)) return *code;
  return std::to_string(n.gateway) + "." + std::to_string(n.node);
}

// A CCA's newest minute, when it is newer than what the panel serves: power, input voltage and
// RSSI (the CCA has no current, output voltage or duty cycle).
void serve_cca(Panel& p, const local::CcaPanel& c) {
  const auto& served = p.readings[PanelParam::power];
  if (!c.power || (served && c.power->minute <= served->sample)) return;
  p.readings[PanelParam::power] = Reading{c.power->value, c.power->minute};
  if (c.voltage) p.readings[PanelParam::voltage] = Reading{c.voltage->value, c.voltage->minute};
  if (c.rssi) p.readings[PanelParam::rssi] = Reading{c.rssi->value, c.rssi->minute};
  p.voltage_out.reset();
  p.duty_cycle.reset();
  p.source = refresh::ReadingSource::cca;
  p.reporting = true;
}

refresh::LocalSourceStatus cca_status_of(const local::CcaSnapshot& cca, WallTime now) {
  const auto& h = cca.health;
  refresh::LocalSourceStatus s;
  s.name = cca.name;
  s.kind = "cca";
  // Connected: a poll went through lately (three of its waits, at least three minutes), and the
  // CCA does not refuse us.
  const auto window =
      std::max<std::chrono::milliseconds>(3 * h.next_poll_in, std::chrono::minutes{3});
  s.connected = !h.locked && h.last_success && now - *h.last_success <= window;
  s.events = {{"poll", h.polls}};
  s.dropped = {{"malformed", h.malformed}};
  s.restarts = h.failures();
  if (h.last_success)
    s.last_event = std::chrono::time_point_cast<std::chrono::milliseconds>(*h.last_success);
  s.last_error = h.last_error;
  return s;
}

refresh::LocalSourceStatus status_of(const BusInput& in) {
  const auto& bus = *in.bus;
  const auto& c = bus.counters;
  refresh::LocalSourceStatus s;
  s.name = in.name;
  s.kind = "bus";
  s.connected = bus.connected;
  s.events = {{"power_report", c.power_reports},
              {"infrastructure_report", c.infrastructure_reports}};
  for (const auto& [type, count] : bus.unknown_event_types) s.events.emplace_back(type, count);
  s.dropped = {{"malformed", c.malformed_lines},
               {"oversized", c.oversized_lines},
               {"partial", c.partial_lines}};
  s.restarts = in.stats.ends;
  s.node_id_changes = c.address_changes;
  if (bus.last_event_received)
    s.last_event = std::chrono::floor<std::chrono::milliseconds>(bus.last_event_received->wall);
  s.nodes_heard = bus.nodes_heard_recently;
  s.last_error = bus.last_refusal;
  return s;
}

struct CloudRef {
  std::size_t system = 0;
  std::size_t panel = 0;
  bool operator<(const CloudRef& o) const {
    return system != o.system ? system < o.system : panel < o.panel;
  }
};

// Cloud serials by the low 24 bits of the address they name: every form the matcher reads fixes
// at least the last six hex digits, so a node's candidates are a handful, not the fleet.
class SerialIndex {
 public:
  explicit SerialIndex(const std::vector<SystemEntry>& systems) {
    for (std::size_t s = 0; s < systems.size(); ++s)
      for (std::size_t k = 0; k < systems[s].panels.size(); ++k) {
        const auto pattern = local::serial_pattern(systems[s].panels[k].serial);
        if (!pattern || (pattern->mask & kLow) != kLow) continue;
        by_low_.emplace(static_cast<std::uint32_t>(pattern->value & kLow),
                        Entry{*pattern, CloudRef{s, k}});
      }
  }
  // The one panel whose serial names `address`; none when none or several do.
  std::optional<CloudRef> find(local::Address address) const {
    std::optional<CloudRef> found;
    const auto [first, last] = by_low_.equal_range(static_cast<std::uint32_t>(address & kLow));
    for (auto it = first; it != last; ++it) {
      if (!it->second.pattern.matches(address)) continue;
      if (found) return std::nullopt;
      found = it->second.ref;
    }
    return found;
  }

 private:
  static constexpr local::Address kLow = 0xFFFFFF;
  struct Entry {
    local::SerialPattern pattern;
    CloudRef ref;
  };
  std::unordered_multimap<std::uint32_t, Entry> by_low_;
};

// A node chosen for a panel: when two name the same panel, the one heard last wins.
struct Chosen {
  const local::BusNode* node = nullptr;
  std::size_t bus = 0;
};
bool newer(const local::BusNode& a, const local::BusNode* b) {
  if (b == nullptr) return true;
  if (!a.reading) return false;
  return !b->reading || a.received.steady > b->received.steady;
}

struct LocalPanel {
  Panel panel;
  Chosen chosen;
};

}  // namespace

Fuser::Fuser(FuseOptions options) : options_(std::move(options)) {}

std::shared_ptr<const refresh::Snapshot> Fuser::fuse(const refresh::Snapshot& cloud,
                                                     const std::vector<BusInput>& buses,
                                                     SteadyTime steady_now, WallTime wall_now,
                                                     const std::vector<CcaInput>& ccas) {
  auto out = std::make_shared<refresh::Snapshot>(cloud);
  out->local_sources.clear();
  auto& systems = out->systems;
  std::unordered_map<std::int64_t, std::size_t> system_at;
  for (std::size_t s = 0; s < systems.size(); ++s)
    system_at.emplace(systems[s].system.system_id, s);
  const SerialIndex serials(systems);
  const auto& mapping = options_.mapping;
  const auto stale_after = options_.stale_after;

  std::map<CloudRef, Chosen> cloud_chosen;
  std::map<std::pair<std::int64_t, std::string>, LocalPanel> local_chosen;
  // Per bus, the gateways with a node heard lately: a silent node behind one is not reporting.
  std::vector<std::set<std::int64_t>> live(buses.size());

  for (std::size_t b = 0; b < buses.size(); ++b) {
    const auto& bus = *buses[b].bus;
    auto status = status_of(buses[b]);
    for (const auto& n : bus.nodes)
      if (fresh(n, steady_now, stale_after)) live[b].insert(n.gateway);
    for (const auto& n : bus.nodes) {
      const Chosen me{&n, b};
      const MappedPanel* mapped = mapping.find(n.address, n.gateway, n.node);
      std::optional<CloudRef> ref;
      if (mapped) {
        if (auto s = system_at.find(mapped->system_id); s != system_at.end()) {
          const auto& panels = systems[s->second].panels;
          for (std::size_t k = 0; k < panels.size(); ++k)
            if (panels[k].label == mapped->panel) ref = CloudRef{s->second, k};
        }
      } else if (n.address) {
        ref = serials.find(*n.address);
      }
      if (ref) {
        ++status.nodes_matched;
        auto& c = cloud_chosen[*ref];
        if (newer(n, c.node)) c = me;
        continue;
      }
      Panel p;
      if (mapped) {
        ++status.nodes_matched;
        p.label = mapped->panel;
        p.inverter = mapped->inverter;
        p.mppt = mapped->mppt;
        p.string = mapped->string;
      } else {
        ++status.nodes_unmatched;
        p.label = bus_name(n);
      }
      if (n.address) p.serial = local::format_address(*n.address);
      // Known only to the bus: an id of its own that stays while the node id does, and that no
      // cloud object has (theirs are positive).
      p.object_id = -(n.gateway * 65536 + n.node);
      const std::int64_t system_id = mapped ? mapped->system_id : kLocalSystemId;
      auto& slot = local_chosen[{system_id, p.label}];
      if (newer(n, slot.chosen.node)) slot = LocalPanel{std::move(p), me};
    }
    out->local_sources.push_back(std::move(status));
  }

  // Cloud panels: the bus's reading while it is current and newer than the cloud's minute.
  for (const auto& [ref, chosen] : cloud_chosen) {
    auto& e = systems[ref.system];
    auto& p = e.panels[ref.panel];
    const auto& n = *chosen.node;
    if (fresh(n, steady_now, stale_after)) {
      const auto& cloud_power = p.readings[PanelParam::power];
      if (!cloud_power ||
          std::chrono::floor<std::chrono::seconds>(n.reading->time) >= cloud_power->sample)
        serve_reading(p, *n.reading);
      integrate(e.system.system_id, p.label, e.system.timezone, *n.reading);
    } else if (live[chosen.bus].count(n.gateway) != 0) {
      p.reporting = false;  // its gateway's other nodes are heard, it is not
    }
  }
  // The energy of the day: the bus's integral where it covers more of the day than the cloud's
  // minutes (build_snapshot's), which it then replaces.
  for (auto& e : systems)
    for (auto& p : e.panels) {
      const auto bus = energy_today(e.system.system_id, p.label, e.system.timezone, wall_now);
      if (bus && (!p.energy_covered_s || bus->second >= *p.energy_covered_s)) {
        p.energy_today_wh = bus->first;
        p.energy_covered_s = bus->second;
      }
    }

  // Panels the cloud does not have: into their cloud system if it exists, else a local one.
  std::map<std::int64_t, SystemEntry> local_systems;
  const auto entry_for = [&](std::int64_t system_id) -> SystemEntry& {
    if (auto it = system_at.find(system_id); it != system_at.end()) return systems[it->second];
    auto& e = local_systems[system_id];
    if (e.system.name.empty()) {
      e.system.system_id = system_id;
      const bool named = system_id == mapping.system_id && !mapping.system_name.empty();
      e.system.name = named ? mapping.system_name : "Local bus";
      e.system.timezone = mapping.timezone;
    }
    return e;
  };
  for (auto& [key, lp] : local_chosen) {
    const auto system_id = key.first;
    const auto& n = *lp.chosen.node;
    SystemEntry& e = entry_for(system_id);
    Panel& p = lp.panel;
    if (fresh(n, steady_now, stale_after)) {
      serve_reading(p, *n.reading);
      integrate(system_id, p.label, e.system.timezone, *n.reading);
    } else {
      // A quiet gateway is night (or the bus is down): keep the day's answer, as the cloud does.
      p.reporting = n.reading.has_value() && live[lp.chosen.bus].count(n.gateway) == 0;
    }
    if (const auto bus = energy_today(system_id, p.label, e.system.timezone, wall_now)) {
      p.energy_today_wh = bus->first;
      p.energy_covered_s = bus->second;
    }
    e.panels.push_back(std::move(p));
  }

  // The CCAs' minutes, by panel label in their system: where they are the newest reading.
  for (const auto& in : ccas) {
    const auto& cca = *in.cca;
    auto status = cca_status_of(cca, wall_now);
    for (const auto& c : cca.panels) {
      const bool current = c.power && wall_now - c.power->minute <= options_.cca_stale_after;
      status.nodes_heard += current ? 1 : 0;
      SystemEntry& e = entry_for(in.system_id);
      auto it = std::find_if(e.panels.begin(), e.panels.end(),
                             [&](const Panel& p) { return p.label == c.label; });
      if (it == e.panels.end()) {
        ++status.nodes_unmatched;  // a panel the cloud does not list: served as the CCA names it
        Panel p;
        p.label = c.label;
        p.inverter = c.inverter;
        p.string = c.string;
        e.panels.push_back(std::move(p));
        it = std::prev(e.panels.end());
      } else {
        ++status.nodes_matched;
      }
      if (current) serve_cca(*it, c);
    }
    out->local_sources.push_back(std::move(status));
  }

  for (auto& [id, e] : local_systems) {
    std::sort(e.panels.begin(), e.panels.end(), [](const Panel& a, const Panel& b) {
      return std::tie(a.inverter, a.mppt, a.string, a.label) <
             std::tie(b.inverter, b.mppt, b.string, b.label);
    });
    systems.push_back(std::move(e));
  }
  std::stable_sort(systems.begin(), systems.end(), [](const SystemEntry& a, const SystemEntry& b) {
    return a.system.system_id < b.system.system_id;
  });

  out->ready = cloud.ready || options_.local_only;
  out->built_at = std::chrono::floor<std::chrono::seconds>(wall_now);
  out->generation = ++generation_;
  return out;
}

void Fuser::integrate(std::int64_t system_id, const std::string& panel, const std::string& zone,
                      const local::PowerReport& r) {
  const auto day = site_date(std::chrono::floor<std::chrono::seconds>(r.time), zone);
  const double w = std::max(0.0, r.power_in());
  auto [it, added] = energy_.try_emplace({system_id, panel});
  auto& e = it->second;
  if (added || e.day != day) {
    // A new day starts at 0 (the night between held no power worth counting).
    e = PanelEnergy{system_id, panel, day, 0, 0, r.time, w};
    return;
  }
  if (r.time <= e.last_time) return;  // seen already
  const auto gap = r.time - e.last_time;
  if (gap <= kMaxEnergyGap) {
    const double seconds = std::chrono::duration<double>(gap).count();
    e.wh += (e.last_w + w) / 2 * seconds / 3600;
    e.covered_s += seconds;
  }
  e.last_time = r.time;
  e.last_w = w;
}

std::optional<std::pair<double, double>> Fuser::energy_today(std::int64_t system_id,
                                                             const std::string& panel,
                                                             const std::string& zone,
                                                             WallTime now) const {
  const auto it = energy_.find({system_id, panel});
  if (it == energy_.end()) return std::nullopt;
  const auto today = site_date(std::chrono::floor<std::chrono::seconds>(now), zone);
  if (it->second.day != today) return std::pair{0.0, 0.0};
  return std::pair{it->second.wh, it->second.covered_s};
}

std::vector<PanelEnergy> Fuser::export_energy() const {
  std::vector<PanelEnergy> out;
  out.reserve(energy_.size());
  for (const auto& [key, e] : energy_) out.push_back(e);
  return out;
}

void Fuser::import_energy(const std::vector<PanelEnergy>& energy) {
  for (const auto& e : energy) energy_.try_emplace({e.system_id, e.panel}, e);
}

}  // namespace fusion
