#include "metrics/exposition.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <vector>

#include "metrics/collector.hpp"
#include "metrics/family_table.hpp"
#include "metrics/self_metrics.hpp"
#include "util/gzip.hpp"
#include "util/time.hpp"

TEST_CASE("label values are escaped as the text format requires") {
  std::string out;
  metrics::append_escaped_label_value(out, "a\\b\"c\nd\xC3\xBC");
  CHECK(out == "a\\\\b\\\"c\\nd\xC3\xBC");
}

TEST_CASE("values use Prometheus' spellings") {
  auto v = [](double d) {
    std::string s;
    metrics::append_value(s, d);
    return s;
  };
  CHECK(v(1) == "1");
  CHECK(v(0.1) == "0.1");
  CHECK(v(1234.5) == "1234.5");
  CHECK(v(-2) == "-2");
  CHECK(v(1e21) == "1e+21");
  CHECK(v(INFINITY) == "+Inf");
  CHECK(v(-INFINITY) == "-Inf");
  CHECK(v(NAN) == "NaN");
}

namespace {

// One system with every kind of data, as the refresher would publish it.
refresh::Snapshot small_snapshot() {
  refresh::Snapshot snap;
  snap.user = refresh::User{"7", "Installer", "Sun & Co"};
  snap.intervals[static_cast<std::size_t>(refresh::Dataset::summary)] = 300;
  refresh::SystemEntry e;
  e.system.system_id = 42;
  e.system.name = "Roof \"A\"";
  e.system.city = "Austin";
  e.system.timezone = "America/Chicago";
  e.system.latitude = 30.5;
  e.system.power_rating_w = 9000;
  e.summary =
      tigo::Summary{1000.5, 100.25, 10, 1234.5, util::parse_iso8601("2026-03-31T12:00:00Z")};
  e.state(refresh::Dataset::system) = {true, true, util::parse_iso8601("2026-03-31T12:00:10Z"), ""};
  e.state(refresh::Dataset::summary) = {true, false, std::nullopt, "data/summary: HTTP 500"};
  e.objects.push_back({1, -1, "System", "Roof", "", std::nullopt});
  e.objects.push_back({5, 1, "Panel", "A1", "04C05B800ACE.panels.A1", std::nullopt});
  refresh::Panel p;
  p.object_id = 5;
  p.label = "A1";
  p.serial = "S\\N";
  p.panel_type = "TS4-A-O";
  p.inverter = "Inv 1";
  p.string = "A";
  const auto minute = *util::parse_iso8601("2026-03-31T11:59:00Z");
  p.readings[tigo::PanelParam::power] = refresh::Reading{300.5, minute};
  p.readings[tigo::PanelParam::voltage] = refresh::Reading{35.1, minute};
  p.readings[tigo::PanelParam::current] = refresh::Reading{8.56, minute};
  p.reporting = true;
  e.panels.push_back(p);
  e.object_readings.push_back({1, "System", "Roof", 2500.0, 12000.0});
  refresh::Gateway g;
  g.source_id = "77";
  g.name = "CCA\nmain";
  g.control_state = "on";
  g.last_checkin = util::parse_iso8601("2026-03-31T12:00:00Z");
  g.sets.push_back({"panels_avg", minute, std::nullopt});
  e.gateways.push_back(g);
  e.alerts.push_back({"PVOFF", "PV-Off engaged", 2, util::parse_iso8601("2026-03-31T10:00:00Z")});
  snap.systems.push_back(e);
  return snap;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      out.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("fleet rendering: every sample of a small snapshot, exactly") {
  std::string out;
  metrics::render_fleet(small_snapshot(), out);
  std::vector<std::string> samples;
  for (const auto& l : lines_of(out))
    if (!l.empty() && l[0] != '#') samples.push_back(l);
  const std::vector<std::string> expected = {
      R"(tigo_user_info{user_id="7",user_type="Installer",company="Sun & Co"} 1)",
      R"(tigo_refresh_interval_seconds{dataset="summary"} 300)",
      R"(tigo_systems 1)",
      R"(tigo_panels 1)",
      R"(tigo_system_info{system_id="42",name="Roof \"A\"",external_id="",city="Austin",state="",country="",timezone="America/Chicago"} 1)",
      R"(tigo_system_location_latitude_degrees{system_id="42"} 30.5)",
      R"(tigo_system_power_rating_watts{system_id="42"} 9000)",
      R"(tigo_system_dc_power_watts{system_id="42"} 1234.5)",
      R"(tigo_system_dc_energy_joules_total{system_id="42"} 3601800)",
      R"(tigo_system_dc_energy_today_joules{system_id="42"} 36000)",
      R"(tigo_system_dc_energy_year_joules{system_id="42"} 360900)",
      R"(tigo_system_summary_updated_timestamp_seconds{system_id="42"} 1774958400)",
      R"(tigo_system_alerts{system_id="42",unique_id="PVOFF",title="PV-Off engaged"} 2)",
      R"(tigo_system_alert_last_timestamp_seconds{system_id="42",unique_id="PVOFF"} 1774951200)",
      R"(tigo_refresh_success{system_id="42",dataset="system"} 1)",
      R"(tigo_refresh_success{system_id="42",dataset="summary"} 0)",
      R"(tigo_refresh_last_success_timestamp_seconds{system_id="42",dataset="system"} 1774958410)",
      R"(tigo_object_info{system_id="42",object_id="1",parent_id="-1",object_type="System",label="Roof",datasource=""} 1)",
      R"(tigo_object_info{system_id="42",object_id="5",parent_id="1",object_type="Panel",label="A1",datasource="04C05B800ACE.panels.A1"} 1)",
      R"(tigo_panel_info{system_id="42",object_id="5",panel="A1",serial="S\\N",panel_type="TS4-A-O"} 1)",
      R"(tigo_panel_power_watts{system_id="42",object_id="5",inverter="Inv 1",mppt="",string="A",panel="A1"} 300.5)",
      R"(tigo_panel_input_voltage_volts{system_id="42",object_id="5",inverter="Inv 1",mppt="",string="A",panel="A1"} 35.1)",
      R"(tigo_panel_input_current_amperes{system_id="42",object_id="5",inverter="Inv 1",mppt="",string="A",panel="A1"} 8.56)",
      R"(tigo_panel_reporting{system_id="42",object_id="5",inverter="Inv 1",mppt="",string="A",panel="A1"} 1)",
      R"(tigo_panel_sample_timestamp_seconds{system_id="42",object_id="5",inverter="Inv 1",mppt="",string="A",panel="A1"} 1774958340)",
      R"(tigo_panel_details_sample_timestamp_seconds{system_id="42",object_id="5",inverter="Inv 1",mppt="",string="A",panel="A1"} 1774958340)",
      R"(tigo_object_power_watts{system_id="42",object_id="1",object_type="System",label="Roof"} 2500)",
      R"(tigo_object_energy_today_joules{system_id="42",object_id="1",object_type="System",label="Roof"} 43200000)",
      R"(tigo_gateway_info{system_id="42",source_id="77",name="CCA\nmain",serial="",sw_version="",timezone=""} 1)",
      R"(tigo_gateway_last_checkin_timestamp_seconds{system_id="42",source_id="77"} 1774958400)",
      R"(tigo_gateway_control_state{system_id="42",source_id="77",state="on"} 1)",
      R"(tigo_gateway_data_last_minute_timestamp_seconds{system_id="42",source_id="77",set="panels_avg"} 1774958340)",
  };
  CHECK(samples == expected);
}

TEST_CASE("every family has HELP and TYPE once, before its samples") {
  std::string out;
  metrics::render_fleet(small_snapshot(), out);
  std::map<std::string, int> help, type;
  std::string current;
  for (const auto& l : lines_of(out)) {
    if (l.rfind("# HELP ", 0) == 0) {
      current = l.substr(7, l.find(' ', 7) - 7);
      ++help[current];
      CHECK(l.find('\\') == std::string::npos);
    } else if (l.rfind("# TYPE ", 0) == 0) {
      ++type[l.substr(7, l.find(' ', 7) - 7)];
    } else {
      const std::string name = l.substr(0, l.find_first_of("{ "));
      INFO(l);
      CHECK(name == current);
    }
  }
  // The family table: 4 account families rendered from the snapshot, 14 per system, 12 per object,
  // 6 per gateway (the self-metrics come from the registry; without a local source, none of the
  // local families).
  CHECK(help.size() == 37);
  for (const auto& [name, n] : help) {
    INFO(name);
    CHECK(n == 1);
    CHECK(type[name] == 1);
  }
}

TEST_CASE("a missing value produces no sample, never a zero") {
  refresh::Snapshot snap;
  refresh::SystemEntry e;
  e.system.system_id = 7;
  e.summary = tigo::Summary{};  // every field null
  snap.systems.push_back(e);
  std::string out;
  metrics::render_fleet(snap, out);
  CHECK(out.find("tigo_system_dc_power_watts{") == std::string::npos);
  CHECK(out.find("tigo_system_dc_energy_joules_total{") == std::string::npos);
}

// --- OpenMetrics
// ----------------------------------------------------------------------------------

namespace {

// One format of a cached fleet, as /metrics sends it (before the self-metrics and `# EOF`).
std::string assemble(const metrics::CachedFleet& fleet, metrics::Format format) {
  std::string gz;
  std::size_t plain = 0;
  for (const auto& f : fleet.families) {
    const auto& header = format == metrics::Format::text ? f.text_header : f.openmetrics_header;
    gz += header.bytes;
    plain += header.plain_size;
    for (const auto& piece : f.samples) {
      gz += piece.bytes;
      plain += piece.plain_size;
    }
  }
  auto text = util::gzip_decompress(gz);
  CHECK(text.size() == plain);
  return text;
}

// The OpenMetrics 1.0 rules a scraper holds /metrics to: metadata before samples, once per
// family; UNIT a suffix of the family name; a counter's samples `_total`, a histogram's
// `_bucket`/`_sum`/`_count`, a gauge's its own name; `# EOF` last. Returns what breaks them.
std::vector<std::string> openmetrics_problems(const std::string& text) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> types;
  std::string family, type;
  bool eof = false, samples_seen = false;
  for (const auto& l : lines_of(text)) {
    const auto bad = [&](const std::string& what) { problems.push_back(what + ": " + l); };
    if (eof) bad("after # EOF");
    if (l == "# EOF") {
      eof = true;
    } else if (l.rfind("# TYPE ", 0) == 0) {
      family = l.substr(7, l.find(' ', 7) - 7);
      type = l.substr(l.find(' ', 7) + 1);
      if (!types.emplace(family, type).second) bad("family twice");
      samples_seen = false;
    } else if (l.rfind("# UNIT ", 0) == 0 || l.rfind("# HELP ", 0) == 0) {
      const auto name = l.substr(7, l.find(' ', 7) - 7);
      if (name != family || samples_seen) bad("metadata out of place");
      if (l[2] == 'U' && !family.ends_with("_" + l.substr(l.find(' ', 7) + 1)))
        bad("unit not a suffix of the name");
      if (l[2] == 'H') {
        const auto help = l.substr(l.find(' ', 7) + 1);
        for (std::size_t i = 0; i < help.size(); ++i) {
          if (help[i] == '"') bad("unescaped quote in HELP");
          if (help[i] == '\\') ++i;
        }
      }
    } else if (l.empty() || l[0] == '#') {
      bad("unexpected line");
    } else {
      samples_seen = true;
      const auto name = l.substr(0, l.find_first_of("{ "));
      const bool fits =
          type == "counter" ? name == family + "_total"
          : type == "histogram"
              ? (name == family + "_bucket" || name == family + "_sum" || name == family + "_count")
              : name == family;
      if (!fits) bad("sample outside its family (" + type + " " + family + ")");
    }
  }
  if (!eof) problems.emplace_back("no # EOF");
  return problems;
}

std::vector<std::string> sample_lines(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(text))
    if (!l.empty() && l[0] != '#') out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("family headers: text 0.0.4 and OpenMetrics 1.0", "[metrics][openmetrics]") {
  const metrics::FamilyHeader energy{"tigo_x_energy_joules_total", "counter", "joules",
                                     "Energy \"E\" a\\b."};
  std::string text, om;
  metrics::append_family_header(text, energy, metrics::Format::text);
  metrics::append_family_header(om, energy, metrics::Format::openmetrics);
  CHECK(text ==
        "# HELP tigo_x_energy_joules_total Energy \"E\" a\\\\b.\n"
        "# TYPE tigo_x_energy_joules_total counter\n");
  CHECK(om ==
        "# TYPE tigo_x_energy_joules counter\n# UNIT tigo_x_energy_joules joules\n"
        "# HELP tigo_x_energy_joules Energy \\\"E\\\" a\\\\b.\n");
  om.clear();
  metrics::append_family_header(om, {"tigo_systems", "gauge", "", "Systems."},
                                metrics::Format::openmetrics);
  CHECK(om == "# TYPE tigo_systems gauge\n# HELP tigo_systems Systems.\n");
}

TEST_CASE(
    "cached fleet: the text is render_fleet's, OpenMetrics the same samples with its own "
    "metadata",
    "[metrics][openmetrics]") {
  auto snap = small_snapshot();
  snap.local_sources.push_back({});  // the local families too
  std::string expected_text;
  metrics::render_fleet(snap, expected_text);
  const auto cached = metrics::cache_fleet(snap, 2);
  const auto text = assemble(*cached, metrics::Format::text);
  CHECK(text == expected_text);
  CHECK(cached->text_size == text.size());
  const auto om = assemble(*cached, metrics::Format::openmetrics);
  INFO(om);
  CHECK(sample_lines(om) == sample_lines(text));
  CHECK(openmetrics_problems(om + std::string(metrics::kOpenMetricsEof)).empty());
  const auto om_lines = lines_of(om);
  for (const std::string line :
       {"# TYPE tigo_system_dc_energy_joules counter", "# UNIT tigo_system_dc_energy_joules joules",
        "# UNIT tigo_panel_power_watts watts",
        "# UNIT tigo_system_location_latitude_degrees degrees", "# TYPE tigo_panel_rssi gauge"}) {
    INFO(line);
    CHECK(std::count(om_lines.begin(), om_lines.end(), line) == 1);
  }
  CHECK(om.find("# UNIT tigo_panel_rssi") == std::string::npos);  // no unit, no UNIT line
  CHECK(om.find("_total counter") == std::string::npos);
  // Every family of the table rendered from a snapshot carries its unit.
  for (const auto& f : metrics::kFamilies) {
    if (f.unit.empty() || f.scope == metrics::Scope::exporter) continue;
    std::string name(f.name);
    if (name.ends_with("_total")) name.resize(name.size() - 6);
    INFO(name);
    CHECK(om.find("# UNIT " + name + " " + std::string(f.unit) + "\n") != std::string::npos);
  }
}

TEST_CASE("cached fleet: a big family is cut into gzip members at line ends, both formats whole",
          "[metrics][openmetrics]") {
  refresh::Snapshot snap = small_snapshot();
  const auto proto = snap.systems[0];
  for (int s = 0; s < 60; ++s) {  // 6,000 panels with long labels: ~5 MB a panel family
    auto e = proto;
    e.system.system_id = 1000 + s;
    for (int p = 0; p < 100; ++p) {
      auto panel = proto.panels[0];
      panel.object_id = 10'000 + p;
      panel.label = "A" + std::to_string(p) + std::string(700, 'x');
      e.panels.push_back(panel);
    }
    snap.systems.push_back(e);
  }
  std::string expected_text;
  metrics::render_fleet(snap, expected_text);
  const auto cached = metrics::cache_fleet(snap, 3);
  std::size_t most = 0;
  for (const auto& f : cached->families) most = std::max(most, f.samples.size());
  CHECK(most > 1);
  for (const auto& f : cached->families)
    for (const auto& piece : f.samples) CHECK(piece.plain_size > 0);
  const auto text = assemble(*cached, metrics::Format::text);
  CHECK(text == expected_text);
  const auto om = assemble(*cached, metrics::Format::openmetrics);
  CHECK(sample_lines(om) == sample_lines(text));
  CHECK(openmetrics_problems(om + std::string(metrics::kOpenMetricsEof)).empty());
}

TEST_CASE("self-metrics in OpenMetrics: counters by family name, histograms with their unit",
          "[metrics][openmetrics]") {
  metrics::SelfMetrics m({"0.1.0", "abc", "gcc"});
  m.on_call("data/summary", "200", 0.2);
  m.on_login(true, std::nullopt);
  const auto om = m.render(metrics::Format::openmetrics);
  INFO(om);
  CHECK(openmetrics_problems(om + std::string(metrics::kOpenMetricsEof)).empty());
  const auto lines = lines_of(om);
  const auto has = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) != lines.end();
  };
  CHECK(has("# TYPE tigo_api_requests counter"));
  CHECK(has(R"(tigo_api_requests_total{code="200",endpoint="data/summary"} 1)"));
  CHECK(has("# TYPE tigo_api_request_duration_seconds histogram"));
  CHECK(has("# UNIT tigo_api_request_duration_seconds seconds"));
  CHECK(has(R"(tigo_api_request_duration_seconds_bucket{endpoint="data/summary",le="+Inf"} 1)"));
  CHECK(has("# TYPE tigo_api_logins counter"));
  CHECK(has(R"(tigo_api_logins_total{result="success"} 1)"));
  CHECK(has("# UNIT tigo_api_token_expiry_timestamp_seconds seconds"));
  // The same samples as the text format.
  CHECK(sample_lines(om) == sample_lines(m.render(metrics::Format::text)));
}
