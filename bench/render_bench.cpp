// Rendering benchmark: the fleet's families of one synthetic Snapshot of the shape
// (default 1,000 systems x 100 panels), rendered by
//   (a) metrics::render_fleet into a reused buffer (and into a fresh one, as app.cpp does),
//   (b) util::gzip_compress of that text at level 1 (what the exporter does) and level 6,
//   (c) prometheus-cpp 1.0.1: a Collectable building std::vector<MetricFamily> from the same
//       snapshot, serialized with prometheus::TextSerializer,
//   (d) memcpy of the rendered text,
// interleaved in one run over several repetitions (median, p90), with each path's peak RSS
// measured in a forked child. Both outputs are parsed into sets of (name, labels, value) and must
// be identical, or the program fails.
//
//   render_bench [--systems N] [--panels M] [--reps R] [--no-gzip6] [--no-promcpp]
#include <malloc.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "baseline/collector.hpp"
#include "metrics/collector.hpp"
#include "refresh/snapshot.hpp"
#include "util/gzip.hpp"

namespace {

using refresh::Dataset;
using refresh::Panel;
using refresh::Reading;
using refresh::Snapshot;
using refresh::SystemEntry;
using refresh::Timestamp;

Timestamp ts(std::int64_t s) { return Timestamp{std::chrono::seconds{s}}; }

// ---------------------------------------------------------------------------------------------
// The synthetic fleet. Label values are realistic, and some need escaping (quotes, backslashes,
// newlines, UTF-8).

Snapshot build_snapshot(int systems, int panels_per_system) {
  Snapshot snap;
  snap.user = refresh::User{"4711", "Installer", "Sonnen \"Dach\" GmbH"};
  for (std::size_t d = 0; d < refresh::kDatasetCount; ++d)
    snap.intervals[d] = 60.0 * static_cast<double>(d + 1);
  snap.built_at = ts(1'763'900'000);
  snap.ready = true;
  std::uint64_t rng = 88172645463325252ull;
  auto next = [&rng] {  // xorshift64: deterministic, cheap
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  auto decimal = [&next](double lo, double hi, int decimals) {
    const double scale = std::pow(10.0, decimals);
    const auto span = static_cast<std::uint64_t>((hi - lo) * scale);
    return lo + static_cast<double>(next() % (span + 1)) / scale;
  };
  static const char* kCities[] = {"München", "San José", "O'Fallon", "Zürich", "Lyon"};
  static const char* kZones[] = {"Europe/Berlin", "America/Los_Angeles", "America/Chicago",
                                 "Europe/Zurich", "Europe/Paris"};
  const std::int64_t now = 1'763'900'000 - 1'763'900'000 % 60;
  std::int64_t object_id = 100'000;
  snap.systems.reserve(static_cast<std::size_t>(systems));
  for (int s = 0; s < systems; ++s) {
    SystemEntry e;
    auto& sys = e.system;
    sys.system_id = 10'000 + s;
    switch (s % 10) {
      case 3:
        sys.name = "Müller \"Hof\" " + std::to_string(s);
        break;
      case 7:
        sys.name = "Share\\Roof " + std::to_string(s);
        break;
      case 9:
        sys.name = "Barn\nwest " + std::to_string(s);
        break;
      default:
        sys.name = "Residence " + std::to_string(s);
    }
    sys.external_id = s % 4 == 0 ? "" : "EXT-" + std::to_string(s * 7);
    sys.city = kCities[s % 5];
    sys.state = s % 2 ? "CA" : "BY";
    sys.country = s % 2 ? "US" : "DE";
    sys.timezone = kZones[s % 5];
    sys.latitude = decimal(30, 55, 6);
    sys.longitude = decimal(-120, 15, 6);
    sys.power_rating_w = panels_per_system * 400.0;
    sys.turn_on_date = ts(1'500'000'000 + s * 86'400);
    tigo::Summary sum;
    sum.lifetime_energy_wh = decimal(1e6, 9e7, 1);
    sum.ytd_energy_wh = decimal(1e5, 9e6, 1);
    sum.daily_energy_wh = decimal(0, 9e4, 1);
    sum.last_power_w = decimal(0, 40'000, 1);
    sum.updated_on = ts(now - 60);
    e.summary = sum;

    // Hierarchy: system > 2 inverters > 2 MPPTs each > 1 string each > panels.
    const std::string ds_prefix = "04C05B80" + std::to_string(1000 + s) + ".panels.";
    const std::int64_t sys_obj = object_id++;
    e.objects.push_back({sys_obj, -1, "System", sys.name, "", std::nullopt});
    e.object_readings.push_back(
        {sys_obj, "System", sys.name, decimal(0, 40'000, 1), decimal(0, 9e4, 1)});
    std::vector<std::tuple<std::string, std::string, std::string, std::int64_t>> strings;
    for (int inv = 1; inv <= 2; ++inv) {
      const std::int64_t inv_obj = object_id++;
      const std::string inv_label = "Inverter " + std::to_string(inv);
      e.objects.push_back({inv_obj, sys_obj, "Inverter", inv_label, "", std::nullopt});
      e.object_readings.push_back(
          {inv_obj, "Inverter", inv_label, decimal(0, 20'000, 1), decimal(0, 45'000, 1)});
      for (int m = 1; m <= 2; ++m) {
        const std::int64_t mppt_obj = object_id++;
        const std::string mppt_label = "MPPT " + std::to_string(m);
        e.objects.push_back({mppt_obj, inv_obj, "MPPT", mppt_label, "", std::nullopt});
        const std::int64_t str_obj = object_id++;
        const std::string str_label(1, static_cast<char>('A' + (inv - 1) * 2 + (m - 1)));
        e.objects.push_back({str_obj, mppt_obj, "String", "String " + str_label, "", std::nullopt});
        e.object_readings.push_back({str_obj, "String", "String " + str_label,
                                     decimal(0, 10'000, 1), decimal(0, 22'000, 1)});
        strings.emplace_back(inv_label, mppt_label, str_label, str_obj);
      }
    }
    const bool has_temp = s % 10 == 0;
    for (int p = 0; p < panels_per_system; ++p) {
      const auto& [inv_label, mppt_label, str_label, str_obj] =
          strings[static_cast<std::size_t>(p) * strings.size() /
                  static_cast<std::size_t>(panels_per_system)];
      Panel pn;
      pn.object_id = object_id++;
      pn.label = str_label + std::to_string(p + 1);
      pn.serial = "4-" + std::to_string(0xA0000 + s * 1000 + p) + "X";
      pn.panel_type = p % 17 == 0 ? "TS4-A-O \"Rev2\"" : "TS4-A-O";
      pn.datasource = ds_prefix + pn.label;
      pn.inverter = inv_label;
      pn.mppt = mppt_label;
      pn.string = "String " + str_label;
      const auto minute = ts(now - 60 * static_cast<std::int64_t>(next() % 3));
      pn.readings[tigo::PanelParam::power] = Reading{decimal(0, 420, 1), minute};
      pn.readings[tigo::PanelParam::voltage] = Reading{decimal(20, 48, 2), minute};
      pn.readings[tigo::PanelParam::current] = Reading{decimal(0, 11, 3), minute};
      pn.readings[tigo::PanelParam::rssi] = Reading{static_cast<double>(next() % 256), minute};
      if (has_temp)
        pn.readings[tigo::PanelParam::temperature] = Reading{decimal(-10, 70, 1), minute};
      pn.reporting = minute == ts(now);
      e.objects.push_back({pn.object_id, str_obj, "Panel", pn.label, pn.datasource, std::nullopt});
      e.panels.push_back(std::move(pn));
    }
    refresh::Gateway gw;
    gw.source_id = "CCA" + std::to_string(500'000 + s);
    gw.name = "Gateway " + std::to_string(s);
    gw.serial = "04C05B80" + std::to_string(1000 + s);
    gw.sw_version = "4.0.2-ct";
    gw.timezone = sys.timezone;
    gw.last_checkin = ts(now - 30);
    gw.gateway_count = 1;
    gw.control_state = s % 50 == 0 ? "PV-Off" : "on";
    gw.sets = {{"panels_avg", ts(now), ts(now - now % 86'400)},
               {"panels_max", ts(now), ts(now - now % 86'400)}};
    e.gateways.push_back(std::move(gw));
    if (s % 5 == 0) {
      e.alerts.push_back({"1042", "String \"B\" underperforming", 2, ts(now - 3600)});
      e.alerts.push_back({"2001", "Module\\Optimizer offline", 1, ts(now - 7200)});
    }
    for (auto d : refresh::kAllDatasets) {
      auto& st = e.state(d);
      st.attempted = true;
      st.success = !(s % 97 == 0 && d == Dataset::alerts);
      st.last_success = ts(now - 60);
    }
    snap.systems.push_back(std::move(e));
  }
  return snap;
}

// ---------------------------------------------------------------------------------------------
// prometheus-cpp path: the ConstMetric way of that library, a Collectable whose Collect() builds
// the families from the snapshot; same series as metrics::render_fleet.

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

class SnapshotCollectable : public prometheus::Collectable {
 public:
  explicit SnapshotCollectable(const Snapshot& snap) : snap_(snap) {}
  std::vector<MetricFamily> Collect() const override;

 private:
  const Snapshot& snap_;
};

MetricFamily& family(std::vector<MetricFamily>& out, std::string name, std::string help,
                     MetricType type = MetricType::Gauge) {
  out.push_back(MetricFamily{std::move(name), std::move(help), type, {}});
  return out.back();
}

void add(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

double secs(Timestamp t) { return static_cast<double>(t.time_since_epoch().count()); }

std::vector<MetricFamily> SnapshotCollectable::Collect() const {
  const auto& snap = snap_;
  std::vector<MetricFamily> out;
  if (snap.user) {
    auto& f = family(out, "tigo_user_info", "The account the exporter logs in as, value 1.");
    add(f,
        {{"user_id", snap.user->user_id},
         {"user_type", snap.user->user_type},
         {"company", snap.user->company}},
        1);
  }
  {
    auto& f = family(out, "tigo_refresh_interval_seconds", "interval");
    for (auto d : refresh::kAllDatasets)
      if (auto v = snap.intervals[static_cast<std::size_t>(d)])
        add(f, {{"dataset", std::string(refresh::dataset_name(d))}}, *v);
  }
  std::size_t npanels = 0;
  for (const auto& e : snap.systems) npanels += e.panels.size();
  add(family(out, "tigo_systems", "systems"), {}, static_cast<double>(snap.systems.size()));
  add(family(out, "tigo_panels", "panels"), {}, static_cast<double>(npanels));

  auto id = [](const SystemEntry& e) { return std::to_string(e.system.system_id); };
  {
    auto& f = family(out, "tigo_system_info", "info");
    for (const auto& e : snap.systems) {
      const auto& s = e.system;
      add(f,
          {{"system_id", id(e)},
           {"name", s.name},
           {"external_id", s.external_id},
           {"city", s.city},
           {"state", s.state},
           {"country", s.country},
           {"timezone", s.timezone}},
          1);
    }
  }
  using Get = std::function<std::optional<double>(const SystemEntry&)>;
  auto summary = [](auto member) -> Get {
    return [member](const SystemEntry& e) -> std::optional<double> {
      return e.summary ? member(*e.summary) : std::nullopt;
    };
  };
  auto j = [](std::optional<double> wh) -> std::optional<double> {
    return wh ? std::optional<double>(*wh * 3600.0) : std::nullopt;
  };
  const std::tuple<const char*, MetricType, Get> gauges[] = {
      {"tigo_system_location_latitude_degrees", MetricType::Gauge,
       [](const SystemEntry& e) { return e.system.latitude; }},
      {"tigo_system_location_longitude_degrees", MetricType::Gauge,
       [](const SystemEntry& e) { return e.system.longitude; }},
      {"tigo_system_power_rating_watts", MetricType::Gauge,
       [](const SystemEntry& e) { return e.system.power_rating_w; }},
      {"tigo_system_turn_on_timestamp_seconds", MetricType::Gauge,
       [](const SystemEntry& e) -> std::optional<double> {
         if (!e.system.turn_on_date) return std::nullopt;
         return secs(*e.system.turn_on_date);
       }},
      {"tigo_system_dc_power_watts", MetricType::Gauge,
       summary([](const tigo::Summary& s) { return s.last_power_w; })},
      {"tigo_system_dc_energy_joules_total", MetricType::Counter,
       summary([j](const tigo::Summary& s) { return j(s.lifetime_energy_wh); })},
      {"tigo_system_dc_energy_today_joules", MetricType::Gauge,
       summary([j](const tigo::Summary& s) { return j(s.daily_energy_wh); })},
      {"tigo_system_dc_energy_year_joules", MetricType::Gauge,
       summary([j](const tigo::Summary& s) { return j(s.ytd_energy_wh); })},
      {"tigo_system_summary_updated_timestamp_seconds", MetricType::Gauge,
       summary([](const tigo::Summary& s) -> std::optional<double> {
         if (!s.updated_on) return std::nullopt;
         return secs(*s.updated_on);
       })},
  };
  for (const auto& [name, type, get] : gauges) {
    auto& f = family(out, name, "gauge", type);
    for (const auto& e : snap.systems)
      if (auto v = get(e)) add(f, {{"system_id", id(e)}}, *v);
  }
  {
    auto& f = family(out, "tigo_system_alerts", "alerts");
    for (const auto& e : snap.systems)
      for (const auto& a : e.alerts)
        add(f, {{"system_id", id(e)}, {"unique_id", a.unique_id}, {"title", a.title}},
            static_cast<double>(a.count));
    auto& g = family(out, "tigo_system_alert_last_timestamp_seconds", "alert last");
    for (const auto& e : snap.systems)
      for (const auto& a : e.alerts)
        if (a.last_generated)
          add(g, {{"system_id", id(e)}, {"unique_id", a.unique_id}}, secs(*a.last_generated));
  }
  {
    auto& f = family(out, "tigo_refresh_success", "success");
    for (const auto& e : snap.systems)
      for (auto d : refresh::kAllDatasets)
        if (e.state(d).attempted)
          add(f, {{"system_id", id(e)}, {"dataset", std::string(refresh::dataset_name(d))}},
              e.state(d).success ? 1 : 0);
    auto& g = family(out, "tigo_refresh_last_success_timestamp_seconds", "last success");
    for (const auto& e : snap.systems)
      for (auto d : refresh::kAllDatasets)
        if (e.state(d).last_success)
          add(g, {{"system_id", id(e)}, {"dataset", std::string(refresh::dataset_name(d))}},
              secs(*e.state(d).last_success));
  }
  {
    auto& f = family(out, "tigo_object_info", "object");
    for (const auto& e : snap.systems)
      for (const auto& o : e.objects)
        add(f,
            {{"system_id", id(e)},
             {"object_id", std::to_string(o.object_id)},
             {"parent_id", std::to_string(o.parent_id)},
             {"object_type", o.object_type},
             {"label", o.label},
             {"datasource", o.datasource}},
            1);
    auto& g = family(out, "tigo_panel_info", "panel info");
    for (const auto& e : snap.systems)
      for (const auto& p : e.panels)
        add(g,
            {{"system_id", id(e)},
             {"object_id", std::to_string(p.object_id)},
             {"panel", p.label},
             {"serial", p.serial},
             {"panel_type", p.panel_type}},
            1);
  }
  auto panel_labels = [&id](const SystemEntry& e, const Panel& p) -> Labels {
    return {{"system_id", id(e)},     {"object_id", std::to_string(p.object_id)},
            {"inverter", p.inverter}, {"mppt", p.mppt},
            {"string", p.string},     {"panel", p.label}};
  };
  for (const auto& param : tigo::kPanelParams) {
    auto& f = family(out, std::string(param.family), "panel");
    for (const auto& e : snap.systems)
      for (const auto& p : e.panels)
        if (const auto& r = p.readings[param.param]) add(f, panel_labels(e, p), r->value);
  }
  {
    auto& f = family(out, "tigo_panel_reporting", "reporting");
    for (const auto& e : snap.systems)
      for (const auto& p : e.panels) add(f, panel_labels(e, p), p.reporting ? 1 : 0);
    auto& g = family(out, "tigo_panel_sample_timestamp_seconds", "sample");
    for (const auto& e : snap.systems)
      for (const auto& p : e.panels)
        if (const auto& r = p.readings[tigo::PanelParam::power])
          add(g, panel_labels(e, p), secs(r->sample));
    auto& d = family(out, "tigo_panel_details_sample_timestamp_seconds", "details sample");
    for (const auto& e : snap.systems)
      for (const auto& p : e.panels) {
        std::optional<Timestamp> newest;
        for (const auto& spec : tigo::kPanelParams)
          if (const auto& r = p.readings[spec.param];
              spec.param != tigo::PanelParam::power && r && (!newest || r->sample > *newest))
            newest = r->sample;
        if (newest) add(d, panel_labels(e, p), secs(*newest));
      }
    auto& energy = family(out, "tigo_panel_energy_today_joules", "energy");
    for (const auto& e : snap.systems)
      for (const auto& p : e.panels)
        if (p.energy_today_wh) add(energy, panel_labels(e, p), *p.energy_today_wh * 3600.0);
  }
  {
    auto obj = [&id](const SystemEntry& e, const refresh::ObjectReading& o) -> Labels {
      return {{"system_id", id(e)},
              {"object_id", std::to_string(o.object_id)},
              {"object_type", o.object_type},
              {"label", o.label}};
    };
    auto& f = family(out, "tigo_object_power_watts", "object power");
    for (const auto& e : snap.systems)
      for (const auto& o : e.object_readings)
        if (o.power_w) add(f, obj(e, o), *o.power_w);
    auto& g = family(out, "tigo_object_energy_today_joules", "object energy");
    for (const auto& e : snap.systems)
      for (const auto& o : e.object_readings)
        if (o.energy_today_wh) add(g, obj(e, o), *o.energy_today_wh * 3600.0);
  }
  {
    auto gw = [&id](const SystemEntry& e, const refresh::Gateway& g) -> Labels {
      return {{"system_id", id(e)}, {"source_id", g.source_id}};
    };
    auto with = [](Labels l, std::initializer_list<ClientMetric::Label> more) {
      l.insert(l.end(), more.begin(), more.end());
      return l;
    };
    auto& info = family(out, "tigo_gateway_info", "gateway");
    for (const auto& e : snap.systems)
      for (const auto& g : e.gateways)
        add(info,
            with(gw(e, g), {{"name", g.name},
                            {"serial", g.serial},
                            {"sw_version", g.sw_version},
                            {"timezone", g.timezone}}),
            1);
    auto& checkin = family(out, "tigo_gateway_last_checkin_timestamp_seconds", "checkin");
    for (const auto& e : snap.systems)
      for (const auto& g : e.gateways)
        if (g.last_checkin) add(checkin, gw(e, g), secs(*g.last_checkin));
    auto& count = family(out, "tigo_gateway_reporting_gateways", "count");
    for (const auto& e : snap.systems)
      for (const auto& g : e.gateways)
        if (g.gateway_count) add(count, gw(e, g), *g.gateway_count);
    auto& state = family(out, "tigo_gateway_control_state", "state");
    for (const auto& e : snap.systems)
      for (const auto& g : e.gateways)
        if (!g.control_state.empty()) add(state, with(gw(e, g), {{"state", g.control_state}}), 1);
    auto& min = family(out, "tigo_gateway_data_last_minute_timestamp_seconds", "last min");
    for (const auto& e : snap.systems)
      for (const auto& g : e.gateways)
        for (const auto& s : g.sets)
          if (s.last_min) add(min, with(gw(e, g), {{"set", s.name}}), secs(*s.last_min));
    auto& day = family(out, "tigo_gateway_data_last_day_timestamp_seconds", "last day");
    for (const auto& e : snap.systems)
      for (const auto& g : e.gateways)
        for (const auto& s : g.sets)
          if (s.last_day) add(day, with(gw(e, g), {{"set", s.name}}), secs(*s.last_day));
  }
  return out;
}

std::string render_promcpp(const Snapshot& snap) {
  SnapshotCollectable c(snap);
  return prometheus::TextSerializer().Serialize(c.Collect());
}

// ---------------------------------------------------------------------------------------------
// Equivalence: both texts parsed into (name, sorted unescaped labels, value), plus TYPE lines.

struct Sample {
  std::string name;
  std::string labels;  // canonical: sorted name=value pairs joined by \x01
  double value;
  bool operator<(const Sample& o) const {
    return std::tie(name, labels, value) < std::tie(o.name, o.labels, o.value);
  }
};

struct Parsed {
  std::vector<Sample> samples;
  std::vector<std::pair<std::string, std::string>> types;  // family name, type
  std::string error;
};

Parsed parse_exposition(std::string_view text) {
  Parsed p;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      p.error = "no final newline";
      return p;
    }
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (line.starts_with("# TYPE ")) {
      line.remove_prefix(7);
      const auto sp = line.find(' ');
      p.types.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
      continue;
    }
    if (line.starts_with('#')) continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    std::vector<std::pair<std::string, std::string>> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const auto eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          p.error = "bad label at line " + std::to_string(line_no);
          return p;
        }
        std::string name(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        labels.emplace_back(std::move(name), std::move(value));
      }
      ++i;  // closing brace
    }
    std::sort(labels.begin(), labels.end());
    for (const auto& [n, v] : labels) {
      s.labels += n;
      s.labels += '=';
      s.labels += v;
      s.labels += '\x01';
    }
    while (i < line.size() && line[i] == ' ') ++i;
    const std::string value(line.substr(i));
    if (value == "NaN") {
      s.value = std::nan("");
    } else if (value == "+Inf") {
      s.value = HUGE_VAL;
    } else if (value == "-Inf") {
      s.value = -HUGE_VAL;
    } else {
      char* end = nullptr;
      s.value = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0') {
        p.error = "bad value at line " + std::to_string(line_no) + ": " + value;
        return p;
      }
    }
    p.samples.push_back(std::move(s));
  }
  std::sort(p.samples.begin(), p.samples.end());
  std::sort(p.types.begin(), p.types.end());
  return p;
}

// prometheus-cpp 1.0.1 prints values with 16 significant digits (max_digits10 - 1), which is not
// always the shortest round trip; values must agree to that precision.
bool same_value(double a, double b) {
  if (a == b || (std::isnan(a) && std::isnan(b))) return true;
  return std::fabs(a - b) <= 1e-15 * std::max(std::fabs(a), std::fabs(b));
}

struct Equivalence {
  bool ok = false;
  std::size_t series = 0, exact = 0;
  std::string detail;
};

Equivalence compare(std::string_view ours, std::string_view theirs) {
  Equivalence r;
  const auto a = parse_exposition(ours);
  const auto b = parse_exposition(theirs);
  if (!a.error.empty() || !b.error.empty()) {
    r.detail = "parse error: ours: " + a.error + "; prometheus-cpp: " + b.error;
    return r;
  }
  if (a.types != b.types) {
    r.detail = "TYPE lines differ";
    return r;
  }
  if (a.samples.size() != b.samples.size()) {
    r.detail = "series count differs: ours " + std::to_string(a.samples.size()) +
               ", prometheus-cpp " + std::to_string(b.samples.size());
    return r;
  }
  for (std::size_t k = 0; k < a.samples.size(); ++k) {
    const auto& x = a.samples[k];
    const auto& y = b.samples[k];
    if (x.name != y.name || x.labels != y.labels || !same_value(x.value, y.value)) {
      r.detail = "series differ: " + x.name + "{" + x.labels + "} " + std::to_string(x.value) +
                 " vs " + y.name + "{" + y.labels + "} " + std::to_string(y.value);
      return r;
    }
    if (x.value == y.value) ++r.exact;
  }
  // Duplicate series would make the sets smaller than the lists.
  for (std::size_t k = 1; k < a.samples.size(); ++k) {
    if (a.samples[k].name == a.samples[k - 1].name &&
        a.samples[k].labels == a.samples[k - 1].labels) {
      r.detail = "duplicate series " + a.samples[k].name + "{" + a.samples[k].labels + "}";
      return r;
    }
  }
  r.ok = true;
  r.series = a.samples.size();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Proposed alternatives to util::gzip_compress (src/util is not this bench's to change), timed
// beside it: output grown in chunks instead of a zero-filled deflateBound() buffer that stays
// resident as the string's capacity, and the text split at line ends into members compressed on
// separate threads (gzip members concatenate, as /metrics already relies on).

// Both proposals were adopted in util/gzip; the names stay so the table's rows stay comparable.
std::string gzip_chunked(std::string_view data, int level = 1) {
  return util::gzip_compress(data, level);
}

std::string gzip_parallel(std::string_view data, unsigned parts, int level = 1) {
  return util::gzip_compress_parallel(data, static_cast<int>(parts), level);
}

// ---------------------------------------------------------------------------------------------
// Timing and memory.

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

long status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0) return std::strtol(line.c_str() + n + 1, nullptr, 10);
  return -1;
}

// Runs `setup` then `fn` in a forked child and returns the peak RSS growth of `fn` in KiB: VmHWM
// after minus VmRSS before (freed heap is trimmed and the high-water mark reset first, so memory
// the parent or `setup` freed but kept resident does not hide the path's own).
long peak_rss_delta_kb(const std::function<void()>& setup, const std::function<void()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    setup();
    malloc_trim(0);
    const long before = status_kb("VmRSS:");
    {
      std::ofstream clear("/proc/self/clear_refs");
      clear << "5";
    }
    fn();
    const long delta = status_kb("VmHWM:") - before;
    if (write(fds[1], &delta, sizeof delta) != static_cast<ssize_t>(sizeof delta)) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  long delta = -1;
  if (read(fds[0], &delta, sizeof delta) != static_cast<ssize_t>(sizeof delta)) delta = -1;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return delta;
}

struct Stats {
  double median = 0, p90 = 0, min = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.p90 = v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(0.9 * v.size())) - 1)];
  return s;
}

struct Path {
  Path(
      std::string n, std::function<std::size_t()> r, std::function<void()> s = [] {})
      : name(std::move(n)), run(std::move(r)), setup(std::move(s)) {}
  std::string name;
  std::function<std::size_t()> run;  // returns the bytes it produced
  std::function<void()> setup;       // what the memory child needs before `run` (its input)
  std::vector<double> ms;
  std::size_t bytes = 0;
  long rss_kb = -1;
};

}  // namespace

int main(int argc, char** argv) {
  int systems = 1000, panels = 100, reps = 7;
  bool gzip6 = true, promcpp = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto num = [&](int& v) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      v = std::atoi(argv[++i]);
    };
    if (a == "--systems") {
      num(systems);
    } else if (a == "--panels") {
      num(panels);
    } else if (a == "--reps") {
      num(reps);
    } else if (a == "--no-gzip6") {
      gzip6 = false;
    } else if (a == "--no-promcpp") {
      promcpp = false;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--systems N] [--panels M] [--reps R] [--no-gzip6] [--no-promcpp]\n",
                   argv[0]);
      return 2;
    }
  }

  auto t0 = Clock::now();
  const Snapshot snap = build_snapshot(systems, panels);
  std::printf("snapshot: %d systems x %d panels built in %.0f ms, process RSS %ld KiB\n", systems,
              panels, ms_since(t0), status_kb("VmRSS:"));

  // Reference outputs and the equivalence check first: a benchmark of wrong output is worthless.
  std::string ours;
  metrics::render_fleet(snap, ours);
  std::size_t series = 0;
  for (char c : ours) series += c == '\n';
  if (promcpp) {
    const std::string theirs = render_promcpp(snap);
    const auto eq = compare(ours, theirs);
    if (!eq.ok) {
      std::fprintf(stderr, "EQUIVALENCE FAILED: %s\n", eq.detail.c_str());
      return 1;
    }
    series = eq.series;
    std::printf(
        "equivalence: OK, %zu series identical as (name, labels, value) sets; %zu values "
        "bit-identical, the rest equal to prometheus-cpp's 16 significant digits\n",
        eq.series, eq.exact);
  }
  {
    std::string before;
    metrics_v0::render_fleet(snap, before);
    // HELP texts moved to the family table after v0 was copied (and some were reworded there):
    // everything else must be byte-identical.
    const auto without_help = [](const std::string& text) {
      std::string out;
      out.reserve(text.size());
      for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t end = std::min(text.find('\n', pos), text.size() - 1) + 1;
        if (text.compare(pos, 7, "# HELP ") != 0) out.append(text, pos, end - pos);
        pos = end;
      }
      return out;
    };
    if (without_help(before) != without_help(ours)) {
      std::fprintf(stderr, "render_fleet output differs from the baseline (v0) FAILED\n");
      return 1;
    }
    std::printf(
        "render_fleet output byte-identical to the baseline v0 renderer (HELP lines aside): OK\n");
  }
  const std::string gz1_ref = util::gzip_compress(ours, 1);
  if (util::gzip_decompress(gz1_ref) != ours || util::gzip_decompress(gzip_chunked(ours)) != ours ||
      util::gzip_decompress(gzip_parallel(ours, 2)) != ours) {
    std::fprintf(stderr, "gzip round trip FAILED\n");
    return 1;
  }

  {
    // The exporter's cache (both formats, gzip members per family) decodes to the same text.
    const auto cached = metrics::cache_fleet(snap, 2);
    std::string gz;
    for (const auto& f : cached->families) {
      gz += f.text_header.bytes;
      for (const auto& piece : f.samples) gz += piece.bytes;
    }
    if (util::gzip_decompress(gz) != ours) {
      std::fprintf(stderr, "cache_fleet's text format differs from render_fleet FAILED\n");
      return 1;
    }
    std::printf("cache_fleet's text format decodes to render_fleet's text: OK\n");
  }

  std::string reused;  // the reused buffer of path (a)
  reused.reserve(ours.size());
  std::string copy(ours.size(), '\0');
  std::vector<Path> paths;
  paths.emplace_back("render_fleet, reused buffer", [&] {
    metrics::render_fleet(snap, reused);
    return reused.size();
  });
  paths.emplace_back("render_fleet, fresh buffer (app.cpp)", [&] {
    std::string fresh;
    metrics::render_fleet(snap, fresh);
    return fresh.size();
  });
  std::string reused_v0;
  reused_v0.reserve(ours.size());
  paths.emplace_back("v0 render_fleet (before), reused buffer", [&] {
    metrics_v0::render_fleet(snap, reused_v0);
    return reused_v0.size();
  });
  paths.emplace_back("v0 render_fleet (before), fresh buffer", [&] {
    std::string fresh;
    metrics_v0::render_fleet(snap, fresh);
    return fresh.size();
  });
  paths.emplace_back("gzip level 1 (util::gzip_compress)",
                     [&] { return util::gzip_compress(ours, 1).size(); });
  paths.emplace_back("gzip level 1, chunked output (proposal)",
                     [&] { return gzip_chunked(ours, 1).size(); });
  paths.emplace_back("gzip level 1, 2 members on 2 threads (proposal)",
                     [&] { return gzip_parallel(ours, 2, 1).size(); });
  if (gzip6)
    paths.emplace_back("gzip level 6", [&] { return util::gzip_compress(ours, 6).size(); });
  if (promcpp) {
    paths.emplace_back("prometheus-cpp Collect() only", [&] {
      SnapshotCollectable c(snap);
      return c.Collect().size();
    });
    paths.emplace_back("prometheus-cpp Collect + TextSerializer",
                       [&] { return render_promcpp(snap).size(); });
  }
  // What app.cpp does per snapshot, before and since OpenMetrics (issue 12): one text gzipped in
  // 2 members on 2 threads, against both formats as per-family members on 2 threads.
  const std::size_t before_index = paths.size();
  paths.emplace_back("per snapshot, text only: render + gzip 2 threads", [&] {
    std::string fresh;
    metrics::render_fleet(snap, fresh);
    return util::gzip_compress_parallel(fresh, 2).size();
  });
  paths.emplace_back("per snapshot, text + OpenMetrics: cache_fleet(2)",
                     [&] { return metrics::cache_fleet(snap, 2)->gzip_size; });
  paths.emplace_back("memcpy of the text", [&] {
    std::memcpy(copy.data(), ours.data(), ours.size());
    return copy.size();
  });

  // Memory: each path once in its own forked child (fresh allocations, as a new process would).
  for (auto& p : paths) {
    auto run = p.run;
    p.rss_kb = peak_rss_delta_kb(p.setup, [run] { (void)run(); });
  }
  // Time: the paths interleaved, `reps` rounds (one warm-up round not counted).
  for (int r = -1; r < reps; ++r) {
    for (auto& p : paths) {
      t0 = Clock::now();
      p.bytes = p.run();
      const double ms = ms_since(t0);
      if (r >= 0) p.ms.push_back(ms);
    }
  }

  std::printf("series: %zu (lines of our text: %zu), text bytes: %zu\n\n", series,
              static_cast<std::size_t>(std::count(ours.begin(), ours.end(), '\n')), ours.size());
  std::printf("%-50s %12s %10s %10s %10s %14s\n", "path", "bytes", "median ms", "p90 ms", "min ms",
              "peak RSS +MiB");
  for (const auto& p : paths) {
    const auto s = stats(p.ms);
    std::printf("%-50s %12zu %10.1f %10.1f %10.1f %14.1f\n", p.name.c_str(), p.bytes, s.median,
                s.p90, s.min, p.rss_kb / 1024.0);
  }
  if (promcpp) {
    const auto ours_s = stats(paths[0].ms);
    const auto& pc = paths[gzip6 ? 9 : 8];
    const auto theirs_s = stats(pc.ms);
    std::printf(
        "\nratio prometheus-cpp / render_fleet (reused buffer): time %.1fx (median), %.1fx (p90); "
        "peak RSS %.1fx\n",
        theirs_s.median / ours_s.median, theirs_s.p90 / ours_s.p90,
        paths[0].rss_kb > 0 ? static_cast<double>(pc.rss_kb) / paths[0].rss_kb : 0.0);
    const auto fresh_s = stats(paths[1].ms);
    const auto gz1_s = stats(paths[4].ms);
    const auto v0_s = stats(paths[2].ms);
    const auto v0_fresh_s = stats(paths[3].ms);
    std::printf(
        "ratio v0 (before) / render_fleet: reused buffer %.2fx, fresh buffer %.2fx (median)\n",
        v0_s.median / ours_s.median, v0_fresh_s.median / fresh_s.median);
    std::printf(
        "exporter's background work per snapshot (render fresh + gzip 1): %.1f ms median, %.1f "
        "ms p90\n",
        fresh_s.median + gz1_s.median, fresh_s.p90 + gz1_s.p90);
  }
  {
    const auto before = stats(paths[before_index].ms);
    const auto both = stats(paths[before_index + 1].ms);
    std::printf(
        "per snapshot, both formats (cache_fleet) / text only (render + gzip_compress_parallel): "
        "time %.2fx (median), %.2fx (p90); gzip bytes %.3fx\n",
        both.median / before.median, both.p90 / before.p90,
        static_cast<double>(paths[before_index + 1].bytes) /
            static_cast<double>(paths[before_index].bytes));
  }
  std::printf("reps: %d (interleaved, after one warm-up round)\n", reps);
  return 0;
}
