// CSV rows in site-local time -> UTC series: the fall-back hour, sorting, the window, energy today.
#include "backfill/series.hpp"

#include <catch2/catch.hpp>

#include "util/time.hpp"

using backfill::Point;
using backfill::Timestamp;

namespace {

Timestamp utc(const char* iso) { return *util::parse_iso8601(iso); }

tigo::CsvTable table(const std::string& csv) {
  tigo::CsvOptions o;
  o.keep_rows = true;
  auto t = tigo::parse_csv(csv, o);
  REQUIRE(t.ok());
  return std::move(*t);
}

const date::time_zone* zone(const char* name) { return tigo::find_zone(name).value(); }

}  // namespace

TEST_CASE("every minute of the repeated fall-back hour keeps its own instant", "[backfill]") {
  // Europe/Athens, 2026-10-25: 04:00 EEST -> 03:00 EET, so 03:xx is listed twice.
  const auto t = table(
      "Datetime,11,12\n"
      "2026/10/25 02:59:00,1,\n"
      "2026/10/25 03:00:00,2,20\n"
      "2026/10/25 03:59:00,3,30\n"
      "2026/10/25 03:00:00,4,\n"
      "2026/10/25 03:59:00,5,50\n"
      "2026/10/25 04:00:00,6,60\n");
  const auto cols = backfill::column_points(t, zone("Europe/Athens"));
  REQUIRE(cols.size() == 2);
  CHECK(cols[0] == std::vector<Point>{{utc("2026-10-24T23:59:00Z"), 1},
                                      {utc("2026-10-25T00:00:00Z"), 2},
                                      {utc("2026-10-25T00:59:00Z"), 3},
                                      {utc("2026-10-25T01:00:00Z"), 4},
                                      {utc("2026-10-25T01:59:00Z"), 5},
                                      {utc("2026-10-25T02:00:00Z"), 6}});
  // An empty cell is no point, never a 0.
  CHECK(cols[1] == std::vector<Point>{{utc("2026-10-25T00:00:00Z"), 20},
                                      {utc("2026-10-25T00:59:00Z"), 30},
                                      {utc("2026-10-25T01:59:00Z"), 50},
                                      {utc("2026-10-25T02:00:00Z"), 60}});
  // Without a zone the rows are read as UTC.
  CHECK(backfill::column_points(t, nullptr)[0].front().at == utc("2026-10-25T02:59:00Z"));
}

TEST_CASE("normalize sorts, keeps the later duplicate, and clips to the window", "[backfill]") {
  std::vector<Point> p = {{utc("2026-06-20T10:02:00Z"), 3}, {utc("2026-06-20T10:00:00Z"), 1},
                          {utc("2026-06-20T10:01:00Z"), 2}, {utc("2026-06-20T10:01:00Z"), 22},
                          {utc("2026-06-20T10:03:00Z"), 4}, {utc("2026-06-20T09:59:00Z"), 0}};
  backfill::normalize(p, utc("2026-06-20T10:00:00Z"), utc("2026-06-20T10:03:00Z"), std::nullopt);
  CHECK(p == std::vector<Point>{{utc("2026-06-20T10:00:00Z"), 1},
                                {utc("2026-06-20T10:01:00Z"), 22},
                                {utc("2026-06-20T10:02:00Z"), 3}});
  // What an earlier chunk already wrote is not written again.
  backfill::normalize(p, utc("2026-06-20T00:00:00Z"), utc("2026-06-21T00:00:00Z"),
                      utc("2026-06-20T10:01:00Z"));
  CHECK(p == std::vector<Point>{{utc("2026-06-20T10:02:00Z"), 3}});
}

TEST_CASE("energy today adds up the hours since local midnight, in joules", "[backfill]") {
  // America/Los_Angeles (UTC-7 in June); two days, the second starting over.
  const auto t = table(
      "DATETIME,1,2\n"
      "2026/06/20 22:00:00.000,100,1\n"
      "2026/06/20 23:00:00.000,50,\n"
      "2026/06/21 00:00:00.000,0,0\n"
      "2026/06/21 09:00:00.000,200.5,2\n");
  const auto cols = backfill::energy_today_points(t, zone("America/Los_Angeles"));
  REQUIRE(cols.size() == 2);
  CHECK(cols[0] == std::vector<Point>{
                       {utc("2026-06-21T06:00:00Z"), 100 * 3600.0},
                       // The day's last hour: a second before midnight, inside its day.
                       {utc("2026-06-21T06:59:59Z"), 150 * 3600.0},
                       {utc("2026-06-21T08:00:00Z"), 0},
                       {utc("2026-06-21T17:00:00Z"), 200.5 * 3600.0},
                   });
  CHECK(cols[1] == std::vector<Point>{{utc("2026-06-21T06:00:00Z"), 3600.0},
                                      {utc("2026-06-21T08:00:00Z"), 0},
                                      {utc("2026-06-21T17:00:00Z"), 2 * 3600.0}});
}

TEST_CASE("energy today across a 25-hour day", "[backfill]") {
  // Athens 2026-10-25: the hour starting 03:00 local lasts two hours (03:00 EEST to 04:00 EET).
  const auto t = table(
      "DATETIME,1\n"
      "2026/10/25 02:00:00.000,1\n"
      "2026/10/25 03:00:00.000,2\n"
      "2026/10/25 04:00:00.000,4\n"
      "2026/10/25 23:00:00.000,8\n");
  const auto cols = backfill::energy_today_points(t, zone("Europe/Athens"));
  CHECK(cols[0] == std::vector<Point>{{utc("2026-10-25T00:00:00Z"), 3600.0},
                                      {utc("2026-10-25T02:00:00Z"), 3 * 3600.0},
                                      {utc("2026-10-25T03:00:00Z"), 7 * 3600.0},
                                      {utc("2026-10-25T21:59:59Z"), 15 * 3600.0}});
}
