// The status page, panel maps and their JSON, drawn from hand-built snapshots: panel states,
// escaping of hostile names in every context, the grid fallback, and the page size of a large
// fleet.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "pages/escape.hpp"
#include "pages/panel_map.hpp"
#include "pages/router.hpp"
#include "pages/status.hpp"
#include "pages/view.hpp"

using namespace std::chrono_literals;

namespace {

const pages::Timestamp kNow = std::chrono::sys_days{std::chrono::year{2026} / 6 / 21} + 14h;
const std::string kHostileSystem = "<script>alert(1)</script> \"Barn\" \\ \xE2\x98\x80";
const std::string kHostilePanel = "\"Barn\" \\ \xE2\x98\x80</title><script>x()</script>";

refresh::Panel panel(std::int64_t id, std::string label, std::string string,
                     std::optional<double> pin, pages::Timestamp sample = kNow - 15min) {
  refresh::Panel p;
  p.object_id = id;
  p.label = std::move(label);
  p.string = std::move(string);
  p.inverter = "Inverter 1";
  if (pin) {
    p.readings[tigo::PanelParam::power] = refresh::Reading{*pin, sample};
    p.readings[tigo::PanelParam::voltage] = refresh::Reading{34.2, sample};
    p.readings[tigo::PanelParam::current] = refresh::Reading{*pin / 34.2, sample};
    p.readings[tigo::PanelParam::rssi] = refresh::Reading{180, sample};
    p.reporting = true;
  }
  return p;
}

// Two strings of four: A3 shaded (30 %), A4 dead (no reading), B2 a little low (70 %).
refresh::SystemEntry system_entry(std::int64_t id, std::string name, bool with_ui = true) {
  refresh::SystemEntry e;
  e.system.system_id = id;
  e.system.name = std::move(name);
  e.system.city = "Athens";
  std::int64_t oid = id * 100;
  const double a[] = {300, 310, 92, -1}, b[] = {305, 214, 300, 298};
  for (int i = 0; i < 4; ++i) {
    e.panels.push_back(panel(++oid, "A" + std::to_string(i + 1), "String A",
                             a[i] < 0 ? std::nullopt : std::optional(a[i])));
  }
  for (int i = 0; i < 4; ++i)
    e.panels.push_back(panel(++oid, "B" + std::to_string(i + 1), "String B", b[i]));
  for (std::size_t i = 0; i < e.panels.size(); ++i) {
    refresh::ObjectInfo o;
    o.object_id = e.panels[i].object_id;
    o.object_type = "Panel";
    o.label = e.panels[i].label;
    if (with_ui)
      o.ui = tigo::ObjectUi{100.0 + 60 * static_cast<double>(i % 4),
                            100.0 + 120 * static_cast<double>(i / 4),
                            400.0,
                            1.0,
                            {},
                            {},
                            {},
                            {},
                            {},
                            {}};
    e.objects.push_back(o);
  }
  refresh::Gateway g;
  g.name = "CCA";
  g.control_state = "on";
  g.last_checkin = kNow - 2min;
  e.gateways.push_back(g);
  for (auto& st : e.states) {
    st.attempted = true;
    st.success = true;
    st.last_success = kNow - 1min;
  }
  return e;
}

refresh::Snapshot snap_of(refresh::SystemEntry e) {
  refresh::Snapshot snap;
  snap.systems.push_back(std::move(e));
  return snap;
}

const pages::PanelView& by_label(const pages::SystemView& v, const std::string& label) {
  for (const auto& p : v.panels)
    if (p.panel->label == label) return p;
  FAIL("no panel " << label);
  return v.panels.front();
}

// Every start tag carrying data-object-id, as its attribute text.
std::vector<std::string> panel_tags(const std::string& html) {
  std::vector<std::string> out;
  static const std::regex tag("<g [^>]*data-object-id=\"[0-9]+\"[^>]*>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it)
    out.push_back(it->str());
  return out;
}

std::string attr(const std::string& tag, const std::string& name) {
  const auto at = tag.find(" " + name + "=\"");
  if (at == std::string::npos) return {};
  const auto start = at + name.size() + 3;
  return tag.substr(start, tag.find('"', start) - start);
}

}  // namespace

TEST_CASE("escaping for HTML and JSON", "[pages]") {
  CHECK(pages::html_escape(kHostileSystem) ==
        "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Barn&quot; \\ \xE2\x98\x80");
  CHECK(pages::html_escape("it's & <b>") == "it&#39;s &amp; &lt;b&gt;");
  CHECK(pages::json_string(kHostileSystem) ==
        "\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e \\\"Barn\\\" \\\\ \xE2\x98\x80\"");
  CHECK(pages::json_string("a\nb\t\x01&") == "\"a\\nb\\t\\u0001\\u0026\"");
  // Line separators end a JavaScript line; invalid UTF-8 becomes U+FFFD.
  CHECK(pages::json_string("x\xE2\x80\xA8y\xE2\x80\xA9") == "\"x\\u2028y\\u2029\"");
  CHECK(pages::json_string("bad \xC3\x28 \xFF end") == "\"bad \\ufffd( \\ufffd end\"");
  CHECK(pages::json_string("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(pages::json_string(kHostileSystem)).get(doc) == simdjson::SUCCESS);
  CHECK(std::string(doc.get_string().value()) == kHostileSystem);
}

TEST_CASE("panel states against the string's median, dead, PV-Off, dark, no data", "[pages]") {
  auto e = system_entry(1001, "Barn");
  auto v = pages::view_system(e, kNow);
  REQUIRE(v.panels.size() == 8);
  REQUIRE(v.groups.size() == 2);
  // String A's median is over its three reporting panels: 300, 310, 92 -> 300.
  CHECK(v.groups[0].median_w == 300);
  CHECK(by_label(v, "A1").state == pages::PanelState::ok);
  CHECK(by_label(v, "A3").state == pages::PanelState::very_low);
  CHECK(by_label(v, "A3").ratio.value() == Approx(92.0 / 300));
  CHECK(by_label(v, "A4").state == pages::PanelState::dead);
  CHECK(by_label(v, "B2").state == pages::PanelState::low);
  CHECK(by_label(v, "B1").state == pages::PanelState::ok);
  CHECK(by_label(v, "B1").rating_w == 400);
  CHECK(by_label(v, "B1").age == std::chrono::seconds{15min});
  CHECK_FALSE(by_label(v, "B1").stale);
  CHECK(v.reporting == 7);
  CHECK(v.positioned);
  CHECK_FALSE(v.stale);
  CHECK_FALSE(v.pv_off());
  CHECK(v.power_w.value() == Approx(300 + 310 + 92 + 305 + 214 + 300 + 298));

  SECTION("a panel hours behind the others is dead too") {
    e.panels[0].reporting = false;
    e.panels[0].readings[tigo::PanelParam::power]->sample = kNow - 5h;
    v = pages::view_system(e, kNow);
    CHECK(by_label(v, "A1").state == pages::PanelState::dead);
    CHECK(by_label(v, "A1").stale);
  }
  SECTION("PV-Off marks every panel") {
    e.gateways[0].control_state = "off";
    v = pages::view_system(e, kNow);
    CHECK(v.pv_off_gateway == "CCA");
    for (const auto& p : v.panels) CHECK(p.state == pages::PanelState::pv_off);
  }
  SECTION("a string that produces nothing is dark, not low") {
    for (auto& p : e.panels)
      if (p.readings[tigo::PanelParam::power]) p.readings[tigo::PanelParam::power]->value = 0.5;
    v = pages::view_system(e, kNow);
    CHECK(by_label(v, "A1").state == pages::PanelState::dark);
    CHECK(by_label(v, "A4").state == pages::PanelState::dead);
  }
  SECTION("old readings: stale, and whether the gateway still checks in") {
    v = pages::view_system(e, kNow + 3h);
    CHECK(v.stale);
    CHECK(v.gateway_silent);
    CHECK(by_label(v, "A1").stale);
    const auto map = pages::panel_map_html(snap_of(e), e.system.system_id, kNow + 3h, {});
    CHECK(map->find("The gateway last checked in 3.0 h ago (2026-06-21T13:58:00Z): it has stopped "
                    "reporting.") != std::string::npos);
    e.gateways[0].last_checkin = kNow + 3h - 1min;
    v = pages::view_system(e, kNow + 3h);
    CHECK(v.stale);
    CHECK_FALSE(v.gateway_silent);
    e.gateways.clear();  // no check-in known: nothing to call silent
    CHECK_FALSE(pages::view_system(e, kNow + 3h).gateway_silent);
  }
  SECTION("no readings at all: no data, not dead") {
    for (auto& p : e.panels) p = panel(p.object_id, p.label, p.string, std::nullopt);
    v = pages::view_system(e, kNow);
    for (const auto& p : v.panels) CHECK(p.state == pages::PanelState::no_data);
    CHECK(v.reporting == 0);
    CHECK_FALSE(v.newest_sample);
  }
}

TEST_CASE("panel map: every panel an element with its object id, state and escaped names",
          "[pages]") {
  refresh::Snapshot snap;
  snap.generation = 7;
  snap.built_at = kNow - 10s;
  snap.systems.push_back(system_entry(1001, kHostileSystem));
  snap.systems[0].panels[1].label = kHostilePanel;
  const pages::MapOptions options{{}, 30, "tigo_exporter test"};
  const auto html = pages::panel_map_html(snap, 1001, kNow, options);
  REQUIRE(html);
  CHECK_FALSE(pages::panel_map_html(snap, 1002, kNow, options));
  // No hostile text survives as markup; the escaped forms are there.
  CHECK(html->find("<script>alert") == std::string::npos);
  CHECK(html->find("<script>x()") == std::string::npos);
  CHECK(html->find("</title><script>") == std::string::npos);
  CHECK(html->find("&lt;script&gt;alert(1)&lt;/script&gt; &quot;Barn&quot; \\ \xE2\x98\x80") !=
        std::string::npos);
  // The only scripts are the page's own file; no resource from elsewhere.
  CHECK(std::regex_search(*html, std::regex("<script defer src=\"\\.\\./static/map\\.js\">")));
  CHECK_FALSE(std::regex_search(*html, std::regex("(src|href)=\"(https?:)?//")));

  const auto tags = panel_tags(*html);
  REQUIRE(tags.size() == 8);
  std::map<std::string, std::string> state_of;
  for (const auto& t : tags) state_of[attr(t, "data-object-id")] = attr(t, "data-state");
  CHECK(state_of["100101"] == "ok");
  CHECK(state_of["100103"] == "very-low");
  CHECK(state_of["100104"] == "dead");
  CHECK(state_of["100106"] == "low");
  CHECK(attr(tags[1], "data-label") ==
        "&quot;Barn&quot; \\ \xE2\x98\x80&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;");
  CHECK(html->find("data-layout=\"positions\"") != std::string::npos);
  CHECK(html->find("1 panel not reporting: A4") != std::string::npos);
  // The table for readers without scripts: one row per panel.
  CHECK(std::regex_search(*html, std::regex("<tr data-row-id=\"100104\" data-state=\"dead\">")));

  // The JSON: valid, names round-trip exactly, states as on the page.
  const auto json = pages::panel_map_json(snap, 1001, kNow, options);
  REQUIRE(json);
  CHECK(json->find('<') == std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(*json).get(doc) == simdjson::SUCCESS);
  CHECK(std::string(doc["name"].get_string().value()) == kHostileSystem);
  CHECK(doc["generation"].get_int64().value() == 7);
  auto panels = doc["panels"].get_array().value();
  REQUIRE(panels.size() == 8);
  CHECK(std::string(panels.at(1)["label"].get_string().value()) == kHostilePanel);
  CHECK(std::string(panels.at(2)["state"].get_string().value()) == "very-low");
  CHECK(panels.at(3)["pin"].is_null());
  CHECK(panels.at(0)["pin"].get_double().value() == 300);
  CHECK(std::string(panels.at(0)["cells"].at(0).get_string().value()) == "ok");
  const std::string tip(panels.at(2)["tip"].get_string().value());
  CHECK(tip.find("A3 \u2014 string String A, inverter Inverter 1") == 0);
  CHECK(tip.find("Pin 92 W, 31 % of string median 300 W, 23 % of 400 W rating") !=
        std::string::npos);
  CHECK(tip.find("sample 2026-06-21T13:45:00Z (15 min ago)") != std::string::npos);
}

TEST_CASE("panel map without ui positions: a grid by string", "[pages]") {
  refresh::Snapshot snap;
  snap.systems.push_back(system_entry(7, "No UI", false));
  const auto html = pages::panel_map_html(snap, 7, kNow, {});
  REQUIRE(html);
  CHECK(html->find("data-layout=\"grid\"") != std::string::npos);
  const auto tags = panel_tags(*html);
  REQUIRE(tags.size() == 8);
  // A row per string: A1 and B1 share x, differ in y.
  CHECK(attr(tags[0], "transform") == "translate(20.0 32.0)");
  CHECK(attr(tags[4], "transform") == "translate(20.0 130.0)");
  CHECK(attr(tags[1], "transform") == "translate(66.0 32.0)");
}

TEST_CASE("panel map: rotation, zoom, landscape and line segments from the ui", "[pages]") {
  auto e = system_entry(9, "Roof");
  e.objects[0].ui->rotation = 90;
  e.objects[1].ui->zoom = 2;
  e.objects[2].ui->op = 0;  // landscape: wider than tall
  refresh::ObjectInfo wire;
  wire.object_id = 5;
  wire.object_type = "String";
  wire.ui = tigo::ObjectUi{{}, {}, {}, {}, 70.0, 80.0, 300.0, 80.0, {}, {}};
  e.objects.push_back(wire);
  const auto html = *pages::panel_map_html(snap_of(e), 9, kNow, {});
  const auto tags = panel_tags(html);
  REQUIRE(tags.size() == 8);
  CHECK(attr(tags[0], "transform") == "translate(100.0 100.0) rotate(90.0)");
  CHECK(attr(tags[3], "transform") == "translate(280.0 100.0)");
  CHECK(html.find(R"(<line class="segment" x1="70.0" y1="80.0" x2="300.0" y2="80.0"/>)") !=
        std::string::npos);
  // Sizes: 81.6 tall (0.68 of the 120 between rows), so 51 wide (not 0.9 of the pitch of 60);
  // zoom 2 doubles;
  // landscape swaps the aspect.
  const auto body = [&](std::size_t i) {
    const auto at = html.find(R"(<rect class="pb")", html.find(tags[i]));
    return html.substr(at, html.find("/>", at) - at);
  };
  CHECK(body(3).find(R"(width="51.0" height="81.6")") != std::string::npos);
  CHECK(body(1).find(R"(width="102.0" height="163.2")") != std::string::npos);
  CHECK(body(2).find(R"(width="54.0" height="33.8")") != std::string::npos);
}

TEST_CASE("status page: fleet figures, failing datasets first, search, links", "[pages]") {
  refresh::Snapshot snap;
  snap.generation = 3;
  snap.built_at = kNow;
  snap.ready = true;
  snap.intervals[static_cast<std::size_t>(refresh::Dataset::panels)] = 600;
  snap.systems.push_back(system_entry(1001, "Athens School"));
  snap.systems.push_back(system_entry(1002, kHostileSystem));
  auto& failing = snap.systems[1].state(refresh::Dataset::panels);
  failing.success = false;
  failing.last_error = "data/aggregate: HTTP 503 <html>busy</html>";
  pages::StatusOptions o;
  o.version = "tigo_exporter test";
  o.session = "Login (password): failed at 2026-06-21T12:00:00Z: users/login: HTTP 401 <b>";
  snap.budget_plan = "100 requests a minute buy minute data every 10 min";
  snap.beyond_budget = true;
  const auto html = pages::status_html(snap, kNow, o);
  CHECK(html.find("<b>14 of 16</b>") != std::string::npos);  // panels reporting
  CHECK(html.find("panels every 10 min") != std::string::npos);
  CHECK(html.find("<p id=\"budget-plan\" class=\"muted\">100 requests a minute") !=
        std::string::npos);
  CHECK(html.find("more requests than the rate budget allows") != std::string::npos);
  CHECK(html.find("HTTP 503 &lt;html&gt;busy&lt;/html&gt;") != std::string::npos);
  CHECK(html.find("<p id=\"session\" class=\"muted\">Login (password): failed at "
                  "2026-06-21T12:00:00Z: users/login: HTTP 401 &lt;b&gt;</p>") !=
        std::string::npos);
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("href=\"./metrics\"") != std::string::npos);
  CHECK(html.find("href=\"./-/healthy\"") != std::string::npos);
  CHECK(html.find("href=\"./-/ready\"") != std::string::npos);
  // The failing system's row comes first, and every system links its map.
  const auto rows = html.find("<table id=\"systems\">");
  REQUIRE(rows != std::string::npos);
  CHECK(html.find("href=\"systems/1002\"", rows) < html.find("href=\"systems/1001\"", rows));
  CHECK(html.find("failing: panels") != std::string::npos);

  o.query = "athens SCHOOL";
  const auto filtered = pages::status_html(snap, kNow, o);
  CHECK(filtered.find("href=\"systems/1001\"") != std::string::npos);
  CHECK(filtered.find("href=\"systems/1002\"") == std::string::npos);
  CHECK(filtered.find("value=\"athens SCHOOL\"") != std::string::npos);
  o.query = "\"><script>";
  const auto hostile_query = pages::status_html(snap, kNow, o);
  CHECK(hostile_query.find("value=\"&quot;&gt;&lt;script&gt;\"") != std::string::npos);
}

TEST_CASE("status page of a 400-system fleet stays under 200 KB", "[pages]") {
  refresh::Snapshot snap;
  for (int i = 0; i < 400; ++i) {
    snap.systems.push_back(system_entry(1001 + i, "Sao Paulo Carport " + std::to_string(1001 + i)));
    snap.systems.back().system.country = "Brazil";
    snap.systems.back().system.state = "SP";
    // A tenth failing with a long error: listed first, at most 100 rows of them.
    if (i % 10 == 0) {
      auto& st = snap.systems.back().state(refresh::Dataset::summary);
      st.success = false;
      st.last_error = "data/summary: HTTP 500 " + std::string(400, 'x');
    }
  }
  const auto html = pages::status_html(snap, kNow, {});
  INFO("bytes: " << html.size());
  CHECK(html.size() < 200 * 1024);
  CHECK(panel_tags(html).empty());
  std::size_t links = 0;
  for (auto at = html.find("href=\"systems/"); at != std::string::npos;
       at = html.find("href=\"systems/", at + 1))
    ++links;
  CHECK(links == 400 + 40);  // each system's row, and each failing dataset's row
}

TEST_CASE("routes: pages, JSON, assets, not found", "[pages]") {
  refresh::Snapshot snap;
  snap.systems.push_back(system_entry(1001, "Barn"));
  const pages::Site site;
  auto a = pages::serve(snap, kNow, {"/", ""}, site);
  CHECK(a.status == 200);
  CHECK(a.content_type == "text/html; charset=utf-8");
  CHECK(pages::serve(snap, kNow, {"/systems/1001", ""}, site).status == 200);
  a = pages::serve(snap, kNow, {"/api/systems/1001", ""}, site);
  CHECK(a.status == 200);
  CHECK(a.content_type == "application/json");
  CHECK(pages::serve(snap, kNow, {"/systems/1002", ""}, site).status == 404);
  CHECK(pages::serve(snap, kNow, {"/systems/10x", ""}, site).status == 404);
  CHECK(pages::serve(snap, kNow, {"/systems/-1", ""}, site).status == 404);
  CHECK(pages::serve(snap, kNow, {"/api/systems/99999999999999999999", ""}, site).status == 404);
  for (const char* name : {"pages.css", "map.js", "status.js"}) {
    a = pages::serve(snap, kNow, {std::string("/static/") + name, ""}, site);
    CHECK(a.status == 200);
    CHECK(a.body.size() > 500);
  }
  CHECK(pages::serve(snap, kNow, {"/static/map.js", ""}, site).content_type ==
        "text/javascript; charset=utf-8");
  CHECK(pages::serve(snap, kNow, {"/static/../etc/passwd", ""}, site).status == 404);
  // The scripts write data as text only.
  const auto js = pages::serve(snap, kNow, {"/static/map.js", ""}, site).body;
  CHECK(js.find("innerHTML") == std::string::npos);
  CHECK(js.find("textContent") != std::string::npos);
}
