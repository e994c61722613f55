// Site-local CSV times -> UTC across real DST transitions of 2026.
#include "tigo/local_time.hpp"

#include <catch2/catch.hpp>

#include "util/time.hpp"

namespace {

tigo::LocalTime lt(int y, unsigned mo, unsigned d, int h, int mi) {
  return tigo::LocalTime{date::local_days{date::year{y} / mo / d}.time_since_epoch()} +
         std::chrono::hours{h} + std::chrono::minutes{mi};
}

tigo::Timestamp utc(const char* iso) { return *util::parse_iso8601(iso); }

const date::time_zone* zone(const char* name) {
  auto z = tigo::find_zone(name);
  REQUIRE(z.ok());
  return *z;
}

}  // namespace

TEST_CASE("America/Los_Angeles spring forward and fall back", "[tigo][time]") {
  const auto* la = zone("America/Los_Angeles");
  // 2026-03-08 02:00 PST -> 03:00 PDT
  CHECK(tigo::local_to_utc(lt(2026, 3, 8, 1, 59), la) == utc("2026-03-08T09:59:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 3, 8, 2, 30), la) == utc("2026-03-08T10:30:00Z"));  // gap
  CHECK(tigo::local_to_utc(lt(2026, 3, 8, 3, 0), la) == utc("2026-03-08T10:00:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 3, 8, 12, 0), la) == utc("2026-03-08T19:00:00Z"));
  // 2026-11-01 02:00 PDT -> 01:00 PST: 01:30 happens twice; the first (PDT) is taken
  CHECK(tigo::local_to_utc(lt(2026, 11, 1, 0, 59), la) == utc("2026-11-01T07:59:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 11, 1, 1, 30), la) == utc("2026-11-01T08:30:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 11, 1, 2, 0), la) == utc("2026-11-01T10:00:00Z"));
}

TEST_CASE("Europe/Berlin spring forward and fall back", "[tigo][time]") {
  const auto* berlin = zone("Europe/Berlin");
  CHECK(tigo::local_to_utc(lt(2026, 3, 29, 1, 59), berlin) == utc("2026-03-29T00:59:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 3, 29, 2, 30), berlin) == utc("2026-03-29T01:30:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 3, 29, 3, 0), berlin) == utc("2026-03-29T01:00:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 10, 25, 1, 59), berlin) == utc("2026-10-24T23:59:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 10, 25, 2, 30), berlin) == utc("2026-10-25T00:30:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 10, 25, 3, 0), berlin) == utc("2026-10-25T02:00:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 7, 1, 12, 0), berlin) == utc("2026-07-01T10:00:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 1, 1, 12, 0), berlin) == utc("2026-01-01T11:00:00Z"));
}

TEST_CASE("Australia/Sydney: southern hemisphere, DST ends in April", "[tigo][time]") {
  const auto* syd = zone("Australia/Sydney");
  // 2026-04-05 03:00 AEDT (+11) -> 02:00 AEST (+10): 02:30 is ambiguous, AEDT taken
  CHECK(tigo::local_to_utc(lt(2026, 4, 5, 1, 59), syd) == utc("2026-04-04T14:59:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 4, 5, 2, 30), syd) == utc("2026-04-04T15:30:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 4, 5, 3, 0), syd) == utc("2026-04-04T17:00:00Z"));
  // 2026-10-04 02:00 AEST -> 03:00 AEDT: 02:30 does not exist, read as AEST
  CHECK(tigo::local_to_utc(lt(2026, 10, 4, 1, 59), syd) == utc("2026-10-03T15:59:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 10, 4, 2, 30), syd) == utc("2026-10-03T16:30:00Z"));
  CHECK(tigo::local_to_utc(lt(2026, 10, 4, 3, 0), syd) == utc("2026-10-03T16:00:00Z"));
}

TEST_CASE("UTC to local and back, every 5 minutes through a year", "[tigo][time]") {
  for (const char* name :
       {"America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "UTC", "Asia/Kolkata"}) {
    const auto* z = zone(name);
    int mismatches = 0;
    for (auto t = utc("2026-01-01T00:00:00Z"); t < utc("2027-01-01T00:00:00Z");
         t += std::chrono::minutes{5}) {
      // Every instant round-trips except those in the second pass of a repeated hour.
      if (tigo::local_to_utc(tigo::utc_to_local(t, z), z) != t) ++mismatches;
    }
    INFO(name);
    const bool has_dst =
        std::string_view(name) != "UTC" && std::string_view(name) != "Asia/Kolkata";
    CHECK(mismatches == (has_dst ? 12 : 0));  // the repeated hour, once a year
  }
  CHECK(tigo::utc_to_local(utc("2026-07-01T10:00:00Z"), zone("Europe/Berlin")) ==
        lt(2026, 7, 1, 12, 0));
  CHECK(tigo::format_local(lt(2026, 3, 1, 12, 7)) == "2026-03-01T12:07:00");
}

TEST_CASE("unknown zones are errors, not exceptions", "[tigo][time]") {
  auto z = tigo::find_zone("Mars/Olympus_Mons");
  REQUIRE_FALSE(z.ok());
  CHECK(z.error().message.find("Mars/Olympus_Mons") != std::string::npos);
  CHECK_FALSE(tigo::find_zone("").ok());
}

TEST_CASE("rows in order read the repeated fall-back hour twice, once per offset", "[tigo][time]") {
  const auto* la = zone("America/Los_Angeles");
  std::optional<tigo::Timestamp> prev;
  std::vector<tigo::Timestamp> seen;
  // An answer with a row every 30 minutes from 00:30 to 02:00 local on 2026-11-01: 01:00 and
  // 01:30 come twice (PDT, then PST).
  for (auto [h, m] : {std::pair{0, 30}, {1, 0}, {1, 30}, {1, 0}, {1, 30}, {2, 0}}) {
    prev = tigo::local_to_utc_after(lt(2026, 11, 1, h, m), la, prev);
    seen.push_back(*prev);
  }
  CHECK(seen ==
        std::vector<tigo::Timestamp>{utc("2026-11-01T07:30:00Z"), utc("2026-11-01T08:00:00Z"),
                                     utc("2026-11-01T08:30:00Z"), utc("2026-11-01T09:00:00Z"),
                                     utc("2026-11-01T09:30:00Z"), utc("2026-11-01T10:00:00Z")});
  // Outside the repeated hour, or without a previous row, it is local_to_utc.
  CHECK(tigo::local_to_utc_after(lt(2026, 11, 1, 1, 0), la, std::nullopt) ==
        utc("2026-11-01T08:00:00Z"));
  CHECK(tigo::local_to_utc_after(lt(2026, 3, 8, 2, 30), la, utc("2026-03-08T09:59:00Z")) ==
        utc("2026-03-08T10:30:00Z"));
  // A row listed out of order inside the repeated hour is not pushed to the later offset twice.
  CHECK(tigo::local_to_utc_after(lt(2026, 11, 1, 1, 0), la, utc("2026-11-01T09:30:00Z")) ==
        utc("2026-11-01T08:00:00Z"));
}

TEST_CASE("the site's calendar day, and a null zone read as UTC", "[tigo][time]") {
  const auto* la = zone("America/Los_Angeles");
  // 07:30 UTC on the fall-back day is 00:30 PDT: already November 1st in Los Angeles.
  CHECK(tigo::local_day(utc("2026-11-01T07:30:00Z"), la) ==
        date::local_days{date::year{2026} / 11 / 1});
  CHECK(tigo::local_day(utc("2026-11-01T06:59:00Z"), la) ==
        date::local_days{date::year{2026} / 10 / 31});
  // Without a zone (unknown to tzdata) wall time is UTC, both ways and for the day.
  CHECK(tigo::local_to_utc(lt(2026, 3, 8, 2, 30), nullptr) == utc("2026-03-08T02:30:00Z"));
  CHECK(tigo::local_to_utc_after(lt(2026, 11, 1, 1, 0), nullptr, utc("2026-11-01T01:30:00Z")) ==
        utc("2026-11-01T01:00:00Z"));
  CHECK(tigo::utc_to_local(utc("2026-07-01T10:00:00Z"), nullptr) == lt(2026, 7, 1, 10, 0));
  CHECK(tigo::local_day(utc("2026-11-01T06:59:00Z"), nullptr) ==
        date::local_days{date::year{2026} / 11 / 1});
}
