// data/aggregate and data/combined over HTTP: grammar, semantics, physics, DST, determinism.
#include <date/date.h>
#include <date/tz.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <optional>

#include "sim/data_csv.hpp"
#include "sim/model.hpp"
#include "sim/responses.hpp"
#include "sim/uploads.hpp"
#include "sim_fixture.hpp"

using namespace simtest;

namespace {

std::string all_panel_ids(const sim::SystemContext& c) {
  std::string ids;
  // Appended piecewise: `"," + std::to_string(...)` trips g++ 12's -Wrestrict at -O3.
  for (const auto& p : c.topo.panels) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(p.object_id);
  }
  return ids;
}

bool digits(const std::string& s, std::size_t from, std::size_t n) {
  if (s.size() < from + n) return false;
  for (std::size_t i = from; i < from + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// "YYYY/MM/DD HH:MM:SS[.mmm]" then cells that are empty or unsigned decimals. (No std::regex:
// g++ 12 warns inside it under the sanitizer build.)
bool row_grammar_ok(const std::vector<std::string>& row) {
  const auto& t = row[0];
  if (!(t.size() == 19 || (t.size() == 23 && t[19] == '.' && digits(t, 20, 3)))) return false;
  if (!digits(t, 0, 4) || t[4] != '/' || !digits(t, 5, 2) || t[7] != '/' || !digits(t, 8, 2) ||
      t[10] != ' ' || !digits(t, 11, 2) || t[13] != ':' || !digits(t, 14, 2) || t[16] != ':' ||
      !digits(t, 17, 2))
    return false;
  for (std::size_t k = 1; k < row.size(); ++k) {
    const auto& v = row[k];
    if (v.empty()) continue;
    const auto dot = v.find('.');
    const auto whole = v.substr(0, dot);
    if (whole.empty() || !digits(whole, 0, whole.size())) return false;
    if (dot != std::string::npos &&
        (dot + 1 == v.size() || !digits(v, dot + 1, v.size() - dot - 1)))
      return false;
  }
  return true;
}

double num(const std::string& cell) { return std::stod(cell); }

// Index of the first system matching pred.
template <class Pred>
std::optional<std::size_t> find_system(const sim::Fleet& fleet, Pred pred) {
  for (std::size_t i = 0; i < fleet.size(); ++i)
    if (pred(sim::make_context(fleet, fleet.system(i)))) return i;
  return std::nullopt;
}

}  // namespace

TEST_CASE("aggregate CSV grammar: header, local timestamps, one cell per column", "[sim]") {
  RunningSim sim;  // quirks on: milliseconds, uneven rows, future rows may all appear
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto c = sim::make_context(sim.fleet, sim.fleet.system(i));
    const auto now = sim.clock.now();
    for (const char* param : {"Pin", "Vin", "Iin", "RSSI"}) {
      const auto res = sim.call("data/aggregate?system_id=" + std::to_string(c.spec.system_id) +
                                "&start=" + site(c.zone, now - hours{3}) +
                                "&end=" + site(c.zone, now) + "&param=" + param);
      REQUIRE(res.status == 200);
      CHECK(res.get_header_value("Content-Type").rfind("text/csv", 0) == 0);
      CHECK(res.body.back() == '\n');
      const auto csv = parse_csv(res.body);
      REQUIRE_FALSE(csv.header.empty());
      CHECK(csv.header[0] == "Datetime");
      for (const auto& row : csv.rows) {
        std::string line = row[0];
        for (std::size_t k = 1; k < row.size(); ++k) line += "," + row[k];
        INFO(line);
        CHECK(row_grammar_ok(row));
        CHECK(row.size() == csv.header.size());
      }
    }
  }
}

TEST_CASE("aggregate minute data: Pin is Vin x Iin as printed, RSSI raw, rows in local time",
          "[sim]") {
  RunningSim sim(plain());
  const auto c = sim::make_context(sim.fleet, sim.fleet.system(0));
  // Local 10:00 to 10:59 on the day of the fixture, all of it older than the newest upload.
  const auto day = date::floor<date::days>(c.zone->to_local(sim.clock.now()));
  const auto start_local = date::local_seconds{day.time_since_epoch()} + hours{10};
  const std::string range = "&start=" + date::format("%FT%T", start_local) +
                            "&end=" + date::format("%FT%T", start_local + minutes{59});
  const std::string base = "data/aggregate?system_id=" + std::to_string(c.spec.system_id) +
                           "&object_ids=" + all_panel_ids(c) + range;
  const auto pin = parse_csv(sim.ok(base + "&param=Pin"));
  const auto vin = parse_csv(sim.ok(base + "&param=Vin"));
  const auto iin = parse_csv(sim.ok(base + "&param=Iin"));
  const auto rssi = parse_csv(sim.ok(base + "&param=RSSI"));
  REQUIRE(pin.rows.size() == 60);
  REQUIRE(vin.rows.size() == 60);
  REQUIRE(iin.rows.size() == 60);
  CHECK(pin.header == vin.header);
  CHECK(pin.header.size() == 25);
  CHECK(pin.rows[0][0] == date::format("%Y/%m/%d %H:%M:%S", start_local));
  CHECK(pin.rows[59][0] == date::format("%Y/%m/%d %H:%M:%S", start_local + minutes{59}));
  bool any_power = false;
  for (std::size_t r = 0; r < 60; ++r) {
    for (std::size_t k = 1; k < pin.header.size(); ++k) {
      const auto& p = pin.rows[r][k];
      if (p.empty()) {  // no reading: none of the params has one
        CHECK(vin.rows[r][k].empty());
        continue;
      }
      const double v = num(vin.rows[r][k]), i = num(iin.rows[r][k]);
      CHECK(num(p) == Approx(v * i).margin(1e-6));
      CHECK(v >= 0);
      CHECK(v < 60);
      CHECK(i < 15);
      const double raw = num(rssi.rows[r][k]);
      CHECK(raw >= 0);
      CHECK(raw <= 255);
      CHECK(raw == std::floor(raw));
      any_power |= num(p) > 10;
    }
  }
  CHECK(any_power);
  // header=key: <MAC>.panels.<label>_<Param>.
  const auto keyed = parse_csv(sim.ok(base + "&param=Vin&header=key"));
  REQUIRE(keyed.header.size() == 25);
  CHECK(keyed.header[1] == c.topo.gateway.mac + ".panels." + c.topo.panels[0].label + "_Vin");
  CHECK(keyed.rows == vin.rows);
}

TEST_CASE("aggregate at night: header only without object_ids, no rows with them", "[sim]") {
  RunningSim sim(plain());
  const auto c = sim::make_context(sim.fleet, sim.fleet.system(0));
  const auto day = date::floor<date::days>(c.zone->to_local(sim.clock.now()));
  const auto night = date::local_seconds{day.time_since_epoch()} + hours{1};
  const std::string range =
      "&start=" + date::format("%FT%T", night) + "&end=" + date::format("%FT%T", night + hours{2});
  const std::string id = std::to_string(c.spec.system_id);
  CHECK(sim.ok("data/aggregate?system_id=" + id + range) == "Datetime\n");
  const auto p0 = std::to_string(c.topo.panels[0].object_id);
  CHECK(sim.ok("data/aggregate?system_id=" + id + range + "&object_ids=" + p0) ==
        "Datetime," + p0 + "\n");
}

TEST_CASE("newest minute served is the last visible upload batch, as sources say", "[sim]") {
  RunningSim sim(plain(), 10);
  const auto now = sim.clock.now();
  int checked = 0;
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto c = sim::make_context(sim.fleet, sim.fleet.system(i));
    if (c.fault.kind != sim::FaultKind::None) continue;
    const auto a = sim::availability(c, now, sim.server.upload_options());
    const auto body = sim.ok("data/aggregate?system_id=" + std::to_string(c.spec.system_id) +
                             "&start=" + site(c.zone, now - hours{2}) +
                             "&end=" + site(c.zone, now) + "&sensors=false&param=RSSI");
    const auto csv = parse_csv(body);
    if (csv.rows.empty()) continue;  // night there
    CHECK(csv.rows.back()[0] == sim::local_stamp(c.zone, a.last_min));
    ++checked;
  }
  CHECK(checked >= 2);
}

TEST_CASE("sensors column of the gateway is fresher than the panels: uneven rows", "[sim]") {
  RunningSim sim({}, 10);
  const auto now = sim.clock.now();
  // A daylight system without a fault.
  const auto i = find_system(sim.fleet, [&](const sim::SystemContext& c) {
    return c.fault.kind == sim::FaultKind::None &&
           sim::PowerModel(sim.fleet).irradiance_w_m2(c.spec, now) > 100;
  });
  REQUIRE(i);
  const auto c = sim::make_context(sim.fleet, sim.fleet.system(*i));
  const auto csv = parse_csv(sim.ok("data/aggregate?system_id=" + std::to_string(c.spec.system_id) +
                                    "&start=" + site(c.zone, now - hours{1}) +
                                    "&end=" + site(c.zone, now - minutes{1})));
  REQUIRE(csv.header.back() == std::to_string(c.topo.gateway.object_id));
  const auto& last = csv.rows.back();
  CHECK_FALSE(last.back().empty());  // the gateway's own column reaches the last minute
  CHECK(last[1].empty());            // the panels' columns stop at the last upload
  // Take the newest value per column: every panel has one.
  for (std::size_t k = 1; k + 1 < csv.header.size(); ++k) {
    bool found = false;
    for (const auto& row : csv.rows) found |= !row[k].empty();
    CHECK(found);
  }
}

TEST_CASE("day level: energy per panel in Wh adds up to the summary's daily energy", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const sim::PowerModel model(fleet);
  int checked = 0;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto c = sim::make_context(fleet, fleet.system(i));
    if (c.fault.kind == sim::FaultKind::GatewayStall) continue;
    // Ten to midnight at the site: the day's production is complete and uploaded.
    const auto day_start = sim::local_day_start(
        c.spec.timezone,
        at_utc(2026, 6, 21, 12) - seconds{static_cast<int>(c.spec.longitude * 240)});
    RunningSim sim(plain(), 10, day_start + hours{23} + minutes{50});
    const auto now = sim.clock.now();
    const auto a = sim::availability(c, now, sim.server.upload_options());
    if (model.irradiance_w_m2(c.spec, a.last_min) > 0) continue;  // midnight sun
    INFO(c.spec.timezone);
    const auto csv = parse_csv(
        sim.ok("data/aggregate?system_id=" + std::to_string(c.spec.system_id) +
               "&level=day&start=" + site(c.zone, day_start) + "&end=" + site(c.zone, now)));
    REQUIRE(csv.rows.size() == 1);
    CHECK(csv.rows[0][0] == sim::local_stamp(c.zone, day_start));
    double sum = 0;
    for (std::size_t k = 1; k + 1 < csv.header.size(); ++k) sum += num(csv.rows[0][k]);
    CHECK(num(csv.rows[0].back()) ==
          Approx(sum).margin(0.02 * static_cast<double>(csv.header.size())));
    const auto summary = model.energy(c, now);
    CHECK(sum == Approx(summary.today_wh).epsilon(0.001));
    // The same from data/combined at day level, and the minute power integrated.
    const auto combined = parse_csv(
        sim.ok("data/combined?system_id=" + std::to_string(c.spec.system_id) +
               "&level=d&start=" + site(c.zone, day_start) + "&end=" + site(c.zone, now)));
    REQUIRE(combined.rows.size() == 1);
    CHECK(num(combined.rows[0][1]) == Approx(sum).epsilon(0.001));
    const auto minute = parse_csv(
        sim.ok("data/combined?system_id=" + std::to_string(c.spec.system_id) +
               "&level=minute&start=" + site(c.zone, day_start) + "&end=" + site(c.zone, now)));
    double integral = 0;
    for (const auto& row : minute.rows) integral += num(row[1]) / 60.0;
    CHECK(integral == Approx(sum).epsilon(0.03));
    if (c.fault.kind != sim::FaultKind::PvOff) CHECK(sum > 1000);
    ++checked;
  }
  CHECK(checked >= 6);
}

TEST_CASE("power peaks near solar noon and is zero at night", "[sim]") {
  RunningSim sim(plain(), 6, at_utc(2026, 7, 1, 0));
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto c = sim::make_context(sim.fleet, sim.fleet.system(i));
    if (c.fault.kind == sim::FaultKind::PvOff || c.fault.kind == sim::FaultKind::GatewayStall)
      continue;
    INFO(c.spec.timezone);
    const auto end = sim.clock.now() - hours{2};
    const auto start = end - hours{24 * 30};
    const auto csv =
        parse_csv(sim.ok("data/combined?system_id=" + std::to_string(c.spec.system_id) +
                         "&level=hour&start=" + site(c.zone, start) + "&end=" + site(c.zone, end)));
    REQUIRE(csv.rows.size() > 600);
    // Energy by hour of the local day over a month: clouds average out, the sun remains.
    std::vector<double> by_hour(24, 0);
    for (const auto& row : csv.rows)
      by_hour[static_cast<std::size_t>(std::stoi(row[0].substr(11, 2)))] += num(row[1]);
    const auto peak = std::max_element(by_hour.begin(), by_hour.end()) - by_hour.begin();
    // Solar noon on the local clock: 12:00 minus longitude offset plus zone offset.
    const auto offset = c.zone->get_info(end).offset;
    const double noon =
        12.0 - c.spec.longitude / 15.0 + static_cast<double>(offset.count()) / 3600.0;
    CHECK(std::fabs(static_cast<double>(peak) + 0.5 - noon) < 1.6);
    // Solar midnight: nothing.
    const auto midnight = static_cast<std::size_t>(std::fmod(noon + 12.0 + 24.0, 24.0));
    CHECK(by_hour[midnight] == 0.0);
  }
}

TEST_CASE("DST: rows follow the site's wall clock through both changes", "[sim]") {
  // New York (America/New_York) is in every fleet of 24.
  const sim::Fleet fleet({1, 24, 24});
  const auto i = find_system(fleet, [](const sim::SystemContext& c) {
    return c.spec.timezone == "America/New_York" && c.fault.kind == sim::FaultKind::None;
  });
  REQUIRE(i);
  const auto id = std::to_string(1001 + *i);
  {
    // Spring forward, 2026-03-08: 02:00-02:59 do not exist.
    RunningSim sim(plain(), 24, at_utc(2026, 3, 9, 12));
    const auto csv =
        parse_csv(sim.ok("data/combined?system_id=" + id +
                         "&level=minute&start=2026-03-08T01:00:00&end=2026-03-08T03:59:00"));
    REQUIRE(csv.rows.size() == 120);  // 3 wall hours, 2 real ones
    CHECK(csv.rows[59][0] == "2026/03/08 01:59:00.000");
    CHECK(csv.rows[60][0] == "2026/03/08 03:00:00.000");
    const auto hours_csv =
        parse_csv(sim.ok("data/combined?system_id=" + id +
                         "&level=h&start=2026-03-08T00:00:00&end=2026-03-08T23:59:59"));
    CHECK(hours_csv.rows.size() == 23);
    const auto days =
        parse_csv(sim.ok("data/aggregate?system_id=" + id +
                         "&level=day&start=2026-03-07T00:00:00&end=2026-03-09T00:00:00"));
    REQUIRE(days.rows.size() == 3);
    CHECK(days.rows[1][0] == "2026/03/08 00:00:00");
    CHECK(days.rows[2][0] == "2026/03/09 00:00:00");
    // Daylight minutes after the change carry the new offset: 12:00 EDT is 16:00 UTC.
    const auto noon = parse_csv(sim.ok(
        "data/aggregate?system_id=" + id +
        "&start=2026-03-08T12:00:00&end=2026-03-08T12:00:00&object_ids=" +
        std::to_string(sim::make_context(fleet, fleet.system(*i)).topo.panels[0].object_id)));
    REQUIRE(noon.rows.size() == 1);
    CHECK(noon.rows[0][0] == "2026/03/08 12:00:00");
    const auto ctx = sim::make_context(fleet, fleet.system(*i));
    std::vector<sim::Sample> samples;
    sim::PowerModel(fleet).minute(ctx, at_utc(2026, 3, 8, 16), samples);
    std::string expect;
    sim::append_scaled(expect, samples[0].mw, 3);
    CHECK(noon.rows[0][1] == expect);
  }
  {
    // Fall back, 2026-11-01: 01:00-01:59 happen twice.
    RunningSim sim(plain(), 24, at_utc(2026, 11, 2, 12));
    const auto csv =
        parse_csv(sim.ok("data/combined?system_id=" + id +
                         "&level=minute&start=2026-11-01T00:00:00&end=2026-11-01T02:59:00"));
    REQUIRE(csv.rows.size() == 240);  // 3 wall hours, 4 real ones
    CHECK(csv.rows[119][0] == "2026/11/01 01:59:00.000");
    CHECK(csv.rows[120][0] == "2026/11/01 01:00:00.000");
    CHECK(csv.rows[239][0] == "2026/11/01 02:59:00.000");
  }
}

TEST_CASE("combined: level names long and short, agg alias, min refused, range limits", "[sim]") {
  RunningSim sim;
  const auto c = sim::make_context(sim.fleet, sim.fleet.system(0));
  const std::string base =
      "data/combined?system_id=1001&start=2026-06-20T00:00:00&end=2026-06-21T12:00:00";
  for (auto [lng, shrt] : {std::pair{"hour", "h"}, {"day", "d"}, {"month", "m"}, {"year", "y"}}) {
    const auto a = sim.ok(base + "&level=" + lng);
    CHECK(a == sim.ok(base + "&level=" + shrt));
    CHECK(a == sim.ok(base + "&agg=" + shrt));
    CHECK(a.rfind("DATETIME," + std::to_string(c.topo.system_object_id) + "\n", 0) == 0);
  }
  const auto minute = sim.call(
      "data/combined?system_id=1001&start=2026-06-21T10:00:00&end=2026-06-21T10:09:00&level=mi");
  CHECK(minute.status == 200);
  CHECK(parse_csv(minute.body).rows.size() == 10);
  const auto refused = sim.call(base + "&level=min");
  CHECK(refused.status == 400);
  CHECK(refused.body.find("level") != std::string::npos);
  const auto too_long = sim.call(
      "data/"
      "combined?system_id=1001&level=minute&start=2026-06-18T00:00:00&end=2026-06-21T00:00:00");
  CHECK(too_long.status == 400);
  CHECK(too_long.body.find("range") != std::string::npos);
  CHECK(
      sim.call(
             "data/"
             "combined?system_id=1001&level=hour&start=2025-01-01T00:00:00&end=2026-06-01T00:00:00")
          .status == 400);
  CHECK(sim.call(base + "&level=day&object_ids=1").status == 400);
  // Strings and inverters combine their panels: the parts add up to the system.
  std::string ids = std::to_string(c.topo.system_object_id);
  for (const auto& st : c.topo.strings) {
    ids += ',';
    ids += std::to_string(st.object_id);
  }
  const auto parts = parse_csv(sim.ok(base + "&level=day&object_ids=" + ids));
  for (const auto& row : parts.rows) {
    double sum = 0;
    for (std::size_t k = 2; k < row.size(); ++k) sum += num(row[k]);
    CHECK(num(row[1]) == Approx(sum).margin(0.05));
  }
}

TEST_CASE("bad aggregate parameters answer 400 naming the parameter", "[sim]") {
  RunningSim sim;
  const std::string ok =
      "data/aggregate?system_id=1001&start=2026-06-21T10:00:00&end=2026-06-21T11:00:00";
  CHECK(sim.call(ok).status == 200);
  for (auto [query, name] :
       {std::pair{"data/aggregate?system_id=1001&end=2026-06-21T11:00:00", "start"},
        {"data/aggregate?system_id=1001&start=2026-06-21T10:00:00", "end"},
        {"data/aggregate?start=2026-06-21T10:00:00&end=2026-06-21T11:00:00", "system_id"}}) {
    const auto res = sim.call(query);
    CHECK(res.status == 400);
    CHECK(res.body.find(name) != std::string::npos);
  }
  for (auto [extra, name] : {std::pair{"&level=hour", "level"},
                             {"&param=Watts", "param"},
                             {"&header=name", "header"},
                             {"&object_ids=1,x", "object_ids"},
                             {"&object_ids=1", "object_ids"},
                             {"&sensors=maybe", "sensors"}}) {
    const auto res = sim.call(ok + extra);
    INFO(extra);
    CHECK(res.status == 400);
    CHECK(res.body.find("\"name\":\"Bad Request\"") != std::string::npos);
    CHECK(res.body.find(name) != std::string::npos);
  }
  CHECK(sim.call("data/aggregate?system_id=1001&start=2026-06-01T10:00:00&end=2026-06-21T11:00:00")
            .status == 400);
  CHECK(sim.call("data/aggregate?system_id=1001&start=noon&end=2026-06-21T11:00:00").status == 400);
}

TEST_CASE("same seed and time: byte-identical bodies on every endpoint", "[sim]") {
  RunningSim a({}, 10), b({}, 10);
  for (const char* path :
       {"systems", "systems/1004?include=inverters,mppts,strings,panels,objects,sources",
        "systems/layout?id=1005", "objects/system?system_id=1006", "sources/system?system_id=1007",
        "data/summary?system_id=1008", "alerts/system?system_id=1001&limit=3&page=2",
        "alerts/types?language=FR",
        "data/aggregate?system_id=1002&start=2026-06-21T08:00:00&end=2026-06-22T00:00:00&param=Vin",
        "data/aggregate?system_id=1003&start=2026-06-01T00:00:00&end=2026-06-22T00:00:00&level=day",
        "data/"
        "combined?system_id=1009&level=hour&start=2026-06-20T00:00:00&end=2026-06-21T23:00:00"}) {
    INFO(path);
    CHECK(a.ok(path) == b.ok(path));
  }
}

TEST_CASE("combined: the document's own example, a year of hours, answers", "[sim]") {
  RunningSim sim;
  // As the document prints it (dates alone: local midnights).
  const auto doc =
      sim.call("data/combined?system_id=1001&agg=hour&start=2016-09-07&end=2017-09-07");
  INFO(doc.body.substr(0, 300));
  CHECK(doc.status == 200);
  CHECK(doc.body.rfind("DATETIME,", 0) == 0);
  // A year of hours of a running system: a row an hour, in a reasonable time.
  const auto t0 = steady_clock::now();
  const auto year = sim.call(
      "data/combined?system_id=1001&level=hour&start=2025-06-21T00:00:00&end=2026-06-21T00:00:00");
  const auto took = steady_clock::now() - t0;
  REQUIRE(year.status == 200);
  const auto csv = parse_csv(year.body);
  INFO(csv.rows.size() << " rows, " << year.body.size() << " bytes in "
                       << duration_cast<milliseconds>(took).count() << " ms");
  CHECK(csv.rows.size() >= 365 * 24);
  CHECK(csv.rows.size() <= 366 * 24 + 1);
  CHECK(took < seconds{10});
  // One day more than a leap year is too much.
  CHECK(sim.call("data/combined?system_id=1001&agg=hour&start=2016-09-07&end=2017-09-10").status ==
        400);
}
