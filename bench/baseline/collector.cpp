// Baseline for render_bench: src/metrics/collector.cpp as of 6d1075e (before the bench's
// optimisations), in namespace metrics_v0, so before and after are timed side by side.
#include "baseline/collector.hpp"

#include <string>
#include <vector>

#include "baseline/exposition.hpp"

namespace metrics_v0 {
namespace {

using refresh::Dataset;
using refresh::Panel;
using refresh::Snapshot;
using refresh::SystemEntry;

constexpr double kJoulesPerWattHour = 3600.0;

double seconds_of(std::chrono::sys_seconds t) {
  return static_cast<double>(t.time_since_epoch().count());
}

std::optional<double> seconds_of(const std::optional<std::chrono::sys_seconds>& t) {
  if (!t) return std::nullopt;
  return seconds_of(*t);
}

std::optional<double> joules(const std::optional<double>& wh) {
  if (!wh) return std::nullopt;
  return *wh * kJoulesPerWattHour;
}

// Per-system label blocks, rendered once: `system_id="1001"`.
std::vector<std::string> system_blocks(const Snapshot& snap) {
  std::vector<std::string> out;
  out.reserve(snap.systems.size());
  for (const auto& e : snap.systems)
    out.push_back(LabelBlock().add("system_id", std::to_string(e.system.system_id)).str());
  return out;
}

void render_account(const Snapshot& snap, TextWriter& w) {
  if (snap.user) {
    w.family(
        "tigo_user_info", "gauge",
        "The account the exporter logs in as, value 1 (users/get; no e-mail, login or address).");
    w.sample("tigo_user_info",
             {{"user_id", snap.user->user_id},
              {"user_type", snap.user->user_type},
              {"company", snap.user->company}},
             1);
  }
  w.family("tigo_refresh_interval_seconds", "gauge",
           "The effective refresh interval the scheduler is holding per dataset.");
  for (auto d : refresh::kAllDatasets) {
    if (auto v = snap.intervals[static_cast<std::size_t>(d)])
      w.sample("tigo_refresh_interval_seconds", {{"dataset", refresh::dataset_name(d)}}, *v);
  }
  std::size_t panels = 0;
  for (const auto& e : snap.systems) panels += e.panels.size();
  w.family("tigo_systems", "gauge", "Systems in the snapshot, after filter and shard.");
  w.sample("tigo_systems", {}, static_cast<double>(snap.systems.size()));
  w.family("tigo_panels", "gauge", "Panels in the snapshot.");
  w.sample("tigo_panels", {}, static_cast<double>(panels));
}

void render_systems(const Snapshot& snap, const std::vector<std::string>& ids, TextWriter& w) {
  w.family("tigo_system_info", "gauge",
           "Descriptive labels of a system, value 1 (systems list and systems/view).");
  for (const auto& e : snap.systems) {
    const auto& s = e.system;
    w.sample("tigo_system_info",
             {{"system_id", std::to_string(s.system_id)},
              {"name", s.name},
              {"external_id", s.external_id},
              {"city", s.city},
              {"state", s.state},
              {"country", s.country},
              {"timezone", s.timezone}},
             1);
  }

  struct Gauge {
    const char* name;
    const char* type;
    const char* help;
    std::optional<double> (*value)(const SystemEntry&);
  };
  static const Gauge kGauges[] = {
      {"tigo_system_location_latitude_degrees", "gauge", "Latitude of the system (systems list).",
       [](const SystemEntry& e) { return e.system.latitude; }},
      {"tigo_system_location_longitude_degrees", "gauge", "Longitude of the system (systems list).",
       [](const SystemEntry& e) { return e.system.longitude; }},
      {"tigo_system_power_rating_watts", "gauge",
       "Max DC power rating of the system (systems list).",
       [](const SystemEntry& e) { return e.system.power_rating_w; }},
      {"tigo_system_turn_on_timestamp_seconds", "gauge",
       "Planned turn-on date of the system as a Unix time (systems list).",
       [](const SystemEntry& e) { return seconds_of(e.system.turn_on_date); }},
      {"tigo_system_dc_power_watts", "gauge", "Last DC power output of the system (data/summary).",
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? e.summary->last_power_w : std::nullopt;
       }},
      {"tigo_system_dc_energy_joules_total", "counter",
       "Lifetime DC energy of the system (data/summary lifetime_energy_dc).",
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? joules(e.summary->lifetime_energy_wh) : std::nullopt;
       }},
      {"tigo_system_dc_energy_today_joules", "gauge",
       "DC energy of the system today, site-local day (data/summary daily_energy_dc).",
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? joules(e.summary->daily_energy_wh) : std::nullopt;
       }},
      {"tigo_system_dc_energy_year_joules", "gauge",
       "DC energy of the system this year to date (data/summary ytd_energy_dc).",
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? joules(e.summary->ytd_energy_wh) : std::nullopt;
       }},
      {"tigo_system_summary_updated_timestamp_seconds", "gauge",
       "When Tigo last updated the system's summary, Unix time (data/summary updated_on).",
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? seconds_of(e.summary->updated_on) : std::nullopt;
       }},
  };
  for (const auto& g : kGauges) {
    w.family(g.name, g.type, g.help);
    for (std::size_t i = 0; i < snap.systems.size(); ++i) {
      if (auto v = g.value(snap.systems[i])) w.sample_prerendered(g.name, ids[i], *v);
    }
  }

  w.family("tigo_system_alerts", "gauge",
           "Tigo alerts generated inside the alerts window, per alert code (alerts/system).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& a : snap.systems[i].alerts) {
      w.sample_prerendered(
          "tigo_system_alerts",
          ids[i] + "," + LabelBlock().add("unique_id", a.unique_id).add("title", a.title).str(),
          static_cast<double>(a.count));
    }
  }
  w.family("tigo_system_alert_last_timestamp_seconds", "gauge",
           "When the newest alert of a code was generated, Unix time (alerts/system).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& a : snap.systems[i].alerts) {
      if (a.last_generated)
        w.sample_prerendered("tigo_system_alert_last_timestamp_seconds",
                             ids[i] + "," + LabelBlock().add("unique_id", a.unique_id).str(),
                             seconds_of(*a.last_generated));
    }
  }

  w.family("tigo_refresh_success", "gauge",
           "Whether the last refresh of a system's dataset succeeded (1) or failed (0).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (auto d : refresh::kAllDatasets) {
      const auto& st = snap.systems[i].state(d);
      if (!st.attempted) continue;
      w.sample_prerendered(
          "tigo_refresh_success",
          ids[i] + "," + LabelBlock().add("dataset", refresh::dataset_name(d)).str(),
          st.success ? 1 : 0);
    }
  }
  w.family("tigo_refresh_last_success_timestamp_seconds", "gauge",
           "When a system's dataset was last refreshed successfully, Unix time.");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (auto d : refresh::kAllDatasets) {
      const auto& st = snap.systems[i].state(d);
      if (st.last_success)
        w.sample_prerendered(
            "tigo_refresh_last_success_timestamp_seconds",
            ids[i] + "," + LabelBlock().add("dataset", refresh::dataset_name(d)).str(),
            seconds_of(*st.last_success));
    }
  }
}

void render_objects(const Snapshot& snap, const std::vector<std::string>& ids, TextWriter& w) {
  w.family("tigo_object_info", "gauge",
           "An object of a system's hierarchy, value 1 (objects/system and objects/types).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& o : snap.systems[i].objects) {
      w.sample_prerendered("tigo_object_info",
                           ids[i] + "," +
                               LabelBlock()
                                   .add("object_id", std::to_string(o.object_id))
                                   .add("parent_id", std::to_string(o.parent_id))
                                   .add("object_type", o.object_type)
                                   .add("label", o.label)
                                   .add("datasource", o.datasource)
                                   .str(),
                           1);
    }
  }
  w.family("tigo_panel_info", "gauge", "A panel's serial and type, value 1 (systems/layout).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& p : snap.systems[i].panels) {
      w.sample_prerendered("tigo_panel_info",
                           ids[i] + "," +
                               LabelBlock()
                                   .add("object_id", std::to_string(p.object_id))
                                   .add("panel", p.label)
                                   .add("serial", p.serial)
                                   .add("panel_type", p.panel_type)
                                   .str(),
                           1);
    }
  }
}

void render_panels(const Snapshot& snap, const std::vector<std::string>& ids, TextWriter& w) {
  // Rendered once per panel, reused by every panel family: the bulk of a big fleet's output.
  std::vector<std::string> blocks;
  std::vector<const Panel*> panels;
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& p : snap.systems[i].panels) {
      blocks.push_back(ids[i] + "," +
                       LabelBlock()
                           .add("object_id", std::to_string(p.object_id))
                           .add("inverter", p.inverter)
                           .add("mppt", p.mppt)
                           .add("string", p.string)
                           .add("panel", p.label)
                           .str());
      panels.push_back(&p);
    }
  }
  struct Family {
    const char* name;
    const char* help;
    tigo::PanelParam reading;
  };
  static const Family kFamilies[] = {
      {"tigo_panel_power_watts",
       "Panel input power, newest non-empty minute (data/aggregate level=min param=Pin).",
       tigo::PanelParam::power},
      {"tigo_panel_input_voltage_volts",
       "Panel input voltage, newest non-empty minute (param=Vin).", tigo::PanelParam::voltage},
      {"tigo_panel_input_current_amperes",
       "Panel input current, newest non-empty minute (param=Iin).", tigo::PanelParam::current},
      {"tigo_panel_rssi",
       "Radio signal strength of the panel's optimizer, raw 0-255 as Tigo reports it (param=RSSI).",
       tigo::PanelParam::rssi},
      {"tigo_panel_temperature_celsius",
       "Optimizer temperature where the system reports it (param=Temp).",
       tigo::PanelParam::temperature},
  };
  for (const auto& f : kFamilies) {
    w.family(f.name, "gauge", f.help);
    for (std::size_t k = 0; k < panels.size(); ++k) {
      if (const auto& r = panels[k]->readings[f.reading])
        w.sample_prerendered(f.name, blocks[k], r->value);
    }
  }
  w.family("tigo_panel_reporting", "gauge",
           "1 if the panel has a reading in the newest minute its gateway delivered, else 0.");
  for (std::size_t k = 0; k < panels.size(); ++k)
    w.sample_prerendered("tigo_panel_reporting", blocks[k], panels[k]->reporting ? 1 : 0);
  // Kept in step with the live collector's families (the comparison is of speed, on the same
  // output): power's sample time, the detail params' newest, the energy of the day.
  w.family("tigo_panel_sample_timestamp_seconds", "gauge",
           "The minute the panel's newest power reading belongs to, Unix time.");
  for (std::size_t k = 0; k < panels.size(); ++k)
    if (const auto& r = panels[k]->readings[tigo::PanelParam::power])
      w.sample_prerendered("tigo_panel_sample_timestamp_seconds", blocks[k], seconds_of(r->sample));
  w.family("tigo_panel_details_sample_timestamp_seconds", "gauge", "details");
  for (std::size_t k = 0; k < panels.size(); ++k) {
    std::optional<refresh::Timestamp> newest;
    for (auto param : {tigo::PanelParam::voltage, tigo::PanelParam::current, tigo::PanelParam::rssi,
                       tigo::PanelParam::temperature}) {
      const auto& r = panels[k]->readings[param];
      if (r && (!newest || r->sample > *newest)) newest = r->sample;
    }
    if (newest)
      w.sample_prerendered("tigo_panel_details_sample_timestamp_seconds", blocks[k],
                           seconds_of(*newest));
  }
  w.family("tigo_panel_energy_today_joules", "gauge", "energy");
  for (std::size_t k = 0; k < panels.size(); ++k)
    if (panels[k]->energy_today_wh)
      w.sample_prerendered("tigo_panel_energy_today_joules", blocks[k],
                           *panels[k]->energy_today_wh * 3600.0);
}

void render_object_readings(const Snapshot& snap, const std::vector<std::string>& ids,
                            TextWriter& w) {
  auto block = [](const std::string& id, const refresh::ObjectReading& o) {
    return id + "," +
           LabelBlock()
               .add("object_id", std::to_string(o.object_id))
               .add("object_type", o.object_type)
               .add("label", o.label)
               .str();
  };
  w.family("tigo_object_power_watts", "gauge",
           "Power of a system, inverter or string object (data/combined level=minute).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& o : snap.systems[i].object_readings)
      if (o.power_w) w.sample_prerendered("tigo_object_power_watts", block(ids[i], o), *o.power_w);
  }
  w.family("tigo_object_energy_today_joules", "gauge",
           "Energy today of a system, inverter or string object (data/combined level=day).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& o : snap.systems[i].object_readings)
      if (o.energy_today_wh)
        w.sample_prerendered("tigo_object_energy_today_joules", block(ids[i], o),
                             *o.energy_today_wh * kJoulesPerWattHour);
  }
}

void render_gateways(const Snapshot& snap, const std::vector<std::string>& ids, TextWriter& w) {
  auto gw = [&](std::size_t i, const refresh::Gateway& g) {
    return ids[i] + "," + LabelBlock().add("source_id", g.source_id).str();
  };
  w.family("tigo_gateway_info", "gauge", "A gateway (CCA) of a system, value 1 (sources/system).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      w.sample_prerendered("tigo_gateway_info",
                           gw(i, g) + "," +
                               LabelBlock()
                                   .add("name", g.name)
                                   .add("serial", g.serial)
                                   .add("sw_version", g.sw_version)
                                   .add("timezone", g.timezone)
                                   .str(),
                           1);
  }
  w.family("tigo_gateway_last_checkin_timestamp_seconds", "gauge",
           "When the gateway last checked in, Unix time (sources/system last_checkin).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      if (g.last_checkin)
        w.sample_prerendered("tigo_gateway_last_checkin_timestamp_seconds", gw(i, g),
                             seconds_of(*g.last_checkin));
  }
  w.family("tigo_gateway_reporting_gateways", "gauge",
           "Gateways reporting behind this source (sources/system gateway_count).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      if (g.gateway_count)
        w.sample_prerendered("tigo_gateway_reporting_gateways", gw(i, g), *g.gateway_count);
  }
  w.family("tigo_gateway_control_state", "gauge",
           "The gateway's PV-Off control state, 1 on the current state (sources/system).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      if (!g.control_state.empty())
        w.sample_prerendered("tigo_gateway_control_state",
                             gw(i, g) + "," + LabelBlock().add("state", g.control_state).str(), 1);
  }
  w.family("tigo_gateway_data_last_minute_timestamp_seconds", "gauge",
           "Newest minute of data the gateway delivered per data set, Unix time (sets last_min).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      for (const auto& s : g.sets)
        if (s.last_min)
          w.sample_prerendered("tigo_gateway_data_last_minute_timestamp_seconds",
                               gw(i, g) + "," + LabelBlock().add("set", s.name).str(),
                               seconds_of(*s.last_min));
  }
  w.family("tigo_gateway_data_last_day_timestamp_seconds", "gauge",
           "Newest day of data the gateway delivered per data set, Unix time (sets last_day).");
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      for (const auto& s : g.sets)
        if (s.last_day)
          w.sample_prerendered("tigo_gateway_data_last_day_timestamp_seconds",
                               gw(i, g) + "," + LabelBlock().add("set", s.name).str(),
                               seconds_of(*s.last_day));
  }
}

}  // namespace

void render_fleet(const Snapshot& snap, std::string& out) {
  out.clear();
  TextWriter w(out);
  const auto ids = system_blocks(snap);
  render_account(snap, w);
  render_systems(snap, ids, w);
  render_objects(snap, ids, w);
  render_panels(snap, ids, w);
  render_object_readings(snap, ids, w);
  render_gateways(snap, ids, w);
}

}  // namespace metrics_v0
