// Every endpoint's shape against the field tables of the API document (tigo-api-v3.txt).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include "sim/model.hpp"
#include "sim/responses.hpp"
#include "sim/topology.hpp"
#include "sim/uploads.hpp"
#include "sim_fixture.hpp"
#include "util/time.hpp"

using namespace simtest;
using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

struct Json {
  simdjson::dom::parser parser;
  element root;
  explicit Json(const std::string& body) {
    REQUIRE(parser.parse(body).get(root) == simdjson::SUCCESS);
  }
};

bool is_int(element e) {
  return e.type() == element_type::INT64 || e.type() == element_type::UINT64;
}
bool is_string(element e) { return e.type() == element_type::STRING; }
bool is_number_or_numeric_string(element e) {
  if (e.type() == element_type::DOUBLE || is_int(e)) return true;
  if (!is_string(e)) return false;
  const std::string s(e.get_string().value());
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0';
}
bool is_iso8601(element e) {
  if (!is_string(e)) return false;
  const std::string s(e.get_string().value());
  return s.size() >= 25 && s[4] == '-' && s[10] == 'T' &&
         (s[19] == '+' || s[19] == '-' || s[19] == '.');
}
element field(element obj, const char* key) {
  element e;
  INFO("field " << key);
  REQUIRE(obj[key].get(e) == simdjson::SUCCESS);
  return e;
}

}  // namespace

TEST_CASE("users get by path and by query, only the logged-in user", "[sim]") {
  RunningSim sim;
  for (const char* path : {"users/1", "users/get?id=1"}) {
    Json j(sim.ok(path));
    const auto u = field(j.root, "user");
    CHECK(field(u, "user_id").get_int64().value() == 1);
    for (const char* k : {"login", "first_name", "last_name", "email", "company", "street", "city",
                          "state", "zip", "country", "mobile", "user_type"})
      CHECK(is_string(field(u, k)));
    CHECK(field(u, "street2").is_null());
    CHECK(field(u, "avatar").is_null());
  }
  CHECK(sim.call("users/2").status == 403);
  CHECK(sim.call("users/get").status == 400);
  CHECK(sim.call("users/get?id=x").status == 400);
}

TEST_CASE("systems list fields as the document's table, sort and paging", "[sim]") {
  RunningSim sim({}, 5);
  Json j(sim.ok("systems?limit=2&page=2&sort=-system_id"));
  const auto list = field(j.root, "systems").get_array().value();
  REQUIRE(list.size() == 2);
  std::vector<std::int64_t> ids;
  for (element s : list) {
    ids.push_back(field(s, "system_id").get_int64().value());
    CHECK(is_iso8601(field(s, "created")));
    for (const char* k : {"name", "street", "city", "state", "zip", "country", "timezone"})
      CHECK(is_string(field(s, k)));
    CHECK(is_number_or_numeric_string(field(s, "latitude")));
    CHECK(is_number_or_numeric_string(field(s, "longitude")));
    CHECK(is_number_or_numeric_string(field(s, "power_rating")));
    const std::string turn_on(field(s, "turn_on_date").get_string().value());
    CHECK(turn_on.size() == 10);
    element ext = field(s, "external_id");
    CHECK((ext.is_null() || is_string(ext)));
  }
  CHECK(ids == std::vector<std::int64_t>{1003, 1002});
  const auto meta = field(j.root, "_meta");
  CHECK(field(meta, "totalCount").get_int64().value() == 5);
  CHECK(field(meta, "pageCount").get_int64().value() == 3);
  CHECK(field(meta, "currentPage").get_int64().value() == 2);
  CHECK(field(meta, "perPage").get_int64().value() == 2);
  for (const char* bad : {"systems?sort=nope", "systems?sort=-", "systems?sort=--name"}) {
    const auto res = sim.call(bad);
    CHECK(res.status == 400);
    CHECK(res.body.find("sort") != std::string::npos);
  }
  CHECK(sim.call("systems?limit=0").status == 400);
}

namespace {

// The system ids of every page of the systems list, `limit` a page.
std::vector<std::int64_t> all_pages(RunningSim& sim, const std::string& sort, int limit) {
  std::vector<std::int64_t> ids;
  for (int page = 1;; ++page) {
    Json j(sim.ok("systems?sort=" + sort + "&limit=" + std::to_string(limit) +
                  "&page=" + std::to_string(page)));
    const auto list = field(j.root, "systems").get_array().value();
    for (element s : list) ids.push_back(field(s, "system_id").get_int64().value());
    if (page >= field(field(j.root, "_meta"), "pageCount").get_int64().value()) break;
  }
  return ids;
}

}  // namespace

TEST_CASE("systems list sorts on its fields, a leading minus descending, pages intact", "[sim]") {
  RunningSim sim({}, 12);
  // Numbers compare as numbers, text as bytes.
  using Key = std::function<std::pair<double, std::string>(const sim::SystemSpec&)>;
  auto number = [](double v) { return std::pair<double, std::string>{v, ""}; };
  auto text = [](std::string v) { return std::pair<double, std::string>{0, std::move(v)}; };
  const std::vector<std::pair<std::string, Key>> fields = {
      {"system_id", [&](const sim::SystemSpec& s) { return number(double(s.system_id)); }},
      {"name", [&](const sim::SystemSpec& s) { return text(s.name); }},
      {"city", [&](const sim::SystemSpec& s) { return text(s.city); }},
      {"timezone", [&](const sim::SystemSpec& s) { return text(s.timezone); }},
      {"latitude", [&](const sim::SystemSpec& s) { return number(s.latitude); }},
      {"power_rating", [&](const sim::SystemSpec& s) { return number(sim::power_rating_w(s)); }},
      {"created",
       [&](const sim::SystemSpec& s) { return text(util::format_iso8601_utc(s.created)); }},
      {"turn_on_date",
       [&](const sim::SystemSpec& s) { return text(date::format("%F", s.turn_on)); }}};
  for (const auto& [name, key] : fields) {
    INFO("sort " << name);
    const auto up = all_pages(sim, name, 5);
    REQUIRE(up.size() == 12);
    CHECK(std::set<std::int64_t>(up.begin(), up.end()).size() == 12);
    for (std::size_t i = 1; i < up.size(); ++i) {
      const auto a = sim.fleet.system(*sim.fleet.index_of(up[i - 1]));
      const auto b = sim.fleet.system(*sim.fleet.index_of(up[i]));
      CHECK(key(a) <= key(b));
      if (key(a) == key(b)) CHECK(a.system_id < b.system_id);  // ties in system_id order
    }
    auto down = all_pages(sim, "-" + name, 7);
    std::reverse(down.begin(), down.end());
    CHECK(down == up);
    CHECK(all_pages(sim, name, 1000) == up);
  }
  // An account that sees some systems sorts those alone.
  sim::ServerOptions o;
  o.accounts = *sim::parse_accounts("demo:demo:systems=1004+1002+1007+1002");
  RunningSim some(o, 12);
  const auto names = all_pages(some, "-name", 2);
  REQUIRE(names.size() == 3);
  for (std::size_t i = 1; i < names.size(); ++i)
    CHECK(some.fleet.system(*some.fleet.index_of(names[i - 1])).name >=
          some.fleet.system(*some.fleet.index_of(names[i])).name);
}

TEST_CASE("systems list sorted by name over 10,000 lazily generated systems", "[sim]") {
  RunningSim sim({}, 10000, at_utc(2026, 6, 21, 18), 2);
  const auto t0 = steady_clock::now();
  const auto first = all_pages(sim, "name", 1000);
  const auto walk = steady_clock::now() - t0;
  REQUIRE(first.size() == 10000);
  CHECK(std::set<std::int64_t>(first.begin(), first.end()).size() == 10000);
  for (std::size_t i = 1; i < first.size(); ++i)
    REQUIRE(sim.fleet.system(*sim.fleet.index_of(first[i - 1])).name <=
            sim.fleet.system(*sim.fleet.index_of(first[i])).name);
  // The order is computed once: a page later costs a page, not a sort of the fleet.
  const auto t1 = steady_clock::now();
  Json last(sim.ok("systems?sort=-name&limit=10&page=1000"));
  const auto page = steady_clock::now() - t1;
  const auto list = field(last.root, "systems").get_array().value();
  REQUIRE(list.size() == 10);
  CHECK(field(list.at(9).value(), "system_id").get_int64().value() == first[0]);
  INFO("ten pages of 1000: " << duration_cast<milliseconds>(walk).count()
                             << " ms, one cached page: "
                             << duration_cast<microseconds>(page).count() << " us");
  CHECK(walk < seconds{10});
  CHECK(page < milliseconds{500});
}

TEST_CASE("systems view by path and query, with every side-load agreeing with the layout",
          "[sim]") {
  RunningSim sim({}, 10);
  // Find a system with and one without the inverter level.
  std::set<bool> kinds;
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto ctx = sim::make_context(sim.fleet, sim.fleet.system(i));
    if (kinds.count(ctx.topo.has_inverters)) continue;
    kinds.insert(ctx.topo.has_inverters);
    const auto id = std::to_string(ctx.spec.system_id);
    INFO("system " << id << " inverters " << ctx.topo.has_inverters);
    CHECK(sim.ok("systems/" + id) == sim.ok("systems/view?id=" + id));
    Json j(sim.ok("systems/view?id=" + id +
                  "&include=inverters,mppts,strings,panels,meters,objects,images,sources"));
    const auto s = field(j.root, "system");
    CHECK(field(s, "system_id").get_int64().value() == ctx.spec.system_id);
    for (const char* k :
         {"inverters", "mppts", "strings", "panels", "meters", "objects", "images", "sources"})
      CHECK(field(s, k).type() == element_type::ARRAY);
    CHECK(field(s, "inverters").get_array().size() == ctx.topo.inverters.size());
    CHECK(field(s, "mppts").get_array().size() == ctx.topo.mppts.size());
    CHECK(field(s, "strings").get_array().size() == ctx.topo.strings.size());
    const auto panels = field(s, "panels").get_array().value();
    REQUIRE(panels.size() == 24);
    std::set<std::int64_t> object_ids;
    for (element p : panels) object_ids.insert(field(p, "object_id").get_int64().value());
    // Every panel of the side-load is a type-2 object of the objects side-load.
    std::set<std::int64_t> panel_objects;
    for (element o : field(s, "objects").get_array())
      if (field(o, "object_type_id").get_int64().value() == 2)
        panel_objects.insert(field(o, "id").get_int64().value());
    CHECK(object_ids == panel_objects);
    CHECK(field(field(s, "sources").at(0), "serial").get_string().value() == ctx.topo.gateway.mac);
    // Without include: no side-loads.
    Json plain(sim.ok("systems/" + id));
    element none;
    CHECK(plain.root["system"]["panels"].get(none) != simdjson::SUCCESS);
  }
  CHECK(kinds.size() == 2);
  CHECK(sim.call("systems/view").status == 400);
  CHECK(sim.call("systems/99").status == 404);
  CHECK(sim.call("systems/view?id=1099").status == 404);
}

TEST_CASE("objects tree, layout and datasource keys agree", "[sim]") {
  RunningSim sim({}, 10);
  Json types(sim.ok("objects/types"));
  std::map<std::int64_t, std::string> type_labels;
  for (element t : field(types.root, "object_types"))
    type_labels[field(t, "object_type_id").get_int64().value()] =
        std::string(field(t, "label").get_string().value());
  CHECK(type_labels[1] == "System");
  CHECK(type_labels[2] == "Panel");
  CHECK(type_labels[3] == "String");
  CHECK(type_labels[4] == "Inverter");
  CHECK(type_labels[44] == "CCA");

  for (std::size_t i = 0; i < 4; ++i) {
    const auto ctx = sim::make_context(sim.fleet, sim.fleet.system(i));
    const auto id = std::to_string(ctx.spec.system_id);
    Json objects(sim.ok("objects/system?system_id=" + id));
    std::map<std::int64_t, element> by_id;
    int roots = 0;
    for (element o : field(objects.root, "objects")) {
      const auto oid = field(o, "id").get_int64().value();
      CHECK(is_string(field(o, "label")));
      CHECK(field(o, "children").type() == element_type::ARRAY);
      CHECK(field(o, "ui").type() == element_type::OBJECT);
      CHECK(is_int(field(field(o, "ui"), "X")));
      by_id[oid] = o;
      if (field(o, "parent_id").get_int64().value() == -1) {
        ++roots;
        CHECK(field(o, "object_type_id").get_int64().value() == 1);
      }
    }
    CHECK(roots == 1);
    // children and parent_id agree; panels carry MAC.panels.LABEL; no MPPT objects.
    std::map<std::string, std::int64_t> panel_by_label;
    for (auto& [oid, o] : by_id) {
      const auto type = field(o, "object_type_id").get_int64().value();
      CHECK(type != 5);
      for (element kid : field(o, "children")) {
        const auto k = kid.get_int64().value();
        REQUIRE(by_id.count(k));
        CHECK(field(by_id[k], "parent_id").get_int64().value() == oid);
      }
      if (type == 2) {
        const std::string ds(field(o, "datasource").get_string().value());
        const std::string label(field(o, "label").get_string().value());
        CHECK(ds == ctx.topo.gateway.mac + ".panels." + label);
        const auto parent = field(o, "parent_id").get_int64().value();
        CHECK(field(by_id[parent], "object_type_id").get_int64().value() == 3);
        panel_by_label[label] = oid;
      } else {
        CHECK(field(o, "datasource").is_null());
      }
    }
    CHECK(panel_by_label.size() == 24);
    // The layout: same panels, same object ids, inverters with their MPPTs or bare strings.
    Json layout(sim.ok("systems/layout?id=" + id));
    const auto sys = field(layout.root, "system");
    CHECK(field(sys, "system_id").get_int64().value() == ctx.spec.system_id);
    int panels_seen = 0;
    auto check_string = [&](element st) {
      CHECK(is_string(field(st, "short_label")));
      const auto soid = field(st, "object_id").get_int64().value();
      CHECK(field(by_id.at(soid), "object_type_id").get_int64().value() == 3);
      for (element p : field(st, "panels")) {
        const std::string label(field(p, "label").get_string().value());
        CHECK(panel_by_label.at(label) == field(p, "object_id").get_int64().value());
        CHECK(field(by_id.at(panel_by_label.at(label)), "parent_id").get_int64().value() == soid);
        CHECK(is_int(field(p, "short_label")));
        for (const char* k : {"panel_id", "source_id", "panel_type_id"}) CHECK(is_int(field(p, k)));
        CHECK(is_string(field(p, "serial")));
        CHECK(is_string(field(p, "type")));
        ++panels_seen;
      }
    };
    const auto inverters = field(sys, "inverters").get_array().value();
    if (ctx.topo.has_inverters) {
      REQUIRE(inverters.size() > 0);
      for (element inv : inverters) {
        CHECK(is_string(field(inv, "inverter_serial")));
        CHECK(field(by_id.at(field(inv, "object_id").get_int64().value()), "object_type_id")
                  .get_int64()
                  .value() == 4);
        for (element m : field(inv, "mppts")) {
          CHECK(is_int(field(m, "mppt_id")));
          for (element st : field(m, "strings")) check_string(st);
        }
      }
    } else {
      CHECK(inverters.size() == 0);
      for (element st : field(sys, "strings")) check_string(st);
    }
    CHECK(panels_seen == 24);
  }
  CHECK(sim.call("objects/system").status == 400);
  CHECK(sim.call("systems/layout?id=abc").status == 400);
}

TEST_CASE("sources: gateways with sets whose last_min trails time by the upload batches", "[sim]") {
  RunningSim sim({}, 10);
  const auto now = sim.clock.now();
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto ctx = sim::make_context(sim.fleet, sim.fleet.system(i));
    Json j(sim.ok("sources/system?system_id=" + std::to_string(ctx.spec.system_id)));
    const auto src = field(j.root, "sources").at(0).value();
    for (const char* k : {"source_id", "gateway_count", "system_id"}) CHECK(is_int(field(src, k)));
    for (const char* k : {"name", "serial", "timezone", "sw_version", "control_state"})
      CHECK(is_string(field(src, k)));
    CHECK(is_iso8601(field(src, "last_checkin")));
    CHECK(is_iso8601(field(src, "created_on")));
    const auto set = field(src, "sets").at(0).value();
    CHECK(field(set, "set_name").get_string().value() == "panels_avg");
    const auto last_min = util::parse_iso8601(field(set, "last_min").get_string().value());
    REQUIRE(last_min);
    CHECK(is_iso8601(field(set, "last_day")));
    const auto pv_off = ctx.fault.kind == sim::FaultKind::PvOff;
    CHECK(field(src, "control_state").get_string().value() == (pv_off ? "off" : "on"));
    if (ctx.fault.kind == sim::FaultKind::GatewayStall) {
      CHECK(*last_min < ctx.fault.onset);
      CHECK(now - *last_min > hours{24 * 30});
    } else {
      // A batch is visible 10 minutes after its upload and holds the minutes before it: at
      // least 11 minutes behind. At most the gap to the upload after the next (10-15 minutes
      // each, +-2 minutes of jitter, the next one missed), 30 minutes more for a late batch.
      const auto o = sim.server.upload_options();
      const auto rhythm = sim::upload_cadence(ctx, o);
      const auto lag = now - *last_min;
      CHECK(lag >= o.delay + minutes{1});
      CHECK(lag <=
            2 * (rhythm.cadence + rhythm.jitter) + o.delay + sim::kLateBatchExtra + minutes{1});
      CHECK(lag <= minutes{76});
    }
  }
}

TEST_CASE("summary fields as the document's table", "[sim]") {
  RunningSim sim;
  Json j(sim.ok("data/summary?system_id=1001"));
  const auto s = field(j.root, "summary");
  for (const char* k : {"lifetime_energy_dc", "ytd_energy_dc", "daily_energy_dc", "last_power_dc"})
    CHECK(is_number_or_numeric_string(field(s, k)));
  CHECK(is_iso8601(field(s, "updated_on")));
}

TEST_CASE("alert types in languages, alerts with the document's fields and paging", "[sim]") {
  RunningSim sim({}, 10);
  Json en(sim.ok("alerts/types"));
  Json de(sim.ok("alerts/types?language=DE"));
  const auto en_list = field(en.root, "alert_types").get_array().value();
  REQUIRE(en_list.size() >= 6);
  for (element t : en_list) {
    CHECK(is_int(field(t, "alert_type_id")));
    CHECK(is_int(field(t, "unique_id")));
    CHECK(is_string(field(t, "title")));
    CHECK(is_string(field(t, "description")));
  }
  CHECK(field(en_list.at(0).value(), "title").get_string().value() !=
        field(field(de.root, "alert_types").at(0).value(), "title").get_string().value());
  // Every system with a fault has alerts; each alert's unique_id is a listed type.
  std::set<std::int64_t> unique_ids;
  for (element t : en_list) unique_ids.insert(field(t, "unique_id").get_int64().value());
  int with_alerts = 0;
  for (std::size_t i = 0; i < sim.fleet.size(); ++i) {
    const auto ctx = sim::make_context(sim.fleet, sim.fleet.system(i));
    Json j(sim.ok("alerts/system?system_id=" + std::to_string(ctx.spec.system_id)));
    const auto alerts = field(j.root, "alerts").get_array().value();
    CHECK(field(field(j.root, "_meta"), "perPage").get_int64().value() == 50);
    if (ctx.fault.kind == sim::FaultKind::None) {
      CHECK(alerts.size() == 0);
      CHECK(field(field(j.root, "_meta"), "pageCount").get_int64().value() == 0);
      continue;
    }
    ++with_alerts;
    REQUIRE(alerts.size() > 0);
    for (element a : alerts) {
      CHECK(is_int(field(a, "alert_id")));
      CHECK(is_iso8601(field(a, "added")));
      CHECK(is_iso8601(field(a, "generated")));
      CHECK(field(a, "system_id").get_int64().value() == ctx.spec.system_id);
      CHECK(unique_ids.count(field(a, "unique_id").get_int64().value()));
      CHECK(is_string(field(a, "title")));
      CHECK(is_string(field(a, "message")));
      CHECK(is_string(field(a, "description")));
    }
  }
  CHECK(with_alerts == 5);
  CHECK(sim.call("alerts/system?system_id=1001&start_added=yesterday").status == 400);
  CHECK(sim.call("alerts/system?system_id=1001&page=0").status == 400);
}

TEST_CASE("unknown paths answer the Yii2 404 body with rate headers", "[sim]") {
  RunningSim sim;
  auto res = sim.call("nothing/here");
  CHECK(res.status == 404);
  CHECK(res.body.find("\"status\":404") != std::string::npos);
  CHECK_FALSE(res.get_header_value("X-Rate-Limit-Limit").empty());
}

TEST_CASE("commissioned is the midnight of turn_on_date, in Tigo's zone or the site's", "[sim]") {
  // As the recorded answers: every JSON time in Los Angeles time, whatever the site.
  RunningSim sim({}, 10);
  Json j(sim.ok("systems?limit=10"));
  int checked = 0;
  const auto systems = field(j.root, "systems").get_array().value();
  for (element s : systems) {
    const std::string turn_on(field(s, "turn_on_date").get_string().value());
    const std::string commissioned(field(s, "commissioned").get_string().value());
    const std::string created(field(s, "created").get_string().value());
    INFO(commissioned << " vs " << turn_on << ", created " << created);
    CHECK(commissioned.substr(0, 19) == turn_on + "T00:00:00");
    for (const auto& t : {commissioned, created})
      CHECK((t.substr(19) == "-07:00" || t.substr(19) == "-08:00"));
    ++checked;
  }
  CHECK(checked == 10);
  // Phoenix (UTC-7 all year), commissioned in December: Pacific standard time.
  Json one(sim.ok("systems/1002"));
  CHECK(std::string(field(field(one.root, "system"), "commissioned").get_string().value()) ==
        "2023-12-14T00:00:00-08:00");
  // Without the quirk, the site's own zone.
  sim::ServerOptions site_zone;
  site_zone.quirks.pacific_times = false;
  RunningSim local(site_zone, 10);
  Json own(local.ok("systems/1002"));
  CHECK(std::string(field(field(own.root, "system"), "commissioned").get_string().value()) ==
        "2023-12-14T00:00:00-07:00");
}

TEST_CASE("sources print Tigo's zone too, last_day is the site's day at Pacific midnight",
          "[sim]") {
  RunningSim sim({}, 10, at_utc(2026, 1, 15, 20));
  for (int id = 1001; id <= 1010; ++id) {
    Json j(sim.ok("sources/system?system_id=" + std::to_string(id)));
    const auto sources = field(j.root, "sources").get_array().value();
    for (element src : sources) {
      const std::string checkin(field(src, "last_checkin").get_string().value());
      INFO(id << " " << checkin);
      CHECK(checkin.substr(19) == "-08:00");  // January: PST
      const auto sets = field(src, "sets").get_array().value();
      for (element set : sets) {
        const std::string last_day(field(set, "last_day").get_string().value());
        CHECK(last_day.substr(10) == "T00:00:00-08:00");
      }
    }
  }
}

TEST_CASE("recent_alerts_count counts the alerts/system alerts added in the last 7 days", "[sim]") {
  // Two fleets of 20 (each fault kind twice) at two instants, so the window holds several
  // shaded-panel afternoons, and single alerts fall inside and outside of it.
  for (const auto now : {at_utc(2026, 3, 21, 18), at_utc(2025, 10, 3, 6)}) {
    RunningSim sim({}, 20, now);
    Json list(sim.ok("systems?limit=50"));
    int nonzero = 0, with_alerts = 0;
    const auto systems = field(list.root, "systems").get_array().value();
    for (element s : systems) {
      const auto id = field(s, "system_id").get_int64().value();
      INFO("system " << id);
      Json alerts(sim.ok("alerts/system?system_id=" + std::to_string(id) + "&limit=1000"));
      std::int64_t recent = 0;
      const auto all = field(alerts.root, "alerts").get_array().value();
      for (element a : all) {
        const auto added = util::parse_iso8601(field(a, "added").get_string().value());
        REQUIRE(added);
        if (*added >= now - hours{24 * 7} && *added <= now) ++recent;
      }
      const auto count = field(s, "recent_alerts_count").get_int64().value();
      CHECK(count == recent);
      nonzero += count > 0;
      with_alerts += all.size() > 0;
      // The same in the system's own view.
      Json view(sim.ok("systems/" + std::to_string(id)));
      CHECK(field(field(view.root, "system"), "recent_alerts_count").get_int64().value() == count);
    }
    CHECK(nonzero > 0);
    CHECK(with_alerts > nonzero);  // some alerts are older than a week
  }
}
