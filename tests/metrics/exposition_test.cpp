#include "metrics/exposition.hpp"

#include <catch2/catch.hpp>
#include <cmath>

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

TEST_CASE("fleet rendering: golden text for one system") {
  refresh::Snapshot snap;
  refresh::SystemEntry e;
  e.system.system_id = 42;
  e.system.name = "Roof \"A\"";
  e.system.city = "Austin";
  e.system.timezone = "America/Chicago";
  e.system.latitude = 30.5;
  e.system.power_rating_w = 9000;
  e.summary =
      tigo::Summary{1000.5, 100.25, 10, 1234.5, util::parse_iso8601("2026-03-31T12:00:00Z")};
  e.system_state.success = true;
  e.system_state.last_success = util::parse_iso8601("2026-03-31T12:00:10Z");
  e.summary_state.success = false;
  snap.systems.push_back(e);

  std::string out;
  metrics::render_fleet(snap, out);
  const std::string expected =
      "# HELP tigo_systems Systems in the snapshot, after filter and shard.\n"
      "# TYPE tigo_systems gauge\n"
      "tigo_systems 1\n"
      "# HELP tigo_system_info Descriptive labels of a system, value 1 (systems list and "
      "systems/view).\n"
      "# TYPE tigo_system_info gauge\n"
      "tigo_system_info{system_id=\"42\",name=\"Roof \\\"A\\\"\",external_id=\"\",city=\"Austin\","
      "state=\"\",country=\"\",timezone=\"America/Chicago\"} 1\n"
      "# HELP tigo_system_location_latitude_degrees Latitude of the system (systems list).\n"
      "# TYPE tigo_system_location_latitude_degrees gauge\n"
      "tigo_system_location_latitude_degrees{system_id=\"42\"} 30.5\n"
      "# HELP tigo_system_location_longitude_degrees Longitude of the system (systems list).\n"
      "# TYPE tigo_system_location_longitude_degrees gauge\n"
      "# HELP tigo_system_power_rating_watts Max DC power rating of the system (systems list).\n"
      "# TYPE tigo_system_power_rating_watts gauge\n"
      "tigo_system_power_rating_watts{system_id=\"42\"} 9000\n"
      "# HELP tigo_system_turn_on_timestamp_seconds Planned turn-on date of the system as a Unix "
      "time (systems list).\n"
      "# TYPE tigo_system_turn_on_timestamp_seconds gauge\n"
      "# HELP tigo_system_dc_power_watts Last DC power output of the system (data/summary).\n"
      "# TYPE tigo_system_dc_power_watts gauge\n"
      "tigo_system_dc_power_watts{system_id=\"42\"} 1234.5\n"
      "# HELP tigo_system_dc_energy_joules_total Lifetime DC energy of the system (data/summary "
      "lifetime_energy_dc).\n"
      "# TYPE tigo_system_dc_energy_joules_total counter\n"
      "tigo_system_dc_energy_joules_total{system_id=\"42\"} 3601800\n"
      "# HELP tigo_system_dc_energy_today_joules DC energy of the system today, site-local day "
      "(data/summary daily_energy_dc).\n"
      "# TYPE tigo_system_dc_energy_today_joules gauge\n"
      "tigo_system_dc_energy_today_joules{system_id=\"42\"} 36000\n"
      "# HELP tigo_system_dc_energy_year_joules DC energy of the system this year to date "
      "(data/summary ytd_energy_dc).\n"
      "# TYPE tigo_system_dc_energy_year_joules gauge\n"
      "tigo_system_dc_energy_year_joules{system_id=\"42\"} 360900\n"
      "# HELP tigo_system_summary_updated_timestamp_seconds When Tigo last updated the system's "
      "summary, Unix time (data/summary updated_on).\n"
      "# TYPE tigo_system_summary_updated_timestamp_seconds gauge\n"
      "tigo_system_summary_updated_timestamp_seconds{system_id=\"42\"} 1774958400\n"
      "# HELP tigo_refresh_success Whether the last refresh of a system's dataset succeeded (1) "
      "or failed (0).\n"
      "# TYPE tigo_refresh_success gauge\n"
      "tigo_refresh_success{system_id=\"42\",dataset=\"system\"} 1\n"
      "tigo_refresh_success{system_id=\"42\",dataset=\"summary\"} 0\n"
      "# HELP tigo_refresh_last_success_timestamp_seconds When a system's dataset was last "
      "refreshed successfully, Unix time.\n"
      "# TYPE tigo_refresh_last_success_timestamp_seconds gauge\n"
      "tigo_refresh_last_success_timestamp_seconds{system_id=\"42\",dataset=\"system\"} "
      "1774958410\n";
  CHECK(out == expected);
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
