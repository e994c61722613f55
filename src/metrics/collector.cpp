#include "metrics/collector.hpp"

#include <string>

#include "metrics/exposition.hpp"

namespace metrics {
namespace {

constexpr double kJoulesPerWattHour = 3600.0;

double seconds_of(std::chrono::sys_seconds t) {
  return static_cast<double>(t.time_since_epoch().count());
}

}  // namespace

void render_fleet(const refresh::Snapshot& snap, std::string& out) {
  TextWriter w(out);
  std::vector<std::string> ids;
  ids.reserve(snap.systems.size());
  for (const auto& e : snap.systems) ids.push_back(std::to_string(e.system.system_id));

  w.family("tigo_systems", "gauge", "Systems in the snapshot, after filter and shard.");
  w.sample("tigo_systems", {}, static_cast<double>(snap.systems.size()));

  w.family("tigo_system_info", "gauge",
           "Descriptive labels of a system, value 1 (systems list and systems/view).");
  for (size_t i = 0; i < snap.systems.size(); ++i) {
    const auto& s = snap.systems[i].system;
    w.sample("tigo_system_info",
             {{"system_id", ids[i]},
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
    std::optional<double> (*value)(const refresh::SystemEntry&);
  };
  static const Gauge kGauges[] = {
      {"tigo_system_location_latitude_degrees", "gauge", "Latitude of the system (systems list).",
       [](const refresh::SystemEntry& e) { return e.system.latitude; }},
      {"tigo_system_location_longitude_degrees", "gauge", "Longitude of the system (systems list).",
       [](const refresh::SystemEntry& e) { return e.system.longitude; }},
      {"tigo_system_power_rating_watts", "gauge",
       "Max DC power rating of the system (systems list).",
       [](const refresh::SystemEntry& e) { return e.system.power_rating_w; }},
      {"tigo_system_turn_on_timestamp_seconds", "gauge",
       "Planned turn-on date of the system as a Unix time (systems list).",
       [](const refresh::SystemEntry& e) -> std::optional<double> {
         if (!e.system.turn_on_date) return std::nullopt;
         return seconds_of(*e.system.turn_on_date);
       }},
      {"tigo_system_dc_power_watts", "gauge", "Last DC power output of the system (data/summary).",
       [](const refresh::SystemEntry& e) -> std::optional<double> {
         return e.summary ? e.summary->last_power_w : std::nullopt;
       }},
      {"tigo_system_dc_energy_joules_total", "counter",
       "Lifetime DC energy of the system (data/summary lifetime_energy_dc).",
       [](const refresh::SystemEntry& e) -> std::optional<double> {
         if (!e.summary || !e.summary->lifetime_energy_wh) return std::nullopt;
         return *e.summary->lifetime_energy_wh * kJoulesPerWattHour;
       }},
      {"tigo_system_dc_energy_today_joules", "gauge",
       "DC energy of the system today, site-local day (data/summary daily_energy_dc).",
       [](const refresh::SystemEntry& e) -> std::optional<double> {
         if (!e.summary || !e.summary->daily_energy_wh) return std::nullopt;
         return *e.summary->daily_energy_wh * kJoulesPerWattHour;
       }},
      {"tigo_system_dc_energy_year_joules", "gauge",
       "DC energy of the system this year to date (data/summary ytd_energy_dc).",
       [](const refresh::SystemEntry& e) -> std::optional<double> {
         if (!e.summary || !e.summary->ytd_energy_wh) return std::nullopt;
         return *e.summary->ytd_energy_wh * kJoulesPerWattHour;
       }},
      {"tigo_system_summary_updated_timestamp_seconds", "gauge",
       "When Tigo last updated the system's summary, Unix time (data/summary updated_on).",
       [](const refresh::SystemEntry& e) -> std::optional<double> {
         if (!e.summary || !e.summary->updated_on) return std::nullopt;
         return seconds_of(*e.summary->updated_on);
       }},
  };
  for (const auto& g : kGauges) {
    w.family(g.name, g.type, g.help);
    for (size_t i = 0; i < snap.systems.size(); ++i) {
      if (auto v = g.value(snap.systems[i])) w.sample(g.name, {{"system_id", ids[i]}}, *v);
    }
  }

  struct Dataset {
    const char* name;
    const refresh::DatasetState refresh::SystemEntry::*state;
  };
  static const Dataset kDatasets[] = {{"system", &refresh::SystemEntry::system_state},
                                      {"summary", &refresh::SystemEntry::summary_state}};
  w.family("tigo_refresh_success", "gauge",
           "Whether the last refresh of a system's dataset succeeded (1) or failed (0).");
  for (size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& d : kDatasets) {
      const auto& st = snap.systems[i].*d.state;
      w.sample("tigo_refresh_success", {{"system_id", ids[i]}, {"dataset", d.name}},
               st.success ? 1 : 0);
    }
  }
  w.family("tigo_refresh_last_success_timestamp_seconds", "gauge",
           "When a system's dataset was last refreshed successfully, Unix time.");
  for (size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& d : kDatasets) {
      const auto& st = snap.systems[i].*d.state;
      if (st.last_success)
        w.sample("tigo_refresh_last_success_timestamp_seconds",
                 {{"system_id", ids[i]}, {"dataset", d.name}}, seconds_of(*st.last_success));
    }
  }
}

}  // namespace metrics
