#include "pages/view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <unordered_map>

namespace pages {

std::string_view state_name(PanelState s) {
  switch (s) {
    case PanelState::ok:
      return "ok";
    case PanelState::low:
      return "low";
    case PanelState::very_low:
      return "very-low";
    case PanelState::dead:
      return "dead";
    case PanelState::pv_off:
      return "pv-off";
    case PanelState::dark:
      return "dark";
    case PanelState::no_data:
      return "no-data";
  }
  return "no-data";
}

std::string_view state_description(PanelState s) {
  switch (s) {
    case PanelState::ok:
      return "producing like its string";
    case PanelState::low:
      return "below 80 % of its string's median";
    case PanelState::very_low:
      return "below 50 % of its string's median (shade, soiling, fault)";
    case PanelState::dead:
      return "not reporting";
    case PanelState::pv_off:
      return "PV-Off: output shut down";
    case PanelState::dark:
      return "string produces nothing (night, no sun)";
    case PanelState::no_data:
      return "no readings yet";
  }
  return "";
}

namespace {

std::optional<double> median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  const auto mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

}  // namespace

SystemView view_system(const refresh::SystemEntry& e, Timestamp now, const Thresholds& t) {
  SystemView v;
  v.entry = &e;
  for (auto d : refresh::kAllDatasets) {
    const auto& st = e.state(d);
    if (st.attempted && !st.success) v.failing.push_back({d, &st});
  }
  for (const auto& g : e.gateways) {
    if (g.control_state == "off" && v.pv_off_gateway.empty())
      v.pv_off_gateway = !g.name.empty() ? g.name : !g.serial.empty() ? g.serial : "gateway";
    if (g.last_checkin && (!v.last_checkin || *g.last_checkin > *v.last_checkin))
      v.last_checkin = g.last_checkin;
  }

  std::unordered_map<std::int64_t, const refresh::ObjectInfo*> objects;
  for (const auto& o : e.objects) {
    objects.emplace(o.object_id, &o);
    if (o.ui && o.ui->x1 && o.ui->y1 && o.ui->x2 && o.ui->y2) v.segments.push_back(&o);
  }

  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> group_of;
  bool any_reading = false;
  bool any_reporting = false;
  v.positioned = !e.panels.empty();
  double sum_w = 0;
  bool have_sum = false;
  for (const auto& p : e.panels) {
    PanelView pv;
    pv.panel = &p;
    if (auto it = objects.find(p.object_id); it != objects.end() && it->second->ui) {
      pv.ui = &*it->second->ui;
      if (pv.ui->mp && *pv.ui->mp > 0) pv.rating_w = pv.ui->mp;
    }
    if (!pv.ui || !pv.ui->x || !pv.ui->y) v.positioned = false;
    const auto key = std::make_tuple(p.inverter, p.mppt, p.string);
    auto [it, added] = group_of.emplace(key, v.groups.size());
    if (added) v.groups.push_back({p.inverter, p.mppt, p.string, {}, std::nullopt});
    pv.group = it->second;
    v.groups[pv.group].panels.push_back(v.panels.size());
    if (const auto& pin = p.readings[tigo::PanelParam::power]) {
      pv.power_w = pin->value;
      pv.sample = pin->sample;
      if (pv.panel->source != refresh::ReadingSource::cloud) ++v.live;
      pv.age = std::chrono::duration_cast<std::chrono::seconds>(now - pin->sample);
      pv.stale = *pv.age > t.stale_after;
      any_reading = true;
      if (!v.newest_sample || pin->sample > *v.newest_sample) v.newest_sample = pin->sample;
      if (p.reporting) {
        sum_w += pin->value;
        have_sum = true;
      }
    }
    any_reporting = any_reporting || p.reporting;
    v.panels.push_back(pv);
  }
  // Each string's median over its reporting panels: a dead neighbour does not drag it down.
  for (auto& g : v.groups) {
    std::vector<double> powers;
    for (auto i : g.panels)
      if (v.panels[i].power_w && v.panels[i].panel->reporting)
        powers.push_back(*v.panels[i].power_w);
    g.median_w = median(std::move(powers));
  }
  for (auto& pv : v.panels) {
    const auto& g = v.groups[pv.group];
    if (v.pv_off()) {
      pv.state = PanelState::pv_off;
    } else if (!pv.power_w) {
      pv.state = any_reading ? PanelState::dead : PanelState::no_data;
    } else if (!pv.panel->reporting && any_reporting) {
      pv.state = PanelState::dead;
    } else if (!g.median_w || *g.median_w < t.dark_w) {
      pv.state = PanelState::dark;
    } else {
      pv.ratio = *pv.power_w / *g.median_w;
      pv.state = *pv.ratio < t.very_low ? PanelState::very_low
                 : *pv.ratio < t.low    ? PanelState::low
                                        : PanelState::ok;
    }
    if (pv.state != PanelState::dead && pv.state != PanelState::no_data) ++v.reporting;
  }
  if (v.newest_sample) {
    v.data_age = std::chrono::duration_cast<std::chrono::seconds>(now - *v.newest_sample);
    v.stale = *v.data_age > t.stale_after;
  }
  v.gateway_silent = v.last_checkin && now - *v.last_checkin > t.stale_after;
  if (e.summary && e.summary->last_power_w) {
    v.power_w = e.summary->last_power_w;
  } else if (have_sum) {
    v.power_w = sum_w;
  }
  return v;
}

std::string format_power(std::optional<double> w) {
  if (!w || !std::isfinite(*w)) return "-";
  char buf[32];
  const double a = std::fabs(*w);
  if (a >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f MW", *w / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1f kW", *w / 1e3);
  } else if (a >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f kW", *w / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f W", *w);
  }
  return buf;
}

std::string format_age(std::optional<std::chrono::seconds> age) {
  if (!age) return "-";
  const auto s = age->count();
  char buf[32];
  if (s < 0) {
    std::snprintf(buf, sizeof buf, "in %lld s", static_cast<long long>(-s));
  } else if (s < 120) {
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(s));
  } else if (s < std::int64_t{2} * 3600) {
    std::snprintf(buf, sizeof buf, "%lld min", static_cast<long long>(s / 60));
  } else if (s < std::int64_t{2} * 86400) {
    std::snprintf(buf, sizeof buf, "%.1f h", static_cast<double>(s) / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%lld d", static_cast<long long>(s / 86400));
  }
  return buf;
}

std::string format_number(std::optional<double> v, int decimals) {
  if (!v || !std::isfinite(*v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

}  // namespace pages
