#include "metrics/collector.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "metrics/exposition.hpp"
#include "metrics/families.hpp"
#include "metrics/family_table.hpp"
#include "util/gzip.hpp"

namespace metrics {
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

// A figure of the systems list, while the list confirms it.
std::optional<double> listed(const SystemEntry& e, const std::optional<double>& v) {
  return e.info_current ? v : std::nullopt;
}

// The metadata of `f` from the family table; returns the name its samples carry.
std::string_view announce(TextWriter& w, const FamilySpec& f) {
  w.family(header_of(f));
  return f.name;
}

// The row of a name passed through a helper (family_spec needs a constant); the names are the
// table's, so a miss is a typo that the tests' first render catches.
const FamilySpec& family_spec_at(std::string_view name) {
  const auto* f = find_family(name);
  if (f == nullptr) throw std::logic_error("no family " + std::string(name));
  return *f;
}

std::optional<double> joules(const std::optional<double>& wh) {
  if (!wh) return std::nullopt;
  return *wh * kJoulesPerWattHour;
}

// Per-system label blocks, rendered once: `system_id="1001"`.
std::vector<std::string> system_blocks(const Snapshot& snap) {
  std::vector<std::string> out;
  out.reserve(snap.systems.size());
  for (const auto& e : snap.systems) out.push_back(system_labels(e.system.system_id));
  return out;
}

void render_account(const Snapshot& snap, TextWriter& w) {
  if (snap.user) {
    announce(w, family_spec("tigo_user_info"));
    w.sample("tigo_user_info",
             {{"user_id", snap.user->user_id},
              {"user_type", snap.user->user_type},
              {"company", snap.user->company}},
             1);
  }
  announce(w, family_spec("tigo_refresh_interval_seconds"));
  for (auto d : refresh::kAllDatasets) {
    if (auto v = snap.intervals[static_cast<std::size_t>(d)])
      w.sample("tigo_refresh_interval_seconds", {{"dataset", refresh::dataset_name(d)}}, *v);
  }
  std::size_t panels = 0;
  for (const auto& e : snap.systems) panels += e.panels.size();
  announce(w, family_spec("tigo_systems"));
  w.sample("tigo_systems", {}, static_cast<double>(snap.systems.size()));
  announce(w, family_spec("tigo_panels"));
  w.sample("tigo_panels", {}, static_cast<double>(panels));
}

void render_systems(const Snapshot& snap, const std::vector<std::string>& ids, TextWriter& w) {
  announce(w, family_spec("tigo_system_info"));
  for (const auto& e : snap.systems) {
    if (!e.info_current) continue;
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
    const FamilySpec* family;
    std::optional<double> (*value)(const SystemEntry&);
  };
  static const Gauge kGauges[] = {
      {&family_spec("tigo_system_location_latitude_degrees"),
       [](const SystemEntry& e) { return listed(e, e.system.latitude); }},
      {&family_spec("tigo_system_location_longitude_degrees"),
       [](const SystemEntry& e) { return listed(e, e.system.longitude); }},
      {&family_spec("tigo_system_power_rating_watts"),
       [](const SystemEntry& e) { return listed(e, e.system.power_rating_w); }},
      {&family_spec("tigo_system_turn_on_timestamp_seconds"),
       [](const SystemEntry& e) { return listed(e, seconds_of(e.system.turn_on_date)); }},
      {&family_spec("tigo_system_dc_power_watts"),
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? e.summary->last_power_w : std::nullopt;
       }},
      {&family_spec("tigo_system_dc_energy_joules_total"),
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? joules(e.summary->lifetime_energy_wh) : std::nullopt;
       }},
      {&family_spec("tigo_system_dc_energy_today_joules"),
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? joules(e.summary->daily_energy_wh) : std::nullopt;
       }},
      {&family_spec("tigo_system_dc_energy_year_joules"),
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? joules(e.summary->ytd_energy_wh) : std::nullopt;
       }},
      {&family_spec("tigo_system_summary_updated_timestamp_seconds"),
       [](const SystemEntry& e) -> std::optional<double> {
         return e.summary ? seconds_of(e.summary->updated_on) : std::nullopt;
       }},
  };
  for (const auto& g : kGauges) {
    const auto name = announce(w, *g.family);
    for (std::size_t i = 0; i < snap.systems.size(); ++i) {
      if (auto v = g.value(snap.systems[i])) w.sample_prerendered(name, ids[i], *v);
    }
  }

  announce(w, family_spec("tigo_system_alerts"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& a : snap.systems[i].alerts) {
      w.sample_prerendered(
          "tigo_system_alerts",
          ids[i] + "," + LabelBlock().add("unique_id", a.unique_id).add("title", a.title).str(),
          static_cast<double>(a.count));
    }
  }
  announce(w, family_spec("tigo_system_alert_last_timestamp_seconds"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& a : snap.systems[i].alerts) {
      if (a.last_generated)
        w.sample_prerendered("tigo_system_alert_last_timestamp_seconds",
                             ids[i] + "," + LabelBlock().add("unique_id", a.unique_id).str(),
                             seconds_of(*a.last_generated));
    }
  }

  announce(w, family_spec("tigo_refresh_success"));
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
  announce(w, family_spec("tigo_refresh_last_success_timestamp_seconds"));
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
  announce(w, family_spec("tigo_object_info"));
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
  announce(w, family_spec("tigo_panel_info"));
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
      blocks.push_back(panel_labels(ids[i], p));
      panels.push_back(&p);
    }
  }
  for (const auto& param : tigo::kPanelParams) {
    const auto name = announce(w, panel_value_family(param.param));
    for (std::size_t k = 0; k < panels.size(); ++k) {
      if (const auto& r = panels[k]->readings[param.param])
        w.sample_prerendered(name, blocks[k], r->value);
    }
  }
  announce(w, family_spec("tigo_panel_reporting"));
  for (std::size_t k = 0; k < panels.size(); ++k)
    w.sample_prerendered("tigo_panel_reporting", blocks[k], panels[k]->reporting ? 1 : 0);
  // Power and the detail params are fetched on different cadences: each has its sample time.
  announce(w, family_spec("tigo_panel_sample_timestamp_seconds"));
  for (std::size_t k = 0; k < panels.size(); ++k)
    if (const auto& r = panels[k]->readings[tigo::PanelParam::power])
      w.sample_prerendered("tigo_panel_sample_timestamp_seconds", blocks[k], seconds_of(r->sample));
  announce(w, family_spec("tigo_panel_details_sample_timestamp_seconds"));
  for (std::size_t k = 0; k < panels.size(); ++k) {
    std::optional<refresh::Timestamp> newest;
    for (const auto& spec : tigo::kPanelParams) {
      const auto& r = panels[k]->readings[spec.param];
      if (spec.param != tigo::PanelParam::power && r && (!newest || r->sample > *newest))
        newest = r->sample;
    }
    if (newest)
      w.sample_prerendered("tigo_panel_details_sample_timestamp_seconds", blocks[k],
                           seconds_of(*newest));
  }
  announce(w, family_spec("tigo_panel_energy_today_joules"));
  for (std::size_t k = 0; k < panels.size(); ++k)
    if (const auto j = joules(panels[k]->energy_today_wh))
      w.sample_prerendered("tigo_panel_energy_today_joules", blocks[k], *j);
  if (snap.local_sources.empty()) return;
  // What only the local sources add: the bus's own measurements, the reading's source.
  const auto optional_family = [&](std::string_view name, auto value_of) {
    announce(w, family_spec_at(name));
    for (std::size_t k = 0; k < panels.size(); ++k)
      if (const std::optional<double> v = value_of(*panels[k]))
        w.sample_prerendered(name, blocks[k], *v);
  };
  optional_family("tigo_panel_output_voltage_volts", [](const Panel& p) -> std::optional<double> {
    if (!p.voltage_out) return std::nullopt;
    return p.voltage_out->value;
  });
  optional_family("tigo_panel_duty_cycle_ratio", [](const Panel& p) -> std::optional<double> {
    if (!p.duty_cycle) return std::nullopt;
    return p.duty_cycle->value;
  });
  announce(w, family_spec("tigo_panel_source_info"));
  for (std::size_t k = 0; k < panels.size(); ++k)
    w.sample_prerendered(
        "tigo_panel_source_info",
        blocks[k] + "," +
            LabelBlock().add("source", refresh::reading_source_name(panels[k]->source)).str(),
        1);
}

void render_local_sources(const Snapshot& snap, TextWriter& w) {
  if (snap.local_sources.empty()) return;
  const auto per_source = [&](std::string_view name, auto value_of) {
    announce(w, family_spec_at(name));
    for (const auto& s : snap.local_sources)
      if (const std::optional<double> v = value_of(s)) w.sample(name, {{"source", s.name}}, *v);
  };
  announce(w, family_spec("tigo_local_source_connected"));
  for (const auto& s : snap.local_sources)
    w.sample("tigo_local_source_connected", {{"source", s.name}, {"kind", s.kind}},
             s.connected ? 1 : 0);
  announce(w, family_spec("tigo_local_events_total"));
  for (const auto& s : snap.local_sources)
    for (const auto& [type, count] : s.events)
      w.sample("tigo_local_events_total", {{"source", s.name}, {"type", type}},
               static_cast<double>(count));
  announce(w, family_spec("tigo_local_lines_dropped_total"));
  for (const auto& s : snap.local_sources)
    for (const auto& [reason, count] : s.dropped)
      w.sample("tigo_local_lines_dropped_total", {{"source", s.name}, {"reason", reason}},
               static_cast<double>(count));
  const auto count = [](std::uint64_t n) { return std::optional<double>(static_cast<double>(n)); };
  per_source("tigo_local_source_restarts_total",
             [&](const refresh::LocalSourceStatus& s) { return count(s.restarts); });
  per_source("tigo_local_node_id_changes_total",
             [&](const refresh::LocalSourceStatus& s) { return count(s.node_id_changes); });
  per_source("tigo_local_last_event_timestamp_seconds",
             [](const refresh::LocalSourceStatus& s) -> std::optional<double> {
               if (!s.last_event) return std::nullopt;
               return static_cast<double>(s.last_event->time_since_epoch().count()) / 1000;
             });
  per_source("tigo_local_nodes_heard",
             [&](const refresh::LocalSourceStatus& s) { return count(s.nodes_heard); });
  per_source("tigo_local_nodes_matched",
             [&](const refresh::LocalSourceStatus& s) { return count(s.nodes_matched); });
  per_source("tigo_local_nodes_unmatched",
             [&](const refresh::LocalSourceStatus& s) { return count(s.nodes_unmatched); });
}

void render_object_readings(const Snapshot& snap, const std::vector<std::string>& ids,
                            TextWriter& w) {
  auto block = [](const std::string& id, const refresh::ObjectReading& o) {
    return object_labels(id, o.object_id, o.object_type, o.label);
  };
  announce(w, family_spec("tigo_object_power_watts"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& o : snap.systems[i].object_readings)
      if (o.power_w) w.sample_prerendered("tigo_object_power_watts", block(ids[i], o), *o.power_w);
  }
  announce(w, family_spec("tigo_object_energy_today_joules"));
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
  announce(w, family_spec("tigo_gateway_info"));
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
  announce(w, family_spec("tigo_gateway_last_checkin_timestamp_seconds"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      if (g.last_checkin)
        w.sample_prerendered("tigo_gateway_last_checkin_timestamp_seconds", gw(i, g),
                             seconds_of(*g.last_checkin));
  }
  announce(w, family_spec("tigo_gateway_reporting_gateways"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      if (g.gateway_count)
        w.sample_prerendered("tigo_gateway_reporting_gateways", gw(i, g), *g.gateway_count);
  }
  announce(w, family_spec("tigo_gateway_control_state"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      if (!g.control_state.empty())
        w.sample_prerendered("tigo_gateway_control_state",
                             gw(i, g) + "," + LabelBlock().add("state", g.control_state).str(), 1);
  }
  announce(w, family_spec("tigo_gateway_data_last_minute_timestamp_seconds"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      for (const auto& s : g.sets)
        if (s.last_min)
          w.sample_prerendered("tigo_gateway_data_last_minute_timestamp_seconds",
                               gw(i, g) + "," + LabelBlock().add("set", s.name).str(),
                               seconds_of(*s.last_min));
  }
  announce(w, family_spec("tigo_gateway_data_last_day_timestamp_seconds"));
  for (std::size_t i = 0; i < snap.systems.size(); ++i) {
    for (const auto& g : snap.systems[i].gateways)
      for (const auto& s : g.sets)
        if (s.last_day)
          w.sample_prerendered("tigo_gateway_data_last_day_timestamp_seconds",
                               gw(i, g) + "," + LabelBlock().add("set", s.name).str(),
                               seconds_of(*s.last_day));
  }
}

// An upper estimate of the text's size. Reserving it up front spares the copies and page faults
// of growing a ~100 MB string by doubling (and the old and new buffers side by side); the pages of
// a large allocation that are never written are never resident, so a generous estimate is cheap.
std::size_t size_hint(const Snapshot& snap) {
  std::size_t n = 16384;
  for (const auto& e : snap.systems)
    n += 4096 + e.panels.size() * 1536 + e.objects.size() * 256 + e.object_readings.size() * 384 +
         e.gateways.size() * 1024 + e.alerts.size() * 512;
  return n;
}

void render_all(const Snapshot& snap, TextWriter& w) {
  const auto ids = system_blocks(snap);
  render_account(snap, w);
  render_systems(snap, ids, w);
  render_objects(snap, ids, w);
  render_panels(snap, ids, w);
  render_object_readings(snap, ids, w);
  render_gateways(snap, ids, w);
  render_local_sources(snap, w);
}

// Big families are cut into members of about this size: work for every thread, whatever the
// families' sizes, at a negligible cost in compression.
constexpr std::size_t kPieceSize = std::size_t{4} << 20;

}  // namespace

void render_fleet(const Snapshot& snap, std::string& out) {
  out.clear();
  out.reserve(size_hint(snap));
  TextWriter w(out);
  render_all(snap, w);
}

void render_fleet(const Snapshot& snap, std::string& samples, std::vector<FamilySpan>& families) {
  samples.clear();
  samples.reserve(size_hint(snap));
  families.clear();
  TextWriter w(samples, families);
  render_all(snap, w);
}

std::shared_ptr<const CachedFleet> cache_fleet(const Snapshot& snap, int threads) {
  std::string samples;
  std::vector<FamilySpan> spans;
  render_fleet(snap, samples, spans);

  auto out = std::make_shared<CachedFleet>();
  out->families.resize(spans.size());
  std::vector<std::string> headers(2 * spans.size());
  struct Job {
    std::string_view text;
    GzipPiece* piece;
  };
  std::vector<Job> jobs;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    auto& family = out->families[i];
    append_family_header(headers[2 * i], spans[i].header, Format::text);
    append_family_header(headers[2 * i + 1], spans[i].header, Format::openmetrics);
    jobs.push_back({headers[2 * i], &family.text_header});
    jobs.push_back({headers[2 * i + 1], &family.openmetrics_header});
    const std::size_t end = i + 1 < spans.size() ? spans[i + 1].begin : samples.size();
    std::string_view rest = std::string_view(samples).substr(spans[i].begin, end - spans[i].begin);
    out->text_size += headers[2 * i].size() + rest.size();
    std::vector<std::string_view> cuts;
    while (!rest.empty()) {
      std::size_t n = rest.size();
      if (n > kPieceSize) {
        const auto nl = rest.find('\n', kPieceSize);
        n = nl == std::string_view::npos ? rest.size() : nl + 1;
      }
      cuts.push_back(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    family.samples.resize(cuts.size());  // sized before the jobs point into it
    for (std::size_t k = 0; k < cuts.size(); ++k) jobs.push_back({cuts[k], &family.samples[k]});
  }
  // Largest first, taken in turn by the threads: they finish close together.
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const Job& a, const Job& b) { return a.text.size() > b.text.size(); });
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
      jobs[j].piece->bytes = util::gzip_compress(jobs[j].text);
      jobs[j].piece->plain_size = jobs[j].text.size();
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  for (const auto& job : jobs) out->gzip_size += job.piece->bytes.size();
  return out;
}

}  // namespace metrics
