// The CCA's local API bodies: read as the simulator writes them (its own functions, so the values
// are the model's), the repeated and skipped hours of DST, and every kind of garbage refused
// with its reason.
#include "local/cca_parse.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <iterator>
#include <string>
#include <vector>

#include "sim/cca.hpp"
#include "sim/fleet.hpp"
#include "sim/model.hpp"
#include "util/time.hpp"

using namespace std::chrono;

namespace Catch {
template <>
struct StringMaker<local::CcaPoint> {
  static std::string convert(const local::CcaPoint& p) {
    return "{" + std::to_string(p.value) + " at " + util::format_iso8601_utc(p.minute) + "}";
  }
};
}  // namespace Catch

namespace {

sys_seconds at_utc(int y, unsigned m, unsigned d, int h, int min = 0) {
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours{h} + minutes{min};
}

local_days local_date(int y, unsigned m, unsigned d) {
  return local_days{year{y} / month{m} / day{d}};
}

// The simulator's functions take the date library's day.
date::local_days sim_day(local_days d) {
  return date::local_days{date::days{d.time_since_epoch().count()}};
}

local_days day_of(const sim::SystemContext& c, sys_seconds t) {
  return *util::local_day_in_zone(t, c.spec.timezone);
}

// The refusal's reason, for bodies that must be refused.
template <class T>
std::string refusal(const util::Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

std::string data_body(const std::string& order, const std::string& rows) {
  return R"({"lastData":"2026-06-21 12:00:00.000","dataset":[{"order":)" + order + R"(,"data":[)" +
         rows + "]}]}";
}

}  // namespace

TEST_CASE("CCA config: the simulator's systems, with and without inverters", "[local][cca]") {
  const sim::Fleet fleet({1, 6, 24, {}});
  bool with_inverters = false;
  bool without_inverters = false;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto c = sim::make_context(fleet, fleet.system(i));
    INFO("system " << c.spec.system_id);
    const auto layout = local::parse_cca_config(sim::cca_config_json(c));
    REQUIRE(layout.ok());
    CHECK(layout->system_id == std::to_string(c.spec.system_id));
    CHECK(layout->system_label == c.spec.name);
    const auto& t = c.topo;
    (t.has_inverters ? with_inverters : without_inverters) = true;
    REQUIRE(layout->inverters.size() == t.inverters.size());
    for (std::size_t k = 0; k < t.inverters.size(); ++k) {
      CHECK(layout->inverters[k].label == t.inverters[k].label);
      CHECK(layout->inverters[k].id == std::to_string(t.inverters[k].object_id));
    }
    // The simulator lists strings by inverter, in the topology's order.
    REQUIRE(layout->strings.size() == t.strings.size());
    for (std::size_t k = 0; k < t.strings.size(); ++k) {
      const auto& st = t.strings[k];
      const auto& got = layout->strings[k];
      CHECK(got.id == std::to_string(st.object_id));
      CHECK(got.label == sim::string_label(st));
      if (t.has_inverters) {
        REQUIRE(got.inverter.has_value());
        CHECK(*got.inverter == static_cast<std::size_t>(st.inverter_index));
      } else {
        CHECK_FALSE(got.inverter.has_value());
      }
      const auto first = t.panels.begin() + st.first_panel;
      std::vector<std::string> labels;
      std::transform(first, first + st.panel_count, std::back_inserter(labels),
                     [](const auto& panel) { return panel.label; });
      CHECK(got.panels == labels);
    }
    CHECK(layout->panel_count() == t.panels.size());
  }
  CHECK(with_inverters);
  CHECK(without_inverters);
}

TEST_CASE("CCA config: panels as type 2 nodes, integer ids, unlisted strings", "[local][cca]") {
  const auto layout = local::parse_cca_config(R"([
    {"id": 7, "type": 1, "label": "Home", "children": [8]},
    {"id": 8, "type": 4, "label": "Inverter 1", "children": ["9"]},
    {"id": "9", "type": 3, "label": "String A", "children": ["20", "A2"]},
    {"id": "20", "type": 2, "label": "A1"},
    {"id": "10", "type": 3, "label": "String B", "children": ["B1"], "extra": true},
    {"id": "11", "type": 99, "label": "something new"}])");
  REQUIRE(layout.ok());
  CHECK(layout->system_id == "7");
  REQUIRE(layout->inverters.size() == 1);
  CHECK(layout->inverters[0] == local::CcaInverter{"8", "Inverter 1"});
  REQUIRE(layout->strings.size() == 2);
  CHECK(layout->strings[0] ==
        local::CcaString{"9", "String A", std::size_t{0}, {"A1", "A2"}});  // node 20 is A1
  CHECK(layout->strings[1] == local::CcaString{"10", "String B", std::nullopt, {"B1"}});
}

TEST_CASE("CCA jsconfig and energy: the simulator's date and daily Wh", "[local][cca]") {
  const sim::Fleet fleet({1, 4, 24, {}});
  const sim::PowerModel model(fleet);
  const auto c = sim::make_context(fleet, fleet.system(3));  // Sao Paulo
  const auto now = at_utc(2026, 6, 21, 22, 15);
  const auto today = day_of(c, now);

  const auto date = local::parse_cca_jsconfig(sim::cca_jsconfig_json(c, now));
  REQUIRE(date.ok());
  CHECK(*date == today);
  CHECK(local::format_cca_date(today) == "2026-06-21");

  const auto rows = local::parse_cca_energy(sim::cca_energy_json(model, c, now));
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == static_cast<std::size_t>(sim::kCcaEnergyDays));
  CHECK(rows->front().day == today - days{sim::kCcaEnergyDays - 1});
  CHECK(rows->back().day == today);
  std::vector<int> all(c.topo.panels.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  const double wh =
      model.energy_between(c, all, sim::midnight_in(c.spec.timezone, sim_day(today)), now);
  CHECK(rows->back().wh == static_cast<double>(std::llround(wh)));
  CHECK(rows->back().wh > 1000);
}

TEST_CASE("CCA data: each panel's newest minute is the model's, in UTC", "[local][cca]") {
  const sim::Fleet fleet({1, 4, 24, {}});
  const sim::PowerModel model(fleet);
  const auto c = sim::make_context(fleet, fleet.system(3));  // Sao Paulo, mid-afternoon
  const auto now = at_utc(2026, 6, 21, 18, 30) + seconds{17};
  const auto today = day_of(c, now);
  const auto minute = at_utc(2026, 6, 21, 18, 29);  // the last whole minute
  std::vector<sim::Sample> samples;
  model.minute(c, minute, samples);
  REQUIRE(samples.size() == 24);

  for (const auto series :
       {local::CcaSeries::power, local::CcaSeries::voltage, local::CcaSeries::rssi}) {
    const auto temp = local::cca_temp_name(series);
    INFO(temp);
    const auto body = sim::cca_data_json(model, c, sim_day(today), temp, now);
    const auto data = local::parse_cca_data(body, series, today, c.spec.timezone);
    REQUIRE(data.ok());
    CHECK(data->last_data == now);  // lastData is `now`, to the second
    CHECK(data->rows > 60);
    REQUIRE(data->newest.size() == 24);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const auto& label = c.topo.panels[i].label;
      const auto& s = samples[i];
      REQUIRE(s.present);
      const auto& point = data->newest.at(label);
      CHECK(point.minute == minute);
      switch (series) {
        case local::CcaSeries::power:
          // Whole watts, as the cloud rounds them.
          CHECK(std::abs(point.value - static_cast<double>(s.mw) / 1000.0) <= 0.5);
          break;
        case local::CcaSeries::voltage:
          CHECK(point.value == static_cast<double>(s.dv) / 10.0);
          CHECK(point.value > 20);  // volts, not tenths
          CHECK(point.value < 80);
          break;
        case local::CcaSeries::rssi:
          CHECK(point.value == s.rssi);
          break;
      }
    }
  }
}

TEST_CASE("CCA data: a day before sunrise has no minutes, an unknown temp no segments",
          "[local][cca]") {
  const sim::Fleet fleet({1, 4, 24, {}});
  const sim::PowerModel model(fleet);
  const auto c = sim::make_context(fleet, fleet.system(3));
  const auto now = at_utc(2026, 6, 21, 5);  // 02:00 in Sao Paulo
  const auto today = day_of(c, now);
  for (const char* temp : {"pin", "bogus"}) {
    const auto data = local::parse_cca_data(sim::cca_data_json(model, c, sim_day(today), temp, now),
                                            local::CcaSeries::power, today, c.spec.timezone);
    REQUIRE(data.ok());
    CHECK(data->newest.empty());
    CHECK(data->rows == 0);
  }
}

TEST_CASE("CCA data: the repeated hour (the second listing is later) and the skipped hour",
          "[local][cca]") {
  const std::string zone = "America/New_York";
  SECTION("clocks fall back: 01:30 listed twice is two instants an hour apart") {
    const auto day = local_date(2026, 11, 1);
    const auto once =
        local::parse_cca_data(data_body(R"(["A1","A2"])", R"({"t":"01:30","d":[1,10]})"),
                              local::CcaSeries::power, day, zone);
    REQUIRE(once.ok());
    CHECK(once->newest.at("A1").minute == at_utc(2026, 11, 1, 5, 30));  // EDT, the first
    const auto twice = local::parse_cca_data(
        data_body(R"(["A1","A2"])", R"({"t":"01:30","d":[1,10]},{"t":"01:59","d":[2,null]},)"
                                    R"({"t":"01:00","d":[3,"-"]},{"t":"01:30","d":[4,"-"]})"),
        local::CcaSeries::power, day, zone);
    REQUIRE(twice.ok());
    CHECK(twice->newest.at("A1") == local::CcaPoint{4, at_utc(2026, 11, 1, 6, 30)});  // EST
    CHECK(twice->newest.at("A2") == local::CcaPoint{10, at_utc(2026, 11, 1, 5, 30)});
  }
  SECTION("clocks spring forward: 02:30 does not exist, read with the offset before the gap") {
    const auto day = local_date(2026, 3, 8);
    const auto data = local::parse_cca_data(
        data_body(R"(["A1","A2"])", R"({"t":"01:59","d":[1,1]},{"t":"02:30","d":[2,null]})"),
        local::CcaSeries::power, day, zone);
    REQUIRE(data.ok());
    CHECK(data->newest.at("A1").minute == at_utc(2026, 3, 8, 7, 30));  // as 03:30 EDT
    CHECK(data->newest.at("A2").minute == at_utc(2026, 3, 8, 6, 59));
  }
}

TEST_CASE("CCA data: segments as a dead optimizer leaves, cells without a reading",
          "[local][cca]") {
  const auto day = local_date(2026, 6, 21);
  const auto data = local::parse_cca_data(
      R"({"lastData":"2026-06-21 10:48:03","dataset":[)"
      R"({"order":["A1","A2"],"data":[{"t":"10:46","d":[300,310]},{"t":"10:47","d":[301,null]}]},)"
      R"({"order":["A1"],"data":[{"t":"10:48","d":[302]}]}]})",
      local::CcaSeries::voltage, day, "Europe/Berlin");
  REQUIRE(data.ok());
  CHECK(data->rows == 3);
  CHECK(data->last_data == at_utc(2026, 6, 21, 8, 48) + seconds{3});
  CHECK(data->newest.at("A1") == local::CcaPoint{30.2, at_utc(2026, 6, 21, 8, 48)});
  CHECK(data->newest.at("A2") == local::CcaPoint{31.0, at_utc(2026, 6, 21, 8, 46)});
}

TEST_CASE("CCA config: garbage refused with its reason", "[local][cca]") {
  const auto reason = [](const std::string& body) {
    return refusal(local::parse_cca_config(body));
  };
  const std::string sys = R"([{"id":"1","type":1,"label":"S","children":[)";
  CHECK_THAT(reason(""), Catch::Contains("invalid JSON"));
  CHECK_THAT(reason("{}"), Catch::Contains("not an array"));
  CHECK_THAT(reason("[1]"), Catch::Contains("node: not an object"));
  CHECK_THAT(reason(R"([{"type":1}])"), Catch::Contains("no id"));
  CHECK_THAT(reason(R"([{"id":true,"type":1}])"), Catch::Contains("node id: not a string"));
  CHECK_THAT(reason(R"([{"id":"1"}])"), Catch::Contains("node 1: no type"));
  CHECK_THAT(reason(R"([{"id":"1","type":"1"}])"), Catch::Contains("type not an integer"));
  CHECK_THAT(reason(R"([{"id":"1","type":1,"children":"A1"}])"),
             Catch::Contains("children not an array"));
  CHECK_THAT(reason(R"([{"id":"1","type":1,"label":7}])"), Catch::Contains("label: not a string"));
  CHECK_THAT(reason(R"([{"id":"1","type":1,"label":")" + std::string(65, 'x') + R"("}])"),
             Catch::Contains("longer than 64 bytes"));
  CHECK_THAT(reason(R"([{"id":"2","type":3}])"), Catch::Contains("no system node"));
  CHECK_THAT(reason(R"([{"id":"1","type":1},{"id":"2","type":1}])"),
             Catch::Contains("more than one system node"));
  CHECK_THAT(reason(R"([{"id":"1","type":1},{"id":"1","type":3}])"),
             Catch::Contains("node 1: listed twice"));
  CHECK_THAT(reason(sys + R"("9"]}])"), Catch::Contains("system: lists unknown node 9"));
  CHECK_THAT(reason(sys + R"("2"]},{"id":"2","type":2,"label":"A1"}])"),
             Catch::Contains("neither an inverter nor a string"));
  CHECK_THAT(reason(sys + R"("2"]},{"id":"2","type":4,"children":["3"]},{"id":"3","type":4}])"),
             Catch::Contains("inverter 2: lists node 3, not a string"));
  CHECK_THAT(reason(sys + R"("2","3"]},{"id":"2","type":4,"children":["3"]},{"id":"3","type":3}])"),
             Catch::Contains("string 3: listed twice"));
  CHECK_THAT(reason(sys + R"("3"]},{"id":"3","type":3,"children":["A1","A1"]}])"),
             Catch::Contains("panel A1: listed twice"));
  CHECK_THAT(reason(sys + R"("3"]},{"id":"3","type":3,"children":[""]}])"),
             Catch::Contains("string 3: a panel without a label"));
  CHECK_THAT(reason(sys + R"("3"]},{"id":"3","type":3,"children":["1"]}])"),
             Catch::Contains("string 3: lists node 1, not a panel"));
  CHECK_THAT(reason("[" + std::string(20, '[') + std::string(20, ']') + "]"),
             Catch::Contains("invalid JSON"));  // deeper than any body
  CHECK_THAT(reason(std::string(local::kMaxCcaBodyBytes + 1, ' ')), Catch::Contains("larger than"));
  std::string many = "[";
  for (std::size_t i = 0; i <= local::kMaxCcaNodes; ++i)
    many += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + R"(,"type":3})";
  CHECK_THAT(reason(many + "]"), Catch::Contains("more nodes than a CCA holds"));
}

TEST_CASE("CCA data: garbage refused with its reason", "[local][cca]") {
  const auto day = local_date(2026, 6, 21);
  const auto reason = [&](const std::string& body,
                          local::CcaSeries series = local::CcaSeries::power,
                          const std::string& zone = "Europe/Berlin") {
    return refusal(local::parse_cca_data(body, series, day, zone));
  };
  const std::string ab = R"(["A1","A2"])";
  CHECK_THAT(reason("[]"), Catch::Contains("not an object"));
  CHECK_THAT(reason("{}"), Catch::Contains("no dataset"));
  CHECK_THAT(reason(R"({"dataset":{}})"), Catch::Contains("dataset: not an array"));
  CHECK_THAT(reason(R"({"dataset":[1]})"), Catch::Contains("segment: not an object"));
  CHECK_THAT(reason(R"({"dataset":[{"data":[]}]})"), Catch::Contains("no order"));
  CHECK_THAT(reason(R"({"dataset":[{"order":["A1"]}]})"), Catch::Contains("no data"));
  CHECK_THAT(reason(data_body(R"(["A1","A1"])", "")), Catch::Contains("label A1 twice"));
  CHECK_THAT(reason(data_body(R"([""])", "")), Catch::Contains("an empty label"));
  {
    // Many long labels (the check once kept views into the growing list: use after free).
    std::string order = "[";
    for (int i = 0; i < 100; ++i)
      order += (i ? ",\"" : "\"") + std::string(40, 'x') + std::to_string(i) + "\"";
    const std::string repeated = std::string(40, 'x') + "7";
    CHECK_THAT(reason(data_body(order + ",\"" + repeated + "\"]", "")),
               Catch::Contains("label " + repeated + " twice"));
    const auto ok = local::parse_cca_data(data_body(order + "]", ""), local::CcaSeries::power, day,
                                          "Europe/Berlin");
    CHECK(ok.ok());
  }
  CHECK_THAT(reason(data_body(R"([1])", "")), Catch::Contains("order label: not a string"));
  CHECK_THAT(reason(data_body(ab, "1")), Catch::Contains("row: not an object"));
  CHECK_THAT(reason(data_body(ab, R"({"d":[1,2]})")), Catch::Contains("no time t"));
  for (const char* t : {"24:00", "1:00", "10:60", "10-00", "10:00:00", "ab:cd"}) {
    INFO(t);
    CHECK_THAT(reason(data_body(ab, R"({"t":")" + std::string(t) + R"(","d":[1,2]})")),
               Catch::Contains("time not HH:MM"));
  }
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00"})")), Catch::Contains("no values d"));
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00","d":[1]})")),
             Catch::Contains("1 values for 2 panels"));
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00","d":[1,2,3]})")),
             Catch::Contains("3 values for 2 panels"));
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00","d":[1,"x"]})")),
             Catch::Contains("row 10:00 A2: not a number"));
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00","d":[1,true]})")),
             Catch::Contains("not a number"));
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00","d":[-1,2]})")),
             Catch::Contains("row 10:00 A1: out of range 0..10000: -1"));
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00","d":[1,2001]})"), local::CcaSeries::voltage),
             Catch::Contains("out of range 0..2000: 2001"));
  CHECK_THAT(reason(data_body(ab, R"({"t":"10:00","d":[1,256]})"), local::CcaSeries::rssi),
             Catch::Contains("out of range 0..255: 256"));
  CHECK_THAT(reason(R"({"lastData":"2026-06-21T12:00:00Z","dataset":[]})"),
             Catch::Contains("lastData: not YYYY-MM-DD HH:MM:SS"));
  CHECK_THAT(reason(R"({"lastData":12,"dataset":[]})"), Catch::Contains("lastData: not a string"));
  CHECK_THAT(reason(data_body(ab, ""), local::CcaSeries::power, "Mars/Olympus_Mons"),
             Catch::Contains("unknown time zone"));
  std::string rows;
  for (std::size_t i = 0; i <= local::kMaxCcaRows; ++i)
    rows += std::string(i ? "," : "") + R"({"t":"10:00","d":[1,2]})";
  CHECK_THAT(reason(data_body(ab, rows)), Catch::Contains("more rows than minutes a day"));
}

TEST_CASE("CCA jsconfig and energy: garbage refused with its reason", "[local][cca]") {
  const auto js = [](const std::string& body) { return refusal(local::parse_cca_jsconfig(body)); };
  CHECK_THAT(js("[]"), Catch::Contains("not an object"));
  CHECK_THAT(js("{}"), Catch::Contains("sDate: missing"));
  CHECK_THAT(js(R"({"sDate":20260621})"), Catch::Contains("sDate: not a string"));
  for (const char* d : {"2026-13-01", "2026-02-30", "2026-6-21", "21.06.2026", "2026-06-21T00"}) {
    INFO(d);
    CHECK_THAT(js(R"({"sDate":")" + std::string(d) + R"("})"), Catch::Contains("not YYYY-MM-DD"));
  }

  const auto energy = [](const std::string& body) {
    return refusal(local::parse_cca_energy(body));
  };
  CHECK_THAT(energy("{}"), Catch::Contains("energy: not an array"));
  CHECK_THAT(energy(R"([["2026-06-21"]])"), Catch::Contains("a row not [date, Wh]"));
  CHECK_THAT(energy(R"([["2026-06-21",1,2]])"), Catch::Contains("a row not [date, Wh]"));
  CHECK_THAT(energy(R"([[20260621,1]])"), Catch::Contains("a date not a string"));
  CHECK_THAT(energy(R"([["2026-06-31",1]])"), Catch::Contains("a date not YYYY-MM-DD"));
  CHECK_THAT(energy(R"([["2026-06-21","1"]])"), Catch::Contains("energy 2026-06-21: not a number"));
  CHECK_THAT(energy(R"([["2026-06-21",-5]])"), Catch::Contains("out of range"));
  CHECK_THAT(energy(R"([["2026-06-21",1e12]])"), Catch::Contains("out of range"));
  CHECK_THAT(energy(R"([["2026-06-21",1],["2026-06-21",2]])"), Catch::Contains("listed twice"));
  std::string many = "[";
  for (std::size_t i = 0; i <= local::kMaxCcaEnergyRows; ++i)
    many += std::string(i ? "," : "") + R"(["2026-06-21",1])";
  CHECK_THAT(energy(many + "]"), Catch::Contains("more rows than expected"));

  const auto ok = local::parse_cca_energy(R"([["2026-06-20",1234.5],["2026-06-21",0]])");
  REQUIRE(ok.ok());
  CHECK(*ok == std::vector<local::CcaEnergyDay>{{local_date(2026, 6, 20), 1234.5},
                                                {local_date(2026, 6, 21), 0}});
}
