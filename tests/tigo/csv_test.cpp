// The CSV reader of data/aggregate and data/combined on the document's examples, the fixtures in
// the recorded answers' shapes (tests/data) and every odd shape the real API sends.
#include "tigo/csv.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TIGO_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

tigo::LocalTime lt(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  return tigo::LocalTime{date::local_days{date::year{y} / mo / d}.time_since_epoch()} +
         std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s};
}

tigo::CsvTable parse_ok(std::string_view body, const tigo::CsvOptions& o = {}) {
  auto t = tigo::parse_csv(body, o, "data/aggregate");
  INFO(body);
  REQUIRE(t.ok());
  return std::move(*t);
}

}  // namespace

TEST_CASE("header=id answer: empty cell is missing and each column keeps its newest value",
          "[tigo][csv]") {
  auto t = parse_ok(fixture("aggregate_header_id.csv"));
  CHECK(t.time_header == "Datetime");
  REQUIRE(t.columns.size() == 2);
  CHECK(t.accepted_rows == 2);
  const auto* c1 = t.column("71");
  const auto* c2 = t.column("73");
  REQUIRE(c1);
  REQUIRE(c2);
  REQUIRE(c1->newest);
  CHECK(c1->newest->value == Approx(1874.2));
  CHECK(c1->newest->time == lt(2026, 1, 18, 13, 0));  // the 13:01 cell is empty, not 0
  CHECK(c1->values == 1);
  REQUIRE(c2->newest);
  CHECK(c2->newest->value == Approx(1859));
  CHECK(c2->newest->time == lt(2026, 1, 18, 13, 1));
  CHECK(t.newest_row == lt(2026, 1, 18, 13, 1));
  CHECK(t.anomalies.total() == 0);
}

TEST_CASE("header=key answer with datasource_param columns", "[tigo][csv]") {
  auto t = parse_ok(fixture("aggregate_key_header_vin.csv"));
  REQUIRE(t.columns.size() == 2);
  CHECK(t.columns[0].name == "04C05B9D3A10.panels.B3_Vin");
  CHECK(t.columns[1].name == "04C05B9D3A10.panels.C11_Vin");
  CHECK(t.columns[1].newest->value == Approx(37.9));
  CHECK(t.columns[1].newest->time == lt(2026, 1, 18, 13, 7));
  auto key = tigo::split_key_column(t.columns[1].name);
  REQUIRE(key);
  CHECK(key->datasource == "04C05B9D3A10.panels.C11");
  CHECK(key->param == "Vin");
  CHECK_FALSE(tigo::split_key_column("combined").has_value());
  CHECK(tigo::split_key_column("A1_Pin")->datasource == "A1");
}

TEST_CASE("the document's aggregate examples with spaces after commas", "[tigo][csv]") {
  auto t = parse_ok(
      "Datetime, 1, 2, 3\n2014/09/23 00:06:23,23,23,23\n2014/09/23 00:06:24,23,23,23\n"
      "2014/09/23 00:06:28,23, 23\n");
  REQUIRE(t.columns.size() == 3);
  CHECK(t.columns[0].name == "1");
  CHECK(t.columns[2].name == "3");
  CHECK(t.column("1")->newest->time == lt(2014, 9, 23, 0, 6, 28));
  CHECK(t.column("3")->newest->time == lt(2014, 9, 23, 0, 6, 24));  // short last row
  CHECK(t.uneven_rows == 1);
  CHECK(t.anomalies.total() == 0);
}

TEST_CASE("data/combined: DATETIME header and milliseconds", "[tigo][csv]") {
  auto t = parse_ok(
      "DATETIME, 1,2\r\n2016/08/16 08:00:00.000,1170, 35\r\n2016/08/16 08:01:00.000,1175, "
      "36\r\n2016/08/16 08:02:00.000,1195, 38\r\n2016/08/16 08:03:00.000,1216,50\r\n");
  CHECK(t.time_header == "DATETIME");
  CHECK(t.accepted_rows == 4);
  CHECK(t.column("1")->newest->value == Approx(1216));
  CHECK(t.column("2")->newest->value == Approx(50));
  CHECK(t.column("2")->newest->time == lt(2016, 8, 16, 8, 3));
  auto ms = parse_ok("Datetime,A1_Pin\n2026/03/01 12:07:00.250,301.5");  // no trailing newline
  CHECK(ms.column("A1_Pin")->newest->time == lt(2026, 3, 1, 12, 7, 0));
  CHECK(ms.column("A1_Pin")->newest->value == Approx(301.5));
}

TEST_CASE("header-only answers are counted, not errors", "[tigo][csv]") {
  for (const char* body : {"Datetime", "Datetime\n", "Datetime\r\n", "Datetime,A1_Pin\n",
                           "Datetime,combined\n", "", "\n\n",
                           "\xEF\xBB\xBF"
                           "Datetime,1,2\n"}) {
    INFO(body);
    auto t = parse_ok(body);
    CHECK(t.anomalies.header_only == 1);
    CHECK(t.accepted_rows == 0);
  }
  auto a = parse_ok(fixture("aggregate_header_only_pin.csv"));
  CHECK(a.anomalies.header_only == 1);
  REQUIRE(a.columns.size() == 1);
  CHECK(a.columns[0].name == "B3_Pin");
  CHECK_FALSE(a.columns[0].newest.has_value());
  auto c = parse_ok(fixture("combined_header_only.csv"));
  CHECK(c.anomalies.header_only == 1);
  // Rows under a `Datetime`-only header carry no values: still header_only.
  auto no_cols = parse_ok("Datetime\n2026/03/01 12:07:00\n");
  CHECK(no_cols.anomalies.header_only == 1);
}

TEST_CASE("BOM, CRLF, blank lines and quotes", "[tigo][csv]") {
  auto t = parse_ok(
      "\xEF\xBB\xBF\"Datetime\",\"04C05B800ACE.panels.A1_Pin\",\"x,y\"\r\n\r\n2026/03/01 "
      "12:07:00,\"12.5\",1\r\n\r\n");
  REQUIRE(t.columns.size() == 2);
  CHECK(t.columns[0].name == "04C05B800ACE.panels.A1_Pin");
  CHECK(t.columns[1].name == "x,y");
  CHECK(t.columns[0].newest->value == Approx(12.5));
  CHECK(t.columns[1].newest->value == Approx(1));
  CHECK(t.anomalies.total() == 0);
}

TEST_CASE("uneven rows: missing cells are missing, extra cells ignored", "[tigo][csv]") {
  auto t = parse_ok(
      "Datetime,1,2,3\n2026/03/01 10:00:00,1\n2026/03/01 10:01:00,2,3,4,5,6\n2026/03/01 "
      "10:02:00,,,\n");
  CHECK(t.accepted_rows == 3);
  CHECK(t.uneven_rows == 2);
  CHECK(t.column("1")->newest->value == Approx(2));
  CHECK(t.column("1")->newest->time == lt(2026, 3, 1, 10, 1));
  CHECK(t.column("3")->newest->value == Approx(4));
  CHECK(t.column("3")->values == 1);
  CHECK(t.anomalies.total() == 0);
}

TEST_CASE("null, NaN and empty cells never become 0", "[tigo][csv]") {
  auto t = parse_ok("Datetime,1,2,3\n2026/03/01 10:00:00,5,6,7\n2026/03/01 10:01:00,null,NaN,\n");
  CHECK(t.column("1")->newest->value == Approx(5));
  CHECK(t.column("2")->newest->value == Approx(6));
  CHECK(t.column("3")->newest->value == Approx(7));
  CHECK(t.column("1")->newest->time == lt(2026, 3, 1, 10, 0));
  CHECK(t.anomalies.bad_row == 0);
}

TEST_CASE("rows more than 5 minutes ahead of the system's now are dropped and counted",
          "[tigo][csv]") {
  tigo::CsvOptions o;
  o.now = lt(2026, 3, 1, 12, 0);
  auto t = parse_ok(
      "Datetime,1\n2026/03/01 11:59:00,1\n2026/03/01 12:05:00,2\n2026/03/01 12:05:01,3\n"
      "2026/03/01 13:00:00,4\n",
      o);
  CHECK(t.anomalies.future_row == 2);
  CHECK(t.accepted_rows == 2);
  CHECK(t.column("1")->newest->value == Approx(2));  // exactly 5 minutes ahead is kept
  CHECK(t.newest_row == lt(2026, 3, 1, 12, 5));
  auto no_now = parse_ok("Datetime,1\n2030/01/01 00:00:00,9\n");
  CHECK(no_now.anomalies.future_row == 0);
}

TEST_CASE("garbage rows are counted and skipped whole", "[tigo][csv]") {
  auto t = parse_ok(
      "Datetime,1,2\n2026/03/01 10:00:00,1,2\nnot a row\n2026/13/01 10:01:00,1,1\n"
      "2026/03/01 25:00:00,1,1\n2026/03/01 10:02:00,abc,7\n2026/03/01 10:03:00,3-4,1\n"
      "<html>\n2026/03/01 10:0");  // truncated last row
  CHECK(t.accepted_rows == 1);
  CHECK(t.anomalies.bad_row == 7);
  CHECK(t.column("2")->newest->value == Approx(2));
  CHECK(t.column("2")->newest->time == lt(2026, 3, 1, 10, 0));
}

TEST_CASE("unknown columns: counted once each against what the caller expected", "[tigo][csv]") {
  const std::vector<std::string> expected = {"101", "102"};
  tigo::CsvOptions o;
  o.expected = expected;
  auto t = parse_ok("Datetime,101,102,103,999\n2026/03/01 10:00:00,1,2,3,4\n", o);
  CHECK(t.anomalies.unknown_column == 2);
  CHECK(t.column("101")->expected);
  CHECK_FALSE(t.column("103")->expected);
  CHECK(t.column("999")->newest->value == Approx(4));  // kept: the caller decides
}

TEST_CASE("rows out of order: the newest time wins, not the last row", "[tigo][csv]") {
  tigo::CsvOptions o;
  o.keep_rows = true;
  auto t = parse_ok(
      "Datetime,1\n2026/03/01 10:05:00,5\n2026/03/01 10:01:00,1\n2026/03/01 10:03:00,3\n", o);
  CHECK(t.column("1")->newest->value == Approx(5));
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[1].time == lt(2026, 3, 1, 10, 1));
  CHECK(t.rows[1].cells[0] == Approx(1));
}

TEST_CASE("answers that are not CSV are errors naming the endpoint", "[tigo][csv]") {
  for (const char* body :
       {"{\"name\":\"Bad Request\",\"status\":400}", "<html>502</html>", "Date,1\n", "1,2,3\n"}) {
    INFO(body);
    auto t = tigo::parse_csv(body, {}, "data/combined");
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message.rfind("data/combined: not a Tigo CSV answer", 0) == 0);
  }
  tigo::CsvOptions o;
  o.max_columns = 3;
  auto wide = tigo::parse_csv("Datetime,1,2,3,4\n", o, "data/aggregate");
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.error().message.find("too many columns") != std::string::npos);
}

TEST_CASE("time cells", "[tigo][csv]") {
  CHECK(tigo::parse_csv_time("2026/03/01 12:07:00") == lt(2026, 3, 1, 12, 7));
  CHECK(tigo::parse_csv_time("2026/03/01 12:07:59.999") == lt(2026, 3, 1, 12, 7, 59));
  CHECK(tigo::parse_csv_time("2026-03-01T12:07:00") == lt(2026, 3, 1, 12, 7));
  CHECK(tigo::parse_csv_time("2026/03/01 12:07") == lt(2026, 3, 1, 12, 7));
  CHECK(tigo::parse_csv_time(" 2026/03/01 12:07:00 ") == lt(2026, 3, 1, 12, 7));
  for (const char* bad :
       {"", "2026/02/30 12:00:00", "2026/03/01", "2026/03/01 12:07:60", "2026/03/01 12:07:00.",
        "2026/03/01 12:07:00Z", "26/03/01 12:07:00", "2026/3/1 12:07:00"}) {
    INFO(bad);
    CHECK_FALSE(tigo::parse_csv_time(bad).has_value());
  }
}

TEST_CASE("every truncation of a CSV answer parses or fails cleanly", "[tigo][csv]") {
  const std::string full =
      "\xEF\xBB\xBF"
      "Datetime,1,2\r\n2026/03/01 10:00:00.250,1.5,\r\n2026/03/01 10:01:00,,2\r\n";
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    auto t = tigo::parse_csv(std::string_view(full).substr(0, cut), {}, "data/aggregate");
    if (t.ok()) {
      CHECK(t->accepted_rows <= 2);
    } else {
      CHECK(t.error().message.rfind("data/aggregate", 0) == 0);
    }
  }
  auto whole = parse_ok(full);
  CHECK(whole.column("1")->newest->value == Approx(1.5));
  CHECK(whole.column("2")->newest->value == Approx(2));
}

TEST_CASE("anomaly kind names are the metric's label values", "[tigo][csv]") {
  CHECK(tigo::to_string(tigo::CsvAnomaly::header_only) == "header_only");
  CHECK(tigo::to_string(tigo::CsvAnomaly::future_row) == "future_row");
  CHECK(tigo::to_string(tigo::CsvAnomaly::bad_row) == "bad_row");
  CHECK(tigo::to_string(tigo::CsvAnomaly::unknown_column) == "unknown_column");
}

TEST_CASE("newest cell time in UTC through the system's zone", "[tigo][csv]") {
  auto t = parse_ok("Datetime,1,2\n2026/07/01 12:07:00,5,\n");
  const auto* berlin = *tigo::find_zone("Europe/Berlin");
  const auto utc = tigo::newest_utc(*t.column("1"), berlin);
  REQUIRE(utc);
  CHECK(*utc == tigo::Timestamp{date::sys_days{date::year{2026} / 7 / 1}.time_since_epoch()} +
                    std::chrono::hours{10} + std::chrono::minutes{7});
  CHECK_FALSE(tigo::newest_utc(*t.column("2"), berlin).has_value());
}
