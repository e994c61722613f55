#include "tigo/json_parse.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <sstream>

#include "util/time.hpp"

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TIGO_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("login answer in the real API's shape (PyTigo's recording)") {
  auto login = tigo::parse_login(fixture("login.json"));
  REQUIRE(login.ok());
  CHECK(login->user_id == 31);
  CHECK(login->token == "fx-auth-7c41e9");
  CHECK(login->user_type == "Basic");
  CHECK(login->expires == util::parse_iso8601("2026-11-03T14:45:00Z"));
}

TEST_CASE("login without a token is an error") {
  auto login = tigo::parse_login(R"({"user":{"user_id":1,"auth":null}})");
  REQUIRE_FALSE(login.ok());
  CHECK(login.error().message.find("auth") != std::string::npos);
}

TEST_CASE("systems list with numbers as strings, nulls and extra fields") {
  auto page = tigo::parse_systems(fixture("systems.json"));
  REQUIRE(page.ok());
  REQUIRE(page->systems.size() == 1);
  const auto& s = page->systems[0];
  CHECK(s.system_id == 580317);
  CHECK(s.name == "Cedar Hollow Barn");
  CHECK(s.external_id.empty());
  CHECK(s.latitude == Approx(39.52));
  CHECK(s.longitude == Approx(-105.31));
  CHECK(s.timezone == "America/Denver");
  CHECK(s.power_rating_w == Approx(8400));
  CHECK(s.turn_on_date == util::parse_iso8601("2025-04-02"));
  CHECK_FALSE(page->meta.has_value());
}

TEST_CASE("systems paging envelope as the live API sends it") {
  auto page = tigo::parse_systems(
      R"({"systems":[{"system_id":1,"name":"A","zip":12345}],"_meta":{"totalCount":51,"pageCount":2,"currentPage":1,"perPage":50}})");
  REQUIRE(page.ok());
  REQUIRE(page->meta.has_value());
  CHECK(page->meta->page_count == 2);
  CHECK(page->meta->total_count == 51);
  CHECK(page->systems[0].zip == "12345");
}

TEST_CASE("summary in the real API's shape (PyTigo's recording)") {
  auto s = tigo::parse_summary(fixture("summary.json"));
  REQUIRE(s.ok());
  CHECK(s->lifetime_energy_wh == Approx(18234567.89));
  CHECK(s->ytd_energy_wh == Approx(412345.67));
  CHECK(s->daily_energy_wh == Approx(28750.5));
  CHECK(s->last_power_w == Approx(3));
  CHECK(s->updated_on == util::parse_iso8601("2026-01-19T00:45:00Z"));
}

TEST_CASE("summary with null fields keeps them missing, not zero") {
  auto s = tigo::parse_summary(R"({"summary":{"lifetime_energy_dc":"12.5","last_power_dc":null}})");
  REQUIRE(s.ok());
  CHECK(s->lifetime_energy_wh == Approx(12.5));
  CHECK_FALSE(s->last_power_w.has_value());
  CHECK_FALSE(s->daily_energy_wh.has_value());
}

TEST_CASE("the document's error body") {
  auto e = tigo::parse_error(fixture("error_401.json"));
  REQUIRE(e.ok());
  CHECK(e->status == 401);
  CHECK(e->name == "Unauthorized");
  CHECK(e->message == "Your request was made with invalid credentials.");
  CHECK(e->code == 0);
}

TEST_CASE("malformed answers fail with a message naming the endpoint") {
  for (const char* bad : {"", "{", "[]", "{\"summary\":[]}", "<html>502</html>", "{\"summary\":"}) {
    INFO(bad);
    auto s = tigo::parse_summary(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.rfind("data/summary", 0) == 0);
  }
  auto sys = tigo::parse_systems(R"({"systems":[{"name":"no id"}]})");
  REQUIRE_FALSE(sys.ok());
  CHECK(sys.error().message.find("system_id") != std::string::npos);
}

TEST_CASE("login answer as Tigo support published it, user_id 00000 is not JSON", "[tigo][json]") {
  const auto text = fixture("login_leading_zero_id.txt");
  auto strict = tigo::parse_login(text);
  // simdjson refuses the leading zeros: an error, not a crash and not a silent 0.
  REQUIRE_FALSE(strict.ok());
  CHECK(strict.error().message.rfind("users/login", 0) == 0);
  // The same answer with a valid id has all six keys.
  std::string fixed = text;
  fixed.replace(fixed.find("00000"), 5, "12345");
  auto login = tigo::parse_login(fixed);
  REQUIRE(login.ok());
  CHECK(login->user_id == 12345);
  CHECK(login->user_type == "Installer");
  CHECK(login->user_agreement == true);
  CHECK(login->refresh_token.rfind("F-54EC3ED4", 0) == 0);
  CHECK(login->expires == util::parse_iso8601("2026-05-20T16:30:12Z"));
}

TEST_CASE("users/get keeps only user_id, user_type and company", "[tigo][json]") {
  auto u = tigo::parse_user(fixture("user.json"));
  REQUIRE(u.ok());
  CHECK(u->user_id == 31);
  CHECK(u->user_type == "Basic");
  CHECK(u->company == "Cedar Hollow Energy Co-op");
  // The document's example: zip as a string, id as an int.
  auto doc = tigo::parse_user(
      R"({"user":{"user_id":1,"login":"1","first_name":"John","email":"123@123.123","company":"Tigo","zip":"123456","user_type":"Basic"}})");
  REQUIRE(doc.ok());
  CHECK(doc->company == "Tigo");
  auto nulls = tigo::parse_user(R"({"user":{"user_id":"9","company":null}})");
  REQUIRE(nulls.ok());
  CHECK(nulls->user_id == 9);
  CHECK(nulls->company.empty());
  CHECK_FALSE(tigo::parse_user(R"({"users":{}})").ok());
}

TEST_CASE("systems/view of the document", "[tigo][json]") {
  auto s = tigo::parse_system_view(R"({"system":{
    "created": "2014-05-16T20:50:45+00:00", "city": "PO 123", "company": "One Cool Dude",
    "contact_name": "John Smith", "country": "United States", "external_id": "test",
    "system_id": 1, "latitude": 12.3456789, "longitude": 12.3456789, "name": "Test System",
    "power_rating": 12000, "state": "Faker City", "street": "123 Fake Street", "zip": "12345",
    "turn_on_date": "2017-01-01", "timezone": "America/Los_Angeles"}})");
  REQUIRE(s.ok());
  CHECK(s->system_id == 1);
  CHECK(s->name == "Test System");
  CHECK(s->external_id == "test");
  CHECK(s->latitude == Approx(12.3456789));
  CHECK(s->power_rating_w == Approx(12000));
  CHECK(s->created == util::parse_iso8601("2014-05-16T20:50:45Z"));
  CHECK(s->turn_on_date == util::parse_iso8601("2017-01-01T00:00:00Z"));
  CHECK(s->timezone == "America/Los_Angeles");
  auto no_id = tigo::parse_system_view(R"({"system":{"name":"x"}})");
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.error().message.rfind("systems/view", 0) == 0);
}

TEST_CASE("systems/layout in the real API's shape (PyTigo's recording)", "[tigo][json]") {
  auto l = tigo::parse_layout(fixture("layout.json"));
  REQUIRE(l.ok());
  CHECK(l->system_id == 580317);
  REQUIRE(l->inverters.size() == 1);
  const auto& inv = l->inverters[0];
  CHECK(inv.inverter_id == 3);
  CHECK(inv.label == "Barn Inverter");
  CHECK(inv.object_id == 40);
  CHECK(inv.serial == "INV-CH-0193");
  REQUIRE(inv.mppts.size() == 1);
  CHECK(inv.mppts[0].label == "MPPT 2");
  REQUIRE(inv.mppts[0].strings.size() == 1);
  const auto& str = inv.mppts[0].strings[0];
  CHECK(str.label == "String B");
  CHECK(str.short_label == "B");
  CHECK(str.object_id == 41);
  REQUIRE(str.panels.size() == 1);
  const auto& p = str.panels[0];
  CHECK(p.label == "B3");
  CHECK(p.short_label == "3");  // a number in the answer
  CHECK(p.serial == "OPT-B3-7731");
  CHECK(p.type == "TS4-A-2F-400W");
  CHECK(p.object_id == 42);
  CHECK(p.panel_type_id == 14);
}

TEST_CASE("systems/layout of the document and with missing levels", "[tigo][json]") {
  auto doc = tigo::parse_layout(R"({"system":{"system_id":1,"inverters":[{"inverter_id":1,
    "inverter_type_id":1,"label":"Inverter 1","object_id":1,"inverter_serial":"ABC","mppts":[{
    "mppt_id":1,"label":"MPPT 1","strings":[{"string_id":1,"label":"String A","short_label":"A",
    "object_id":2,"panels":[{"panel_id":1,"label":"A1","short_label":1,"serial":"04C05B8001234",
    "type":"TS4'S","source_id":1,"object_id":3,"panel_type_id":1}]}]}]}]}})");
  REQUIRE(doc.ok());
  CHECK(doc->inverters[0].serial == "ABC");
  CHECK(doc->inverters[0].mppts[0].strings[0].panels[0].type == "TS4'S");
  auto sparse = tigo::parse_layout(
      R"({"system":{"system_id":"5","inverters":[{"label":"I","mppts":null},7,{"mppts":[{"strings":[{"panels":[{"label":"B2","object_id":null}]}]}]}]}})");
  REQUIRE(sparse.ok());
  CHECK(sparse->system_id == 5);
  REQUIRE(sparse->inverters.size() == 2);  // the 7 is skipped
  CHECK(sparse->inverters[0].mppts.empty());
  CHECK(sparse->inverters[1].mppts[0].strings[0].panels[0].label == "B2");
  CHECK(sparse->inverters[1].mppts[0].strings[0].panels[0].object_id == 0);
  auto empty = tigo::parse_layout(R"({"system":{"system_id":5}})");
  REQUIRE(empty.ok());
  CHECK(empty->inverters.empty());
  CHECK_FALSE(tigo::parse_layout(R"({"inverters":[]})").ok());
}

TEST_CASE("systems/layout without an inverter level: the strings off the system are read",
          "[tigo][json]") {
  // As the simulator answers one system in four: "inverters":[] and the strings on the system.
  auto l = tigo::parse_layout(R"({"system":{"system_id":9,"inverters":[],"strings":[
    {"string_id":3,"label":"String A","object_id":2,"panels":[{"panel_id":1,"label":"A1",
    "serial":"04C05B3B5F40","type":"TS4-A-O","object_id":5}]}]}})");
  REQUIRE(l.ok());
  REQUIRE(l->inverters.size() == 1);
  CHECK(l->inverters[0].label.empty());
  REQUIRE(l->inverters[0].mppts.size() == 1);
  CHECK(l->inverters[0].mppts[0].label.empty());
  const auto& p = l->inverters[0].mppts[0].strings.at(0).panels.at(0);
  CHECK(p.serial == "04C05B3B5F40");
  CHECK(p.type == "TS4-A-O");
  CHECK(l->inverters[0].mppts[0].strings[0].label == "String A");
}

TEST_CASE("objects/system flattened, with nulls, in order", "[tigo][json]") {
  auto o = tigo::parse_objects(fixture("objects.json"));
  REQUIRE(o.ok());
  REQUIRE(o->size() == 2);
  CHECK((*o)[0].id == 70);
  CHECK((*o)[0].parent_id == -1);
  CHECK((*o)[0].object_type_id == tigo::object_type::kSystem);
  CHECK((*o)[0].datasource.empty());
  CHECK((*o)[0].children == std::vector<std::int64_t>{71});
  CHECK((*o)[1].label == "B3");
  CHECK((*o)[1].parent_id == 70);
  CHECK((*o)[1].datasource == "04C05B9D3A10.panels.B3");
  CHECK((*o)[1].children.empty());
  // ui: positions and rating for the panel map; OP kept as sent.
  REQUIRE((*o)[1].ui.has_value());
  CHECK((*o)[1].ui->x == 170);
  CHECK((*o)[1].ui->y == 135);
  CHECK((*o)[1].ui->mp == 400);
  CHECK((*o)[1].ui->op == 1);
  CHECK_FALSE((*o)[1].ui->x1.has_value());
  CHECK((*o)[0].ui->mp == 8400);
  auto doc = tigo::parse_objects(R"({"objects":[
    {"id":1,"label":"System","object_type_id":1,"parent_id":-1,"datasource":null,"children":[2,5],"ui":{"X":100}},
    {"id":"2","label":"String A","object_type_id":"3","parent_id":1,"children":["3"]},
    {"id":3,"label":"A1","object_type_id":2,"parent_id":2,"datasource":"04C05B800ACE.panels.A1","children":[]}]})");
  REQUIRE(doc.ok());
  CHECK((*doc)[0].children == std::vector<std::int64_t>{2, 5});
  CHECK((*doc)[1].id == 2);
  CHECK((*doc)[1].object_type_id == 3);
  CHECK((*doc)[1].children == std::vector<std::int64_t>{3});
  CHECK((*doc)[2].datasource == "04C05B800ACE.panels.A1");
  CHECK((*doc)[0].ui->x == 100);
  CHECK_FALSE((*doc)[0].ui->y.has_value());
  CHECK_FALSE((*doc)[1].ui.has_value());
  auto segments = tigo::parse_objects(
      R"({"objects":[{"id":9,"ui":{"X1":"10","Y1":20.5,"X2":null,"Y2":40,"R":90,"Z":1.5,"X":"x"}}]})");
  REQUIRE(segments.ok());
  const auto& su = *(*segments)[0].ui;
  CHECK(su.x1 == 10);
  CHECK(su.y1 == 20.5);
  CHECK_FALSE(su.x2.has_value());
  CHECK(su.y2 == 40);
  CHECK(su.rotation == 90);
  CHECK(su.zoom == 1.5);
  CHECK_FALSE(su.x.has_value());
  auto no_id = tigo::parse_objects(R"({"objects":[{"id":1},{"label":"x"}]})");
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.error().message == "objects/system: entry 1 of \"objects\" has no valid id");
  CHECK_FALSE(tigo::parse_objects(R"({"objects":[1,2]})").ok());
}

TEST_CASE("objects/types", "[tigo][json]") {
  auto t = tigo::parse_object_types(fixture("object_types.json"));
  REQUIRE(t.ok());
  REQUIRE(t->size() == 2);
  CHECK((*t)[1].object_type_id == 2);
  CHECK((*t)[1].label == "Panel");
  CHECK_FALSE(tigo::parse_object_types(R"({"object_types":[{"label":"x"}]})").ok());
}

TEST_CASE("sources/system in the real API's shape and the live probe's subset", "[tigo][json]") {
  auto s = tigo::parse_sources(fixture("sources.json"));
  REQUIRE(s.ok());
  REQUIRE(s->size() == 1);
  const auto& g = (*s)[0];
  CHECK(g.source_id == 61);
  CHECK(g.name == "Barn CCA");
  CHECK(g.serial == "04C05B9D3A10");
  CHECK(g.gateway_count == 2);
  CHECK(g.control_state == "on");
  CHECK(g.timezone == "America/Denver");
  CHECK(g.sw_version == "ffs-2.6.1-image.img");
  CHECK(g.system_id == 580317);
  CHECK(g.object_id == 72);
  CHECK(g.last_checkin == util::parse_iso8601("2026-01-19T00:47:31Z"));
  CHECK(g.created_on == util::parse_iso8601("2025-03-11T17:40:52Z"));
  REQUIRE(g.sets.size() == 1);
  CHECK(g.sets[0].name == "panels_avg");
  CHECK(g.sets[0].last_min == util::parse_iso8601("2026-01-19T00:46:00Z"));
  CHECK(g.sets[0].last_day == util::parse_iso8601("2026-01-17T08:00:00Z"));
  CHECK(g.sets[0].last_raw == util::parse_iso8601("2026-01-12T17:05:00Z"));

  auto probe = tigo::parse_sources(fixture("sources_subset.json"));
  REQUIRE(probe.ok());
  REQUIRE(probe->size() == 1);
  CHECK((*probe)[0].source_id == 0);
  CHECK((*probe)[0].sw_version == "RandevuConfig_04C05B9D3A10.img");
  CHECK((*probe)[0].sets.empty());
  // control_state as the document's table types it (an integer) becomes text.
  auto numeric = tigo::parse_sources(
      R"({"sources":[{"source_id":1,"control_state":0,"sets":[{"key":"Wattnode","last_min":null}]}]})");
  REQUIRE(numeric.ok());
  CHECK((*numeric)[0].control_state == "0");
  CHECK((*numeric)[0].sets[0].name == "Wattnode");
  CHECK_FALSE((*numeric)[0].sets[0].last_min.has_value());
}

TEST_CASE("alerts/system fixtures and paging", "[tigo][json]") {
  auto a = tigo::parse_alerts(fixture("alerts.json"));
  REQUIRE(a.ok());
  REQUIRE(a->alerts.size() == 1);
  const auto& x = a->alerts[0];
  CHECK(x.alert_id == 9051);
  CHECK(x.unique_id == 210);
  CHECK(x.system_id == 580317);
  CHECK(x.title == "Tigo Alert: Module Not Reporting");
  CHECK(x.message == "Module B3 stopped reporting");
  CHECK(x.generated == util::parse_iso8601("2025-10-14T18:30:05Z"));
  CHECK(x.added == util::parse_iso8601("2025-10-14T18:32:47Z"));
  CHECK_FALSE(x.archived.has_value());
  CHECK_FALSE(a->meta.has_value());

  auto empty = tigo::parse_alerts(fixture("alerts_empty_page.json"));
  REQUIRE(empty.ok());
  CHECK(empty->alerts.empty());
  REQUIRE(empty->meta.has_value());
  CHECK(empty->meta->page_count == 0);
  CHECK(empty->meta->per_page == 50);

  auto archived = tigo::parse_alerts(
      R"({"alerts":[{"alert_id":"3","archived":true},{"archived":0},{"archived":"2020-01-01T00:00:00Z"},{"archived":null}]})");
  REQUIRE(archived.ok());
  CHECK(archived->alerts[0].alert_id == 3);
  CHECK(archived->alerts[0].archived == true);
  CHECK(archived->alerts[1].archived == false);
  CHECK(archived->alerts[2].archived == true);
  CHECK_FALSE(archived->alerts[3].archived.has_value());
}

TEST_CASE("alerts/types fixtures", "[tigo][json]") {
  auto t = tigo::parse_alert_types(fixture("alert_types.json"));
  REQUIRE(t.ok());
  REQUIRE(t->size() == 1);
  CHECK((*t)[0].alert_type_id == 8);
  CHECK((*t)[0].unique_id == 102);
  CHECK((*t)[0].title == "Cloud Connect Not Reporting");
  auto probe = tigo::parse_alert_types(fixture("alert_types_no_description.json"));
  REQUIRE(probe.ok());
  CHECK((*probe)[0].unique_id == 301);
  CHECK((*probe)[0].description.empty());
}

TEST_CASE("every parser turns garbage into an error naming its endpoint", "[tigo][json]") {
  using P = std::function<std::string(std::string_view)>;
  auto msg = [](auto r) { return r.ok() ? std::string("ok") : r.error().message; };
  const std::vector<std::pair<std::string, P>> parsers = {
      {"users/login", [&](std::string_view b) { return msg(tigo::parse_login(b)); }},
      {"users/get", [&](std::string_view b) { return msg(tigo::parse_user(b)); }},
      {"systems", [&](std::string_view b) { return msg(tigo::parse_systems(b)); }},
      {"systems/view", [&](std::string_view b) { return msg(tigo::parse_system_view(b)); }},
      {"systems/layout", [&](std::string_view b) { return msg(tigo::parse_layout(b)); }},
      {"objects/system", [&](std::string_view b) { return msg(tigo::parse_objects(b)); }},
      {"objects/types", [&](std::string_view b) { return msg(tigo::parse_object_types(b)); }},
      {"sources/system", [&](std::string_view b) { return msg(tigo::parse_sources(b)); }},
      {"alerts/system", [&](std::string_view b) { return msg(tigo::parse_alerts(b)); }},
      {"alerts/types", [&](std::string_view b) { return msg(tigo::parse_alert_types(b)); }},
      {"data/summary", [&](std::string_view b) { return msg(tigo::parse_summary(b)); }},
  };
  const std::string deep(100'000, '[');
  for (const auto& [name, parse] : parsers) {
    for (std::string_view bad :
         {std::string_view(""), std::string_view("{"), std::string_view("[]"),
          std::string_view("null"), std::string_view("<html>502 Bad Gateway</html>"),
          std::string_view("{\"x\":1}"), std::string_view("{\"a\":\"\xff\xfe\"}"),
          std::string_view(deep)}) {
      INFO(name << " <- " << bad.substr(0, 40));
      const auto m = parse(bad);
      CHECK(m.rfind(name + ": ", 0) == 0);
    }
  }
}

TEST_CASE("truncated answers are errors at every cut", "[tigo][json]") {
  const auto full = fixture("layout.json");
  for (std::size_t cut = 0; cut + 2 < full.size(); ++cut) {
    auto r = tigo::parse_layout(std::string_view(full).substr(0, cut));
    if (r.ok()) FAIL("a cut at " << cut << " parsed");
  }
  CHECK(tigo::parse_layout(full).ok());
}
