// Planted faults: each visible in the data and raising its alert.
#include <date/date.h>
#include <date/tz.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <optional>

#include "sim/alerts.hpp"
#include "sim/data_csv.hpp"
#include "sim/model.hpp"
#include "sim/solar.hpp"
#include "sim/uploads.hpp"
#include "sim_fixture.hpp"
#include "util/time.hpp"

using namespace simtest;

namespace {

// The instant of a local mean solar hour at the system on a date.
sys_seconds solar(const sim::SystemContext& c, sys_days day, double hour) {
  return sys_seconds{day} +
         seconds{static_cast<std::int64_t>((hour - c.spec.longitude / 15.0) * 3600)};
}

sim::SystemContext with_fault(const sim::Fleet& fleet, sim::FaultKind kind) {
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    auto c = sim::make_context(fleet, fleet.system(i));
    if (c.fault.kind == kind) return c;
  }
  FAIL("no system with fault " << sim::fault_name(kind));
  return {};
}

double num(const std::string& s) { return std::stod(s); }

std::string alerts_of(RunningSim& sim, const sim::SystemContext& c) {
  return sim.ok("alerts/system?system_id=" + std::to_string(c.spec.system_id) + "&limit=1000");
}

const sys_days kEquinox = sys_days{year{2026} / 3 / 21};

}  // namespace

TEST_CASE("each fault kind is planted in one system of every ten", "[sim]") {
  for (std::uint64_t seed : {1, 2, 3}) {
    const sim::Fleet fleet({seed, 20, 24});
    std::map<sim::FaultKind, int> count;
    for (std::size_t i = 0; i < fleet.size(); ++i)
      ++count[sim::make_context(fleet, fleet.system(i)).fault.kind];
    for (auto kind :
         {sim::FaultKind::ShadedPanel, sim::FaultKind::DeadOptimizer, sim::FaultKind::WeakString,
          sim::FaultKind::GatewayStall, sim::FaultKind::PvOff})
      CHECK(count[kind] == 2);
    CHECK(count[sim::FaultKind::None] == 10);
  }
}

TEST_CASE("shaded panel: a third of its power in the afternoon shadow, alert each day", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const auto c = with_fault(fleet, sim::FaultKind::ShadedPanel);
  RunningSim sim(plain(), 10, solar(c, kEquinox, 19));
  const auto& topo = c.topo;
  const auto& shaded = topo.panels[static_cast<std::size_t>(c.fault.panel)];
  const auto& st = topo.strings[static_cast<std::size_t>(shaded.string_index)];
  const auto other = topo.panels[static_cast<std::size_t>(
      st.first_panel + (c.fault.panel == st.first_panel ? 1 : 0))];
  const auto csv = parse_csv(sim.ok(
      "data/aggregate?system_id=" + std::to_string(c.spec.system_id) + "&start=" +
      site(c.zone, solar(c, kEquinox, 10)) + "&end=" + site(c.zone, solar(c, kEquinox, 17.4)) +
      "&object_ids=" + std::to_string(shaded.object_id) + "," + std::to_string(other.object_id)));
  int in_shadow = 0, in_sun = 0;
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    if (row[2].empty() || num(row[2]) < 20) continue;
    const double ratio = num(row[1]) / num(row[2]);
    const double hour = 10.0 + static_cast<double>(r) / 60.0;  // one row a minute from 10:00
    if (hour >= 14.6 && hour < 17.3) {
      CHECK(ratio < 0.4);
      ++in_shadow;
    } else if (hour < 14.4) {
      CHECK(ratio > 0.85);
      ++in_sun;
    }
  }
  CHECK(in_shadow > 100);
  CHECK(in_sun > 200);
  const auto alerts = alerts_of(sim, c);
  CHECK(alerts.find("\"unique_id\":300") != std::string::npos);
  CHECK(alerts.find("Panel " + shaded.label) != std::string::npos);
}

TEST_CASE("dead optimizer: no readings, its column gone, alert raised", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const auto c = with_fault(fleet, sim::FaultKind::DeadOptimizer);
  RunningSim sim(plain(), 10, solar(c, kEquinox, 15));
  const auto dead =
      std::to_string(c.topo.panels[static_cast<std::size_t>(c.fault.panel)].object_id);
  const std::string base = "data/aggregate?system_id=" + std::to_string(c.spec.system_id) +
                           "&start=" + site(c.zone, solar(c, kEquinox, 11)) +
                           "&end=" + site(c.zone, solar(c, kEquinox, 13));
  const auto all = parse_csv(sim.ok(base + "&sensors=false"));
  CHECK(all.header.size() == 24);  // 23 panels, the dead one is not a column
  CHECK(std::find(all.header.begin(), all.header.end(), dead) == all.header.end());
  const auto asked = parse_csv(sim.ok(base + "&object_ids=" + dead + "," + all.header[1]));
  REQUIRE(asked.rows.size() > 100);
  for (const auto& row : asked.rows) {
    CHECK(row[1].empty());
    CHECK_FALSE(row[2].empty());
  }
  const auto alerts = alerts_of(sim, c);
  CHECK(alerts.find("\"unique_id\":210") != std::string::npos);
  CHECK(alerts.find("Panel " + c.topo.panels[static_cast<std::size_t>(c.fault.panel)].label) !=
        std::string::npos);
}

TEST_CASE("weak string: lower current on its panels, same voltage, alert raised", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const auto c = with_fault(fleet, sim::FaultKind::WeakString);
  REQUIRE(c.topo.strings.size() >= 2);
  RunningSim sim(plain(), 10, solar(c, kEquinox, 15));
  const auto& weak = c.topo.strings[static_cast<std::size_t>(c.fault.string)];
  const auto& good = c.topo.strings[c.fault.string == 0 ? 1 : 0];
  const auto w = c.topo.panels[static_cast<std::size_t>(weak.first_panel)].object_id;
  const auto g = c.topo.panels[static_cast<std::size_t>(good.first_panel)].object_id;
  const std::string base = "data/aggregate?system_id=" + std::to_string(c.spec.system_id) +
                           "&start=" + site(c.zone, solar(c, kEquinox, 11)) +
                           "&end=" + site(c.zone, solar(c, kEquinox, 13)) +
                           "&object_ids=" + std::to_string(w) + "," + std::to_string(g);
  const auto iin = parse_csv(sim.ok(base + "&param=Iin"));
  const auto vin = parse_csv(sim.ok(base + "&param=Vin"));
  int checked = 0;
  for (std::size_t r = 0; r < iin.rows.size(); ++r) {
    if (num(iin.rows[r][2]) < 1) continue;
    const double ratio = num(iin.rows[r][1]) / num(iin.rows[r][2]);
    CHECK(ratio > 0.6);
    CHECK(ratio < 0.8);
    CHECK(num(vin.rows[r][1]) == Approx(num(vin.rows[r][2])).epsilon(0.05));
    ++checked;
  }
  CHECK(checked > 60);
  const auto alerts = alerts_of(sim, c);
  CHECK(alerts.find("\"unique_id\":301") != std::string::npos);
  CHECK(alerts.find("String " + weak.letter) != std::string::npos);
}

TEST_CASE("gateway stall: check-in and last_min stop at the onset, data and summary freeze",
          "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const auto c = with_fault(fleet, sim::FaultKind::GatewayStall);
  RunningSim sim(plain(), 10, solar(c, sys_days{year{2026} / 6 / 21}, 13));
  const auto id = std::to_string(c.spec.system_id);
  simdjson::dom::parser p;
  const auto sources = sim.ok("sources/system?system_id=" + id);
  simdjson::dom::element src = p.parse(sources)["sources"].at(0);
  const auto checkin = util::parse_iso8601(std::string_view(src["last_checkin"]));
  const auto last_min = util::parse_iso8601(std::string_view(src["sets"].at(0)["last_min"]));
  REQUIRE(checkin);
  REQUIRE(last_min);
  CHECK(*checkin <= c.fault.onset);
  CHECK(*checkin > c.fault.onset - minutes{20});
  CHECK(*last_min < c.fault.onset);
  CHECK(*last_min > c.fault.onset - minutes{60});
  const auto now = sim.clock.now();
  CHECK(sim.ok("data/aggregate?system_id=" + id + "&start=" + site(c.zone, now - hours{2}) +
               "&end=" + site(c.zone, now)) == "Datetime\n");
  simdjson::dom::parser p2;
  const auto summary = sim.ok("data/summary?system_id=" + id);
  const auto updated =
      util::parse_iso8601(std::string_view(p2.parse(summary)["summary"]["updated_on"]));
  REQUIRE(updated);
  CHECK(*updated == sys_seconds{floor<minutes>(c.fault.onset)});
  const auto alerts = alerts_of(sim, c);
  CHECK(alerts.find("\"unique_id\":102") != std::string::npos);
  CHECK(alerts.find(c.topo.gateway.mac) != std::string::npos);
}

TEST_CASE("PV-Off: control_state off, zero current and power at open-circuit voltage", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const auto c = with_fault(fleet, sim::FaultKind::PvOff);
  RunningSim sim(plain(), 10, solar(c, kEquinox, 15));
  const auto id = std::to_string(c.spec.system_id);
  CHECK(sim.ok("sources/system?system_id=" + id).find("\"control_state\":\"off\"") !=
        std::string::npos);
  const std::string base = "data/aggregate?system_id=" + id +
                           "&sensors=false&start=" + site(c.zone, solar(c, kEquinox, 11)) +
                           "&end=" + site(c.zone, solar(c, kEquinox, 13));
  const auto pin = parse_csv(sim.ok(base + "&param=Pin"));
  const auto vin = parse_csv(sim.ok(base + "&param=Vin"));
  REQUIRE(pin.rows.size() > 100);
  for (std::size_t r = 0; r < pin.rows.size(); ++r) {
    for (std::size_t k = 1; k < pin.header.size(); ++k) {
      CHECK(pin.rows[r][k] == "0");
      CHECK(num(vin.rows[r][k]) > 25);
    }
  }
  CHECK(sim.ok("data/summary?system_id=" + id).find("\"last_power_dc\":0,") != std::string::npos);
  const auto alerts = alerts_of(sim, c);
  CHECK(alerts.find("\"unique_id\":420") != std::string::npos);
}

TEST_CASE("summary power is the sum of the panels' Pin at that minute, faults included", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  for (auto kind : {sim::FaultKind::None, sim::FaultKind::ShadedPanel,
                    sim::FaultKind::DeadOptimizer, sim::FaultKind::WeakString}) {
    const auto c = with_fault(fleet, kind);
    INFO(sim::fault_name(kind));
    const sys_seconds t{floor<minutes>(solar(c, kEquinox, 15.5))};
    RunningSim now_sim(plain(), 10, t + seconds{30});
    RunningSim later(plain(), 10, t + hours{1});  // by then the minute t has been uploaded
    const auto id = std::to_string(c.spec.system_id);
    simdjson::dom::parser p;
    const double power =
        p.parse(now_sim.ok("data/summary?system_id=" + id))["summary"]["last_power_dc"]
            .get_double();
    const auto csv = parse_csv(later.ok("data/aggregate?system_id=" + id + "&sensors=false&start=" +
                                        site(c.zone, t) + "&end=" + site(c.zone, t)));
    REQUIRE(csv.rows.size() == 1);
    double sum = 0;
    for (std::size_t k = 1; k < csv.header.size(); ++k) sum += num(csv.rows[0][k]);
    CHECK(power > 100);
    CHECK(power == Approx(sum).margin(0.0005));
  }
}

TEST_CASE("lifetime energy never falls over simulated weeks", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  double last[10] = {};
  for (int day = 0; day < 40; day += 3) {
    RunningSim sim(plain(), 10, at_utc(2026, 5, 1, 0) + hours{24 * day + 5 * (day % 5)});
    for (std::size_t i = 0; i < 10; ++i) {
      simdjson::dom::parser p;
      const double lifetime = p.parse(sim.ok(
          "data/summary?system_id=" + std::to_string(1001 + i)))["summary"]["lifetime_energy_dc"]
                                  .get_double();
      CHECK(lifetime >= last[i]);
      last[i] = lifetime;
    }
  }
  CHECK(last[0] > 1e6);
}

TEST_CASE("production alerts are raised in daylight or just after it, on days with sun", "[sim]") {
  // The rule of each code (alerts.hpp): checked on what a client sees, the sun at `generated`.
  int checked = 0, shaded_days = 0, shaded_alerts = 0;
  for (std::uint64_t seed : {1, 2, 3}) {
    const sim::Fleet fleet({seed, 20, 24});
    const sim::PowerModel model(fleet);
    const auto now = at_utc(2026, 5, 1, 0);
    for (std::size_t i = 0; i < fleet.size(); ++i) {
      const auto c = sim::make_context(fleet, fleet.system(i));
      INFO("seed " << seed << " system " << c.spec.system_id << " " << sim::fault_name(c.fault.kind)
                   << " onset " << util::format_iso8601_utc(c.fault.onset));
      for (const auto& a : sim::system_alerts(c, now)) {
        const int code = a.type->unique_id;
        INFO("alert " << code << " generated " << util::format_iso8601_utc(a.generated));
        CHECK(a.generated >= c.fault.onset);
        const double elevation =
            sim::solar::sun_position(c.spec.latitude, c.spec.longitude, a.generated).elevation_deg;
        if (code == 102) continue;  // a silent gateway is missed at any hour
        CHECK(elevation > -6);      // daylight or civil twilight right after it
        if (code == 210 || code == 420) CHECK(model.irradiance_w_m2(c.spec, a.generated) >= 20);
        if (code == 300 || code == 301) {
          // The hours before had sun on the plane.
          double best = 0;
          for (auto t = a.generated - hours{3}; t < a.generated; t += minutes{10})
            best = std::max(best, model.irradiance_w_m2(c.spec, t));
          CHECK(best >= 200);
        }
        if (code == 300) ++shaded_alerts;
        ++checked;
      }
      if (c.fault.kind == sim::FaultKind::ShadedPanel)
        shaded_days += static_cast<int>((now - c.fault.onset) / days{1});
    }
  }
  CHECK(checked > 100);
  // Not every afternoon: cloudy ones raise nothing.
  CHECK(shaded_alerts < shaded_days);
  CHECK(shaded_alerts > shaded_days / 3);
}

TEST_CASE("alerts/system's start_added window gives the same alerts as the whole list", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const auto c = with_fault(fleet, sim::FaultKind::ShadedPanel);
  const auto now = at_utc(2026, 8, 1, 0);
  const auto all = sim::system_alerts(c, now);
  REQUIRE(all.size() > 20);
  const auto since = all[all.size() - 5].added;
  const auto recent = sim::system_alerts(c, now, since);
  REQUIRE(recent.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& a = all[all.size() - 5 + i];
    CHECK(recent[i].alert_id == a.alert_id);
    CHECK(recent[i].generated == a.generated);
    CHECK(recent[i].added == a.added);
    CHECK(recent[i].message == a.message);
  }
}
