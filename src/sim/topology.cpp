#include "sim/topology.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sim {
namespace {

std::string hex(std::uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llX", digits,
                static_cast<unsigned long long>(v & ((1ULL << (4 * digits)) - 1)));
  return buf;
}

// "A".."Z", "AA", "AB"... as installers letter their strings.
std::string letters(int n) {
  std::string out;
  for (++n; n > 0; n = (n - 1) / 26) out.insert(out.begin(), static_cast<char>('A' + (n - 1) % 26));
  return out;
}

// Ids of every kind are unique across the fleet: a stride per system large enough for its objects.
std::int64_t stride(const Fleet& fleet) {
  const std::int64_t need = 3LL * fleet.options().panels_per_system + 16;
  return (need + 999) / 1000 * 1000;
}

}  // namespace

Topology::Selection Topology::select(std::int64_t object_id) const {
  Selection sel;
  auto all = [&] {
    sel.panels.resize(panels.size());
    for (std::size_t i = 0; i < panels.size(); ++i) sel.panels[i] = static_cast<int>(i);
  };
  if (object_id == system_object_id) {
    sel.ok = true;
    sel.type = ObjectType::System;
    all();
    return sel;
  }
  if (object_id == gateway.object_id) {
    sel.ok = true;
    sel.type = ObjectType::Cca;
    all();
    return sel;
  }
  for (const auto& inv : inverters) {
    if (inv.object_id != object_id) continue;
    sel.ok = true;
    sel.type = ObjectType::Inverter;
    for (const auto& st : strings) {
      if (&inverters[static_cast<std::size_t>(st.inverter_index)] != &inv) continue;
      for (int p = 0; p < st.panel_count; ++p) sel.panels.push_back(st.first_panel + p);
    }
    return sel;
  }
  for (const auto& st : strings) {
    if (st.object_id != object_id) continue;
    sel.ok = true;
    sel.type = ObjectType::String;
    for (int p = 0; p < st.panel_count; ++p) sel.panels.push_back(st.first_panel + p);
    return sel;
  }
  if (!panels.empty() && object_id >= panels.front().object_id &&
      object_id <= panels.back().object_id) {
    sel.ok = true;
    sel.type = ObjectType::Panel;
    sel.panels.push_back(static_cast<int>(object_id - panels.front().object_id));
  }
  return sel;
}

std::string string_label(const StringNode& st) { return "String " + st.letter; }

Topology::PanelLabels Topology::labels(int panel) const {
  PanelLabels out;
  const auto& pn = panels.at(static_cast<std::size_t>(panel));
  const auto& st = strings.at(static_cast<std::size_t>(pn.string_index));
  out.panel = pn.label;
  out.string = string_label(st);
  if (st.mppt_index >= 0) out.mppt = mppts.at(static_cast<std::size_t>(st.mppt_index)).label;
  if (st.inverter_index >= 0)
    out.inverter = inverters.at(static_cast<std::size_t>(st.inverter_index)).label;
  return out;
}

Topology build_topology(const Fleet& fleet, const SystemSpec& s) {
  Topology t;
  const std::uint64_t h = mix(s.seed ^ 0x70901061ULL);
  const std::int64_t base = 100000 + static_cast<std::int64_t>(s.index) * stride(fleet);
  std::int64_t next_object = base;
  t.system_object_id = next_object++;
  // One system in four records no inverter level (panels under strings under the system).
  t.has_inverters = (s.index + mix(fleet.options().seed ^ 0x1A7ULL)) % 4 != 3;

  auto& g = t.gateway;
  g.source_id = 9000 + static_cast<std::int64_t>(s.index);
  g.object_id = next_object++;
  g.mac = "04C05B" + hex(mix(h + 2), 6);
  g.name = mix(h + 3) % 2 ? "Primary CCA" : "Cloud Connect Advanced";
  g.sw_version = mix(h + 4) % 3 == 0 ? "RandevuConfig_" + g.mac + ".img" : "ffs-2.4.0-image.img";
  g.created_on = s.created + std::chrono::hours{20};
  g.gateway_count = 1 + s.panels / 100;

  static const char* const kTypes[] = {"TS4-A-O", "TS4-A-F", "TS4-O", "TS4-A-S"};
  const auto type = mix(h + 5) % std::size(kTypes);
  t.panel_type = kTypes[type];
  t.panel_type_id = static_cast<int>(type) + 1;

  // Strings of 8..14 panels, as even as the count allows.
  const int target = 8 + static_cast<int>(mix(h + 6) % 7);
  const int n_strings = std::max(1, (s.panels + target - 1) / target);
  const int per_mppt = 1 + static_cast<int>(mix(h + 7) % 2);
  const int n_mppts = t.has_inverters ? (n_strings + per_mppt - 1) / per_mppt : 0;
  const int n_inverters = t.has_inverters ? (n_mppts + 1) / 2 : 0;
  const std::int64_t id_base = static_cast<std::int64_t>(s.index) * stride(fleet);

  for (int i = 0; i < n_inverters; ++i) {
    InverterNode inv;
    inv.object_id = next_object++;
    inv.inverter_id = 5'000'000'000 + id_base + i + 1;
    inv.inverter_type_id = 1 + static_cast<int>(mix(h + 8) % 5);
    inv.label = "Inverter " + std::to_string(i + 1);
    inv.serial = "INV" + hex(mix(h + 100 + static_cast<std::uint64_t>(i)), 9);
    inv.first_mppt = i * 2;
    inv.mppt_count = std::min(2, n_mppts - i * 2);
    t.inverters.push_back(std::move(inv));
  }
  for (int m = 0; m < n_mppts; ++m) {
    MpptNode mp;
    mp.mppt_id = 4'000'000'000 + id_base + m + 1;
    mp.inverter_index = m / 2;
    mp.label = "MPPT " + std::to_string(m % 2 + 1);
    mp.first_string = m * per_mppt;
    mp.string_count = std::min(per_mppt, n_strings - m * per_mppt);
    t.mppts.push_back(std::move(mp));
  }
  int panel = 0;
  for (int i = 0; i < n_strings; ++i) {
    StringNode st;
    st.object_id = next_object++;
    st.string_id = 3'000'000'000 + id_base + i + 1;
    st.letter = letters(i);
    st.mppt_index = t.has_inverters ? i / per_mppt : -1;
    st.inverter_index = t.has_inverters ? st.mppt_index / 2 : -1;
    st.first_panel = panel;
    st.panel_count = s.panels / n_strings + (i < s.panels % n_strings ? 1 : 0);
    panel += st.panel_count;
    t.strings.push_back(std::move(st));
  }
  t.panels.reserve(static_cast<std::size_t>(s.panels));
  for (const auto& st : t.strings) {
    const int string_index = static_cast<int>(&st - t.strings.data());
    for (int p = 0; p < st.panel_count; ++p) {
      PanelNode pn;
      pn.object_id = next_object++;
      const int index = st.first_panel + p;
      pn.panel_id = 2'000'000'000 + id_base + index + 1;
      pn.label = st.letter + std::to_string(p + 1);
      pn.short_label = p + 1;
      pn.address =
          static_cast<std::uint32_t>(mix(h + 1000 + static_cast<std::uint64_t>(index)) & 0xFFFFFF);
      pn.serial = panel_serial(pn.address, fleet.options().serial_format);
      pn.string_index = string_index;
      pn.ui_x = 100 + 60 * p;
      pn.ui_y = 100 + 120 * string_index;
      t.panels.push_back(std::move(pn));
    }
  }
  return t;
}

PlantedFault planted_fault(const Fleet& fleet, const SystemSpec& s, const Topology& topo) {
  PlantedFault f;
  const std::uint64_t slot = (s.index + mix(fleet.options().seed ^ 0xFA017ULL) % 10) % 10;
  if (slot >= 5 || s.panels == 0) return f;
  f.kind = static_cast<FaultKind>(slot + 1);
  const std::uint64_t h = mix(s.seed ^ 0xFA017ULL);
  const auto first = std::chrono::sys_days{std::chrono::year{2025} / 7 / 1};
  f.onset = std::chrono::sys_seconds{first} + std::chrono::days{static_cast<int>(h % 240)} +
            std::chrono::seconds{static_cast<int>(mix(h + 1) % 86400)};
  f.panel = static_cast<int>(mix(h + 2) % static_cast<std::uint64_t>(s.panels));
  f.string = static_cast<int>(mix(h + 3) % topo.strings.size());
  return f;
}

const char* fault_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::ShadedPanel:
      return "shaded_panel";
    case FaultKind::DeadOptimizer:
      return "dead_optimizer";
    case FaultKind::WeakString:
      return "weak_string";
    case FaultKind::GatewayStall:
      return "gateway_stall";
    case FaultKind::PvOff:
      return "pv_off";
    case FaultKind::None:
      break;
  }
  return "none";
}

double mean_solar_hour(double longitude_deg, std::chrono::sys_seconds t) {
  const double secs = static_cast<double>(t.time_since_epoch().count());
  double solar_hour = std::fmod(secs / 3600.0 + longitude_deg / 15.0, 24.0);
  if (solar_hour < 0) solar_hour += 24.0;
  return solar_hour;
}

bool in_afternoon_shadow(double longitude_deg, std::chrono::sys_seconds t) {
  const double solar_hour = mean_solar_hour(longitude_deg, t);
  return solar_hour >= 14.5 && solar_hour < 17.5;
}

}  // namespace sim
