// When minute data reaches the API: irregular uploads per gateway (cadence, jitter, missed
// uploads delivered with the next, late batches), served over HTTP exactly as sim::arrivals and
// sim::availability model them.
#include <catch2/catch.hpp>
#include <set>

#include "sim/data_csv.hpp"
#include "sim/model.hpp"
#include "sim/uploads.hpp"
#include "sim_fixture.hpp"
#include "util/time.hpp"

using namespace simtest;

namespace {

// Quirks off but late batches on; a rate limit that a day of polling does not reach.
sim::ServerOptions arrival_options() {
  auto o = plain();
  o.quirks.late_batches = true;
  o.rate_limit = 1'000'000'000;
  return o;
}

// sources/system's sets[0].last_min.
sys_seconds served_last_min(RunningSim& sim, std::int64_t system_id) {
  simdjson::dom::parser p;
  const auto body = sim.ok("sources/system?system_id=" + std::to_string(system_id));
  std::string_view text;
  REQUIRE(p.parse(body)["sources"].at(0)["sets"].at(0)["last_min"].get(text) == simdjson::SUCCESS);
  const auto t = util::parse_iso8601(text);
  REQUIRE(t);
  return *t;
}

// The first `count` systems of the fleet whose gateway uploads all along (no stall).
std::vector<sim::SystemContext> uploading(const sim::Fleet& fleet, std::size_t count) {
  std::vector<sim::SystemContext> out;
  for (std::size_t i = 0; i < fleet.size() && out.size() < count; ++i) {
    auto c = sim::make_context(fleet, fleet.system(i));
    if (c.fault.kind != sim::FaultKind::GatewayStall) out.push_back(std::move(c));
  }
  return out;
}

seconds abs_seconds(seconds s) { return s < seconds{0} ? -s : s; }

}  // namespace

TEST_CASE("irregular arrivals over a simulated day: cadence, jitter, missed and late uploads",
          "[sim]") {
  const auto day = at_utc(2026, 6, 21, 0);
  const auto end = day + hours{24};
  RunningSim sim(arrival_options(), 10, day);
  const auto o = sim.server.upload_options();
  REQUIRE(o.arrivals == sim::Arrivals::Irregular);  // the default
  const auto gateways = uploading(sim.fleet, 4);
  REQUIRE(gateways.size() == 4);

  // What sources/system serves at every minute of the day; every half hour, the minute rows of
  // data/combined and data/aggregate against it.
  std::vector<std::vector<sys_seconds>> served(gateways.size());
  int rows_checked = 0;
  for (auto t = day; t < end; t += minutes{1}) {
    sim.clock.set(t);
    for (std::size_t g = 0; g < gateways.size(); ++g) {
      const auto& c = gateways[g];
      const auto last_min = served_last_min(sim, c.spec.system_id);
      served[g].push_back(last_min);
      if ((t - day) % minutes{30} != minutes{0}) continue;
      INFO(c.spec.system_id << " at " << util::format_iso8601_utc(t));
      const std::string window = "system_id=" + std::to_string(c.spec.system_id) +
                                 "&start=" + site(c.zone, t - hours{3}) + "&end=" + site(c.zone, t);
      const auto combined = parse_csv(sim.ok("data/combined?level=minute&" + window));
      REQUIRE_FALSE(combined.rows.empty());
      CHECK(combined.rows.back()[0] == sim::local_stamp(c.zone, last_min, 0));
      const auto panels = parse_csv(sim.ok("data/aggregate?param=Pin&sensors=false&" + window));
      if (!panels.rows.empty()) {
        CHECK(panels.rows.back()[0] <= sim::local_stamp(c.zone, last_min));
        // Daylight at the newest minute: the panels' rows reach it.
        if (std::stod(combined.rows.back()[1]) > 0)
          CHECK(panels.rows.back()[0] == sim::local_stamp(c.zone, last_min));
      }
      ++rows_checked;
    }
  }
  CHECK(rows_checked == 48 * 4);
  auto served_at = [&](std::size_t g, sys_seconds t) { return served[g][(t - day) / minutes{1}]; };

  std::size_t uploads = 0, missed = 0, late = 0;
  std::set<seconds> cadences;
  for (std::size_t g = 0; g < gateways.size(); ++g) {
    const auto& c = gateways[g];
    INFO("system " << c.spec.system_id);
    const auto rhythm = sim::upload_cadence(c, o);
    CHECK(rhythm.cadence >= minutes{10});
    CHECK(rhythm.cadence <= minutes{15});
    CHECK(rhythm.jitter == minutes{2});
    cadences.insert(rhythm.cadence);
    const auto batches = sim::arrivals(c, day, end, o);
    REQUIRE(batches.size() >= 80);  // a day at 10-15 minutes (a late one may spill past midnight)
    std::set<seconds> gaps;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const auto& b = batches[i];
      INFO("batch " << b.number << " uploaded " << util::format_iso8601_utc(b.uploaded));
      const auto slot = sys_seconds{b.number * rhythm.cadence + rhythm.phase};
      CHECK(abs_seconds(b.uploaded - slot) <= rhythm.jitter);
      CHECK(b.last_min == floor<minutes>(b.uploaded) - minutes{1});
      CHECK(b.visible >= b.uploaded + o.delay);
      CHECK(b.visible >= day);
      CHECK(b.visible < end);
      if (i > 0) {
        const auto& prev = batches[i - 1];
        CHECK(b.number == prev.number + 1);
        CHECK(b.first_min == prev.last_min + minutes{1});
        CHECK(b.visible >= prev.visible);  // in order
        const auto gap = b.uploaded - prev.uploaded;
        CHECK(gap >= rhythm.cadence - 2 * rhythm.jitter);
        CHECK(gap <= rhythm.cadence + 2 * rhythm.jitter);
        gaps.insert(gap);
      }
      // What it would have been served at on its own, and what sources/system showed then.
      const auto own = sys_seconds{ceil<minutes>(b.uploaded + o.delay)};
      if (b.missed) {
        ++missed;
        REQUIRE(i + 1 < batches.size());
        const auto& carrier = batches[i + 1];
        CHECK_FALSE(carrier.missed);  // never two in a row
        CHECK(carrier.visible == b.visible);
        CHECK(b.visible >= carrier.uploaded + o.delay);
        if (own >= day && own < b.visible) CHECK(served_at(g, own) < b.last_min);
        // Delivered with the next upload: both at once.
        const auto delivered = sys_seconds{ceil<minutes>(b.visible)};
        if (delivered < end) CHECK(served_at(g, delivered) >= carrier.last_min);
      } else if (b.late) {
        ++late;
        CHECK(b.visible >= b.uploaded + o.delay + sim::kLateBatchExtra);
        if (own >= day) CHECK(served_at(g, own) < b.last_min);
      }
      if (!b.missed) ++uploads;
    }
    CHECK(gaps.size() >= 20);  // not one period: each upload has its own jitter

    // sources/system at each minute serves the newest batch visible by then, no more, no less.
    std::size_t next = 0;
    const auto before = sim::availability(c, day - seconds{1}, o).last_min;
    for (auto t = day; t < end; t += minutes{1}) {
      while (next < batches.size() && batches[next].visible <= t) ++next;
      INFO(util::format_iso8601_utc(t));
      CHECK(served_at(g, t) == (next == 0 ? before : batches[next - 1].last_min));
      CHECK(served_at(g, t) == sim::availability(c, t, o).last_min);
    }
  }
  CHECK(cadences.size() >= 2);  // each gateway its own
  // About one upload in 12 missed, one batch in 20 late: drawn from the seed, so counted loosely.
  INFO(uploads << " uploads, " << missed << " missed, " << late << " late");
  CHECK(missed * 30 >= uploads);
  CHECK(missed * 6 <= uploads);
  CHECK(late * 60 >= uploads);
  CHECK(late * 8 <= uploads);
}

TEST_CASE("the same seed gives the same arrivals, another seed others", "[sim]") {
  const auto start = at_utc(2026, 3, 10, 6);
  RunningSim a(arrival_options(), 3, start, 24, 5), b(arrival_options(), 3, start, 24, 5),
      other(arrival_options(), 3, start, 24, 6);
  std::vector<sys_seconds> seen_a, seen_b, seen_other;
  for (auto t = start; t < start + hours{6}; t += minutes{3}) {
    for (auto* sim : {&a, &b, &other}) sim->clock.set(t);
    for (std::int64_t id = 1001; id <= 1003; ++id) {
      seen_a.push_back(served_last_min(a, id));
      seen_b.push_back(served_last_min(b, id));
      seen_other.push_back(served_last_min(other, id));
    }
  }
  CHECK(seen_a == seen_b);
  CHECK(seen_a != seen_other);
  // The model without HTTP: the same batches, to the second.
  const auto o = a.server.upload_options();
  for (std::size_t i = 0; i < 3; ++i) {
    const auto ca = sim::make_context(a.fleet, a.fleet.system(i));
    const auto cb = sim::make_context(b.fleet, b.fleet.system(i));
    const auto x = sim::arrivals(ca, start, start + hours{24}, o);
    const auto y = sim::arrivals(cb, start, start + hours{24}, o);
    REQUIRE(x.size() == y.size());
    for (std::size_t k = 0; k < x.size(); ++k) {
      CHECK(x[k].uploaded == y[k].uploaded);
      CHECK(x[k].visible == y[k].visible);
      CHECK(x[k].missed == y[k].missed);
    }
  }
}

TEST_CASE("periodic arrivals: every gateway exactly every upload interval", "[sim]") {
  auto options = arrival_options();
  options.arrivals = sim::Arrivals::Periodic;
  const auto start = at_utc(2026, 6, 21, 0);
  RunningSim sim(options, 4, start);
  const auto o = sim.server.upload_options();
  int late = 0;
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto c = sim::make_context(sim.fleet, sim.fleet.system(i));
    if (c.fault.kind == sim::FaultKind::GatewayStall) continue;
    const auto rhythm = sim::upload_cadence(c, o);
    CHECK(rhythm.cadence == minutes{10});
    CHECK(rhythm.jitter == seconds{0});
    CHECK(rhythm.phase % minutes{1} == seconds{0});
    const auto batches = sim::arrivals(c, start, start + hours{24}, o);
    REQUIRE(batches.size() >= 140);
    for (std::size_t k = 1; k < batches.size(); ++k) {
      CHECK(batches[k].uploaded - batches[k - 1].uploaded == minutes{10});
      CHECK_FALSE(batches[k].missed);
      if (batches[k].late) ++late;
    }
    // Served as modelled, at a few instants.
    for (auto t = start + minutes{7}; t < start + hours{24}; t += minutes{97}) {
      sim.clock.set(t);
      CHECK(served_last_min(sim, c.spec.system_id) == sim::availability(c, t, o).last_min);
    }
  }
  CHECK(late > 0);
}

TEST_CASE("a stalled gateway's arrivals stop at its fault's onset", "[sim]") {
  const sim::Fleet fleet({1, 10, 24});
  const sim::UploadOptions o;
  int checked = 0;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto c = sim::make_context(fleet, fleet.system(i));
    if (c.fault.kind != sim::FaultKind::GatewayStall) continue;
    const auto stop = sys_seconds{floor<minutes>(c.fault.onset)};
    const auto batches = sim::arrivals(c, c.fault.onset - hours{3}, c.fault.onset + hours{3}, o);
    REQUIRE_FALSE(batches.empty());
    CHECK(batches.back().last_min == stop - minutes{1});
    for (const auto& b : batches) CHECK(b.first_min < stop);
    CHECK(sim::availability(c, c.fault.onset + hours{3}, o).last_min == stop - minutes{1});
    ++checked;
  }
  CHECK(checked == 1);
}
