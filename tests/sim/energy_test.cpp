// Energy totals: today's and this year's are exactly the grid sums data/combined reports, at any
// date; the lifetime total never falls, has no step at the New Year and is never below this
// year's; every answer is deterministic; a first answer costs at most one year of grid steps.
// And a system produces nothing before its turn-on.
#include <date/date.h>
#include <date/tz.h>
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "sim/data_csv.hpp"
#include "sim/model.hpp"
#include "sim/responses.hpp"
#include "sim_fixture.hpp"

using namespace simtest;

namespace {

std::int64_t centi(double wh) { return std::llround(wh * 100); }

// The first data row's value of a data/combined answer, 0 without rows.
double first_row(const std::string& body) {
  const auto csv = parse_csv(body);
  if (csv.rows.empty()) return 0;
  REQUIRE(csv.rows[0].size() == 2);
  return std::stod(csv.rows[0][1]);
}

// Every system's summary against data/combined's day and year rows ending at the summary's
// minute (no upload delay, so the data reaches it).
void summary_is_combined(sys_seconds now, std::uint64_t seed) {
  auto options = plain();
  options.data_delay = seconds{0};
  options.upload_interval = seconds{60};
  options.arrivals = sim::Arrivals::Periodic;
  RunningSim sim(options, 10, now, 24, seed);
  int lit = 0, dark = 0;
  for (int id = 1001; id <= 1010; ++id) {
    INFO("system " << id << " at " << date::format("%FT%TZ", now));
    simdjson::dom::parser p;
    const auto body = sim.ok("data/summary?system_id=" + std::to_string(id));
    const simdjson::dom::element s = p.parse(body)["summary"];
    const double daily = s["daily_energy_dc"].get_double();
    const double ytd = s["ytd_energy_dc"].get_double();
    const double lifetime = s["lifetime_energy_dc"].get_double();
    const std::string updated{std::string_view(s["updated_on"])};
    const auto day = updated.substr(0, 10);  // the site-local date of the summary's minute
    const auto year_text = updated.substr(0, 4);
    const auto base = "data/combined?system_id=" + std::to_string(id);
    const double day_row =
        first_row(sim.ok(base + "&level=day&start=" + day + "T00:00:00&end=" + day + "T23:59:59"));
    const double year_row =
        first_row(sim.ok(base + "&level=year&start=" + year_text +
                         "-01-01T00:00:00&end=" + year_text + "-12-31T23:59:59"));
    CHECK(centi(daily) == centi(day_row));
    CHECK(centi(ytd) == centi(year_row));
    CHECK(lifetime >= ytd);
    CHECK(ytd >= daily);
    (daily > 0 ? lit : dark)++;
  }
  // Both cases occur: systems in the day's production and systems before their sunrise.
  CHECK(lit > 0);
  CHECK(dark > 0);
}

}  // namespace

TEST_CASE(
    "summary daily and ytd energy are data/combined's day and year rows, before and after 2026",
    "[sim]") {
  summary_is_combined(at_utc(2025, 9, 1, 20), 1);
  summary_is_combined(at_utc(2029, 6, 1, 12), 1);
  summary_is_combined(at_utc(2031, 3, 20, 10, 30), 2);
}

TEST_CASE("lifetime energy never falls, has no step at the New Year and is never below ytd",
          "[sim]") {
  const sim::Fleet fleet({1, 16, 12});
  const sim::PowerModel model(fleet);
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto c = sim::make_context(fleet, fleet.system(i));
    INFO("system " << c.spec.system_id << " " << c.spec.timezone << ", turned on "
                   << date::format("%F", c.spec.turn_on));
    // New Years of the turn-on years (2021-2023), the next ones, and later ones.
    for (int ny : {2022, 2023, 2024, 2026}) {
      const auto start = sim::local_year_start(c.spec.timezone, sys_days{year{ny} / 1 / 2});
      const auto before = model.energy(c, start - seconds{1});
      const auto after = model.energy(c, start);
      CHECK(after.lifetime_wh == before.lifetime_wh);  // midnight: nothing produced, no step
      CHECK(after.ytd_wh == 0);
      double last = -1;
      for (auto t = start - hours{40}; t <= start + hours{40}; t += minutes{47}) {
        const auto e = model.energy(c, t);
        CHECK(e.lifetime_wh >= last);
        CHECK(e.lifetime_wh >= e.ytd_wh);
        CHECK(e.ytd_wh >= e.today_wh);
        CHECK(e.today_wh >= 0);
        last = e.lifetime_wh;
      }
    }
  }
}

TEST_CASE("lifetime energy grows with the production within a year, a few percent off", "[sim]") {
  const sim::Fleet fleet({3, 6, 12});
  const sim::PowerModel model(fleet);
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto c = sim::make_context(fleet, fleet.system(i));
    INFO("system " << c.spec.system_id);
    const auto from = at_utc(2027, 4, 1, 0), to = at_utc(2027, 9, 1, 0);
    const auto a = model.energy(c, from), b = model.energy(c, to);
    const double produced = b.ytd_wh - a.ytd_wh;
    if (produced <= 0) continue;  // PV-Off
    CHECK((b.lifetime_wh - a.lifetime_wh) / produced == Approx(1.0).margin(0.08));
  }
}

TEST_CASE("energy answers do not depend on what was asked before, at any date", "[sim]") {
  const sim::Fleet fleet({4, 10, 24});
  for (const auto t : {at_utc(2023, 5, 2, 9, 17), at_utc(2025, 9, 1, 20), at_utc(2029, 6, 1, 12, 3),
                       at_utc(2036, 12, 31, 23, 59)}) {
    const sim::PowerModel fresh(fleet), warmed(fleet);
    for (std::size_t i = 0; i < fleet.size(); ++i) {
      const auto s = fleet.system(i);
      // Later, earlier, another year, the same minute twice.
      for (const auto w :
           {t + days{3}, t - days{40}, t - hours{3}, t - days{400}, t + minutes{7}, t})
        (void)warmed.energy(s, w);
      CHECK(sim::summary_json(fresh, s, t) == sim::summary_json(warmed, s, t));
      const auto a = fresh.energy(s, t), b = warmed.energy(s, t);
      CHECK(a.today_wh == b.today_wh);
      CHECK(a.ytd_wh == b.ytd_wh);
      CHECK(a.lifetime_wh == b.lifetime_wh);
    }
  }
}

TEST_CASE("a first energy answer costs at most one year of grid steps, whatever the date",
          "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  std::size_t healthy = 0;
  while (sim::make_context(fleet, fleet.system(healthy)).fault.kind != sim::FaultKind::None)
    ++healthy;
  const auto c = sim::make_context(fleet, fleet.system(healthy));
  constexpr std::uint64_t kYear = 366 * 144, kDay = 150;
  std::uint64_t first = 0;
  for (const auto t : {at_utc(2025, 9, 1, 20), at_utc(2026, 11, 1, 12), at_utc(2029, 6, 1, 12),
                       at_utc(2045, 1, 15, 12)}) {
    INFO(date::format("%F", t));
    const sim::PowerModel model(fleet);
    (void)model.energy(c, t);
    const auto steps = model.grid_steps();
    CHECK(steps <= kYear + kDay);
    if (first == 0) first = steps;
    CHECK(static_cast<double>(steps) < 1.1 * static_cast<double>(first));
    // The next minute resumes from the checkpoints.
    (void)model.energy(c, t + minutes{1});
    CHECK(model.grid_steps() - steps <= 4);
  }
}

TEST_CASE("before its turn-on a system has no readings, power, energy nor data rows", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const auto c = sim::make_context(fleet, fleet.system(1));
  REQUIRE(date::format("%F", c.spec.turn_on) == "2023-12-14");
  REQUIRE(c.spec.timezone == "America/Phoenix");
  CHECK(c.turn_on == at_utc(2023, 12, 14, 7));  // local midnight, UTC-7
  CHECK(sim::turn_on_instant(c.spec) == c.turn_on);
  const sim::PowerModel model(fleet);
  std::vector<sim::Sample> samples;
  // Local noon the day before and the day of the turn-on.
  model.minute(c, at_utc(2023, 12, 13, 19), samples);
  for (const auto& x : samples) CHECK_FALSE(x.present);
  model.minute(c, at_utc(2023, 12, 14, 19), samples);
  for (const auto& x : samples) CHECK(x.present);
  CHECK(model.system_power_mw(c, at_utc(2023, 12, 14, 19)) > 0);

  std::vector<int> all(c.panels.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  CHECK(model.energy_between(c, all, at_utc(2023, 1, 1, 0), c.turn_on) == 0);
  CHECK(model.energy_between(c, all, c.turn_on, c.turn_on + days{1}) > 0);
  const auto e = model.energy(c, c.turn_on - seconds{1});
  CHECK(e.lifetime_wh == 0);
  CHECK(e.ytd_wh == 0);
  CHECK(e.today_wh == 0);
  double last = 0;
  for (auto t = c.turn_on; t < c.turn_on + days{3}; t += minutes{37}) {
    const auto now = model.energy(c, t);
    CHECK(now.lifetime_wh >= last);
    CHECK(now.lifetime_wh >= now.ytd_wh);
    last = now.lifetime_wh;
  }
  CHECK(last > 0);

  // Over HTTP, the day after: rows start at the turn-on, the summary of the day before is zeros.
  RunningSim sim(plain(), 10, at_utc(2023, 12, 15, 19));
  const auto days_csv =
      parse_csv(sim.ok("data/combined?system_id=1002&level=day&start=2023-12-10T00:00:00&end="
                       "2023-12-15T23:00:00"));
  REQUIRE(days_csv.rows.size() == 2);
  CHECK(days_csv.rows[0][0] == "2023/12/14 00:00:00.000");
  const auto minutes_csv =
      parse_csv(sim.ok("data/combined?system_id=1002&level=minute&start=2023-12-13T12:00:00&end="
                       "2023-12-14T11:59:00"));
  REQUIRE_FALSE(minutes_csv.rows.empty());
  CHECK(minutes_csv.rows[0][0] == "2023/12/14 00:00:00.000");
  const auto panels_csv =
      parse_csv(sim.ok("data/aggregate?system_id=1002&level=day&start=2023-12-10T00:00:00&end="
                       "2023-12-15T00:00:00"));
  REQUIRE(panels_csv.rows.size() == 2);
  CHECK(panels_csv.rows[0][0] == "2023/12/14 00:00:00");
  RunningSim before(plain(), 10, at_utc(2023, 12, 13, 19));
  CHECK(before.ok("data/summary?system_id=1002") ==
        "{\"summary\":{\"lifetime_energy_dc\":0.00,\"ytd_energy_dc\":0.00,\"daily_energy_dc\":0.00,"
        "\"last_power_dc\":0,\"updated_on\":\"2023-12-13T12:00:00.000-07:00\"}}");
  CHECK(parse_csv(before.ok("data/aggregate?system_id=1002&start=2023-12-13T11:00:00&end="
                            "2023-12-13T12:00:00"))
            .rows.empty());
}
