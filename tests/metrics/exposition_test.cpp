#include "metrics/exposition.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <vector>

#include "metrics/collector.hpp"
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
  // The family table: 4 account families rendered from the snapshot, 14 per system, 11 per object,
  // 6 per gateway (the self-metrics come from the registry).
  CHECK(help.size() == 35);
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
