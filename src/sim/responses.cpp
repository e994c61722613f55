#include "sim/responses.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "sim/data_csv.hpp"
#include "sim/json_writer.hpp"
#include "sim/solar.hpp"
#include "util/time.hpp"

namespace sim {
namespace {

using std::chrono::sys_seconds;

// A JSON object under construction: keys in call order, so bodies are byte-stable.
class Obj {
 public:
  explicit Obj(std::string& out) : out_(out) { out_ += '{'; }
  Obj& str(std::string_view k, std::string_view v) {
    key(k);
    json::append_string(out_, v);
    return *this;
  }
  Obj& num(std::string_view k, std::int64_t v) {
    key(k);
    json::append_int(out_, v);
    return *this;
  }
  Obj& fixed(std::string_view k, double v, int decimals) {
    key(k);
    json::append_fixed(out_, v, decimals);
    return *this;
  }
  Obj& null(std::string_view k) { return raw(k, "null"); }
  Obj& boolean(std::string_view k, bool v) { return raw(k, v ? "true" : "false"); }
  Obj& raw(std::string_view k, std::string_view v) {
    key(k);
    out_ += v;
    return *this;
  }
  // A string, or null when the nulls quirk is on and the value is optional and absent.
  Obj& opt(std::string_view k, std::string_view v, bool null_it) {
    return null_it ? null(k) : str(k, v);
  }
  std::string& key(std::string_view k) {
    json::append_key(out_, k, first_);
    return out_;
  }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

std::string fixed_text(double v, int decimals) {
  std::string s;
  json::append_fixed(s, v, decimals);
  return s;
}

void meta(std::string& out, std::int64_t total, std::int64_t page_count, std::int64_t page,
          std::int64_t per_page) {
  out += ",\"_meta\":";
  Obj m(out);
  m.num("totalCount", total).num("pageCount", page_count).num("currentPage", page);
  m.num("perPage", per_page).close();
}

void object_entry(std::string& out, std::int64_t id, std::string_view label, ObjectType type,
                  std::int64_t parent, const std::string* datasource,
                  const std::vector<std::int64_t>& children, double x, double y, double mp) {
  Obj o(out);
  o.num("id", id).str("label", label).num("object_type_id", static_cast<int>(type));
  o.num("parent_id", parent);
  if (datasource) {
    o.str("datasource", *datasource);
  } else {
    o.null("datasource");
  }
  auto& a = o.key("children");
  a += '[';
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (i) a += ',';
    json::append_int(a, children[i]);
  }
  a += ']';
  auto& u = o.key("ui");
  Obj ui(u);
  ui.fixed("X", x, 0).fixed("Y", y, 0);
  if (mp > 0) ui.fixed("MP", mp, 0);
  if (type == ObjectType::Panel) ui.num("OP", 1);
  ui.close();
  o.close();
}

void panel_json(std::string& out, const SystemContext& c, int i, bool with_string_id) {
  const auto& p = c.topo.panels[static_cast<std::size_t>(i)];
  Obj o(out);
  o.num("panel_id", p.panel_id);
  if (with_string_id)
    o.num("string_id", c.topo.strings[static_cast<std::size_t>(p.string_index)].string_id);
  o.str("label", p.label).num("short_label", p.short_label).str("serial", p.serial);
  o.str("type", c.topo.panel_type).num("source_id", c.topo.gateway.source_id);
  o.num("object_id", p.object_id).num("panel_type_id", c.topo.panel_type_id).close();
}

void string_json(std::string& out, const SystemContext& c, const StringNode& st) {
  Obj o(out);
  o.num("string_id", st.string_id).str("label", string_label(st)).str("short_label", st.letter);
  o.num("object_id", st.object_id);
  auto& a = o.key("panels");
  a += '[';
  for (int p = 0; p < st.panel_count; ++p) {
    if (p) a += ',';
    panel_json(a, c, st.first_panel + p, false);
  }
  a += ']';
  o.close();
}

void sources_array(std::string& out, const SystemContext& c, const DataAvailability& a,
                   sys_seconds now, const Quirks& quirks) {
  const auto& g = c.topo.gateway;
  const auto& tz = c.spec.timezone;
  out += '[';
  Obj o(out);
  o.num("source_id", g.source_id).str("name", g.name).str("serial", g.mac);
  o.num("gateway_count", g.gateway_count).str("created_on", api_time(g.created_on, tz, quirks));
  const bool pv_off = c.fault.kind == FaultKind::PvOff && c.fault.active(now);
  o.str("control_state", pv_off ? "off" : "on");
  o.str("last_checkin", api_time(a.last_checkin, tz, quirks)).str("timezone", tz);
  o.str("sw_version", g.sw_version);
  auto& sets = o.key("sets");
  sets += '[';
  Obj s(sets);
  s.str("set_name", "panels_avg");
  if (quirks.extra_fields) s.str("last_raw", api_time(a.sensor_last, tz, quirks));
  s.str("last_min", api_time(a.last_min, tz, quirks));
  s.str("last_day",
        api_day(date::floor<date::days>(zone_or_utc(tz)->to_local(a.last_min)), tz, quirks));
  s.close();
  sets += ']';
  o.num("system_id", c.spec.system_id);
  if (quirks.extra_fields) {
    o.num("object_id", g.object_id).num("panel_count", c.spec.panels).num("unit_type_id", 8);
    o.boolean("is_discovery_complete", true);
  }
  o.close();
  out += ']';
}

void objects_array(std::string& out, const SystemContext& c) {
  const auto& t = c.topo;
  out += '[';
  std::vector<std::int64_t> top;
  if (t.has_inverters) {
    for (const auto& inv : t.inverters) top.push_back(inv.object_id);
  } else {
    for (const auto& st : t.strings) top.push_back(st.object_id);
  }
  top.push_back(t.gateway.object_id);
  object_entry(out, t.system_object_id, "System", ObjectType::System, -1, nullptr, top, 50, 50,
               power_rating_w(c.spec));
  auto emit_string = [&](const StringNode& st, std::int64_t parent) {
    std::vector<std::int64_t> kids;
    kids.reserve(static_cast<std::size_t>(st.panel_count));
    for (int p = 0; p < st.panel_count; ++p)
      kids.push_back(
          t.panels[static_cast<std::size_t>(st.first_panel) + static_cast<std::size_t>(p)]
              .object_id);
    const auto si = &st - t.strings.data();
    out += ',';
    object_entry(out, st.object_id, string_label(st), ObjectType::String, parent, nullptr, kids, 60,
                 100 + 120 * static_cast<double>(si), 0);
    for (int p = 0; p < st.panel_count; ++p) {
      const int i = st.first_panel + p;
      const auto& pn = t.panels[static_cast<std::size_t>(i)];
      const std::string ds = t.datasource(i);
      out += ',';
      object_entry(out, pn.object_id, pn.label, ObjectType::Panel, st.object_id, &ds, {}, pn.ui_x,
                   pn.ui_y, c.panels[static_cast<std::size_t>(i)].rated_w);
    }
  };
  if (t.has_inverters) {
    for (std::size_t v = 0; v < t.inverters.size(); ++v) {
      const auto& inv = t.inverters[v];
      std::vector<std::int64_t> kids;
      for (const auto& st : t.strings)
        if (st.inverter_index == static_cast<int>(v)) kids.push_back(st.object_id);
      out += ',';
      object_entry(out, inv.object_id, inv.label, ObjectType::Inverter, t.system_object_id, nullptr,
                   kids, 20, 100 + 300 * static_cast<double>(v), 0);
      for (const auto& st : t.strings)
        if (st.inverter_index == static_cast<int>(v)) emit_string(st, inv.object_id);
    }
  } else {
    for (const auto& st : t.strings) emit_string(st, t.system_object_id);
  }
  out += ',';
  object_entry(out, t.gateway.object_id, t.gateway.name, ObjectType::Cca, t.system_object_id,
               nullptr, {}, 10, 10, 0);
  out += ']';
}

}  // namespace

double power_rating_w(const SystemSpec& s) { return s.panel_rated_w * s.panels; }

namespace {
const std::string& print_zone(const std::string& site_tz, const Quirks& quirks) {
  static const std::string kTigoZone = "America/Los_Angeles";
  return quirks.pacific_times ? kTigoZone : site_tz;
}
}  // namespace

std::string api_time(sys_seconds t, const std::string& site_tz, const Quirks& quirks) {
  return util::format_iso8601_in_zone(t, print_zone(site_tz, quirks));
}

std::string api_day(date::local_days day, const std::string& site_tz, const Quirks& quirks) {
  const auto& zone = print_zone(site_tz, quirks);
  return util::format_iso8601_in_zone(midnight_in(zone, day), zone);
}

std::string error_json(int status, std::string_view name, std::string_view message) {
  std::string out;
  Obj o(out);
  o.str("name", name).str("message", message).num("code", 0).num("status", status).close();
  return out;
}

std::string login_json(std::int64_t user_id, std::string_view token, sys_seconds expires,
                       std::string_view user_type, std::string_view refresh_token) {
  std::string out = "{\"user\":";
  Obj o(out);
  o.num("user_id", user_id).str("auth", token);
  o.str("expires", util::format_iso8601_in_zone(expires, "America/Los_Angeles"));
  o.str("user_type", user_type).str("refresh_token", refresh_token).boolean("user_agreement", true);
  o.close();
  out += '}';
  return out;
}

std::string logout_json() { return R"({"status":200,"message":"Logged out user"})"; }

std::string user_json(std::int64_t user_id, std::string_view login, std::string_view user_type,
                      const Quirks& quirks) {
  std::string out = "{\"user\":";
  Obj o(out);
  const std::string email = std::string(login) + "@example.com";
  o.num("user_id", user_id).str("login", login).str("first_name", "Sim").str("last_name", "User");
  o.str("email", email).str("company", "Simulated Solar Co").str("street", "1 Sunny Lane");
  o.opt("street2", "", quirks.nulls).str("city", "Exampletown").str("state", "CA");
  o.str("zip", "94000").str("country", "United States").str("mobile", "1231231234");
  o.str("user_type", user_type).opt("avatar", "", quirks.nulls).close();
  out += '}';
  return out;
}

std::int64_t recent_alerts_count(const SystemContext& c, sys_seconds now) {
  return static_cast<std::int64_t>(system_alerts(c, now, now - kRecentAlertsWindow).size());
}

std::string system_object_json(const Fleet& fleet, const SystemSpec& s, sys_seconds now,
                               const Quirks& quirks) {
  std::string out;
  Obj o(out);
  o.num("system_id", s.system_id);
  // A few systems have no external id: null, as the real API sends it.
  o.opt("external_id", s.external_id, quirks.nulls && s.index % 4 == 1);
  o.str("name", s.name).str("street", s.street).str("city", s.city).str("state", s.state);
  o.str("zip", s.zip).str("country", s.country);
  if (quirks.extra_fields) o.str("country_code", s.country_code);
  if (quirks.numbers_as_strings) {
    o.str("latitude", fixed_text(s.latitude, 6)).str("longitude", fixed_text(s.longitude, 6));
  } else {
    o.fixed("latitude", s.latitude, 6).fixed("longitude", s.longitude, 6);
  }
  o.str("timezone", s.timezone).fixed("power_rating", power_rating_w(s), 0);
  if (quirks.extra_fields) {
    if (quirks.nulls) {
      o.null("power_rating_ac");
    } else {
      o.fixed("power_rating_ac", power_rating_w(s) * 0.9, 0);
    }
  }
  o.str("created", api_time(s.created, s.timezone, quirks));
  if (quirks.extra_fields) {
    // The local midnight that starts turn_on_date, so both name the same day.
    o.str("commissioned",
          api_day(date::local_days{s.turn_on.time_since_epoch()}, s.timezone, quirks));
    if (quirks.nulls) o.null("decommissioned");
    o.str("status", "Active");
  }
  o.str("turn_on_date", date::format("%F", s.turn_on));
  if (quirks.extra_fields) {
    o.num("recent_alerts_count", recent_alerts_count(make_context(fleet, s), now));
    o.boolean("has_monitored_modules", true);
    o.num("panel_count", s.panels);
  }
  o.close();
  return out;
}

std::int64_t page_start(std::int64_t page, std::int64_t per_page, std::int64_t total) {
  if (page <= 1 || per_page < 1) return 0;
  if (page - 1 > total / per_page)
    return total;  // past the end; (page - 1) * per_page may overflow
  return std::min(total, (page - 1) * per_page);
}

std::string systems_json(const Fleet& fleet, const std::vector<std::size_t>& indices,
                         const Paging& paging, sys_seconds now, const Quirks& quirks) {
  const auto total = static_cast<std::int64_t>(indices.size());
  const std::int64_t per_page = std::max<std::int64_t>(1, paging.per_page);
  const std::int64_t page_count = (total + per_page - 1) / per_page;
  const std::int64_t page = std::max<std::int64_t>(1, paging.page);
  std::string out = "{\"systems\":[";
  const std::int64_t begin = page_start(page, per_page, total);
  const std::int64_t end = std::min(total, begin + per_page);
  for (std::int64_t i = begin; i < end; ++i) {
    if (i != begin) out += ',';
    out +=
        system_object_json(fleet, fleet.system(indices[static_cast<std::size_t>(i)]), now, quirks);
  }
  out += ']';
  if (quirks.paging_meta) meta(out, total, page_count, page, per_page);
  out += '}';
  return out;
}

std::string systems_json(const Fleet& fleet, const Paging& paging, sys_seconds now,
                         const Quirks& quirks) {
  // The whole fleet, without materialising an index list per page for large fleets.
  const auto total = static_cast<std::int64_t>(fleet.size());
  const std::int64_t per_page = std::max<std::int64_t>(1, paging.per_page);
  const std::int64_t page = std::max<std::int64_t>(1, paging.page);
  const std::int64_t begin = page_start(page, per_page, total);
  const std::int64_t end = std::min(total, begin + per_page);
  std::vector<std::size_t> slice;
  for (std::int64_t i = begin; i < end; ++i) slice.push_back(static_cast<std::size_t>(i));
  std::string out = "{\"systems\":[";
  for (std::size_t i = 0; i < slice.size(); ++i) {
    if (i) out += ',';
    out += system_object_json(fleet, fleet.system(slice[i]), now, quirks);
  }
  out += ']';
  if (quirks.paging_meta) meta(out, total, (total + per_page - 1) / per_page, page, per_page);
  out += '}';
  return out;
}

Includes parse_includes(std::string_view text) {
  Includes inc;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item == "inverters") inc.inverters = true;
    if (item == "mppts") inc.mppts = true;
    if (item == "strings") inc.strings = true;
    if (item == "panels") inc.panels = true;
    if (item == "meters") inc.meters = true;
    if (item == "objects") inc.objects = true;
    if (item == "images") inc.images = true;
    if (item == "sources") inc.sources = true;
  }
  return inc;
}

std::string system_view_json(const Fleet& fleet, const SystemContext& c, const Includes& inc,
                             const DataAvailability& a, sys_seconds now, const Quirks& quirks) {
  std::string sys = system_object_json(fleet, c.spec, now, quirks);
  sys.pop_back();  // reopen the object for the side-loads
  const auto& t = c.topo;
  if (inc.inverters) {
    sys += ",\"inverters\":[";
    for (std::size_t v = 0; v < t.inverters.size(); ++v) {
      const auto& inv = t.inverters[v];
      if (v) sys += ',';
      Obj o(sys);
      o.num("inverter_id", inv.inverter_id).num("inverter_type_id", inv.inverter_type_id);
      o.str("label", inv.label).num("object_id", inv.object_id).str("serial", inv.serial);
      o.num("system_id", c.spec.system_id).close();
    }
    sys += ']';
  }
  if (inc.mppts) {
    sys += ",\"mppts\":[";
    for (std::size_t m = 0; m < t.mppts.size(); ++m) {
      const auto& mp = t.mppts[m];
      if (m) sys += ',';
      Obj o(sys);
      o.num("mppt_id", mp.mppt_id);
      o.num("inverter_id", t.inverters[static_cast<std::size_t>(mp.inverter_index)].inverter_id);
      o.str("label", mp.label).close();
    }
    sys += ']';
  }
  if (inc.strings) {
    sys += ",\"strings\":[";
    for (std::size_t s = 0; s < t.strings.size(); ++s) {
      const auto& st = t.strings[s];
      if (s) sys += ',';
      Obj o(sys);
      o.num("string_id", st.string_id);
      if (st.mppt_index >= 0) {
        o.num("mppt_id", t.mppts[static_cast<std::size_t>(st.mppt_index)].mppt_id);
      } else {
        o.null("mppt_id");
      }
      o.str("label", string_label(st)).str("short_label", st.letter);
      o.num("object_id", st.object_id).close();
    }
    sys += ']';
  }
  if (inc.panels) {
    sys += ",\"panels\":[";
    for (std::size_t p = 0; p < t.panels.size(); ++p) {
      if (p) sys += ',';
      panel_json(sys, c, static_cast<int>(p), true);
    }
    sys += ']';
  }
  if (inc.meters) sys += ",\"meters\":[]";
  if (inc.objects) {
    sys += ",\"objects\":";
    objects_array(sys, c);
  }
  if (inc.images) sys += ",\"images\":[]";
  if (inc.sources) {
    sys += ",\"sources\":";
    sources_array(sys, c, a, now, quirks);
  }
  sys += '}';
  return "{\"system\":" + sys + "}";
}

std::string layout_json(const SystemContext& c) {
  const auto& t = c.topo;
  std::string out = "{\"system\":";
  Obj sys(out);
  sys.num("system_id", c.spec.system_id);
  auto& inv_out = sys.key("inverters");
  inv_out += '[';
  for (std::size_t v = 0; v < t.inverters.size(); ++v) {
    const auto& inv = t.inverters[v];
    if (v) inv_out += ',';
    Obj o(inv_out);
    o.num("inverter_id", inv.inverter_id).num("inverter_type_id", inv.inverter_type_id);
    o.str("label", inv.label).num("object_id", inv.object_id).str("inverter_serial", inv.serial);
    o.str("serial", inv.serial).num("source_id", t.gateway.source_id);
    auto& m_out = o.key("mppts");
    m_out += '[';
    for (int m = 0; m < inv.mppt_count; ++m) {
      const auto& mp =
          t.mppts[static_cast<std::size_t>(inv.first_mppt) + static_cast<std::size_t>(m)];
      if (m) m_out += ',';
      Obj mo(m_out);
      mo.num("mppt_id", mp.mppt_id).str("label", mp.label);
      auto& s_out = mo.key("strings");
      s_out += '[';
      for (int s = 0; s < mp.string_count; ++s) {
        if (s) s_out += ',';
        string_json(
            s_out, c,
            t.strings[static_cast<std::size_t>(mp.first_string) + static_cast<std::size_t>(s)]);
      }
      s_out += ']';
      mo.close();
    }
    m_out += ']';
    o.close();
  }
  inv_out += ']';
  if (!t.has_inverters) {
    // No inverter level recorded: the strings hang off the system itself.
    auto& s_out = sys.key("strings");
    s_out += '[';
    for (std::size_t s = 0; s < t.strings.size(); ++s) {
      if (s) s_out += ',';
      string_json(s_out, c, t.strings[s]);
    }
    s_out += ']';
  }
  sys.close();
  out += '}';
  return out;
}

std::string objects_json(const SystemContext& c) {
  std::string out = "{\"objects\":";
  objects_array(out, c);
  out += '}';
  return out;
}

std::string object_types_json() {
  static const std::pair<int, const char*> kTypes[] = {{1, "System"},   {2, "Panel"}, {3, "String"},
                                                       {4, "Inverter"}, {5, "MPPT"},  {44, "CCA"}};
  std::string out = "{\"object_types\":[";
  bool first = true;
  for (const auto& [id, label] : kTypes) {
    if (!first) out += ',';
    first = false;
    Obj o(out);
    o.num("object_type_id", id).str("label", label).close();
  }
  out += "]}";
  return out;
}

std::string sources_json(const SystemContext& c, const DataAvailability& a, sys_seconds now,
                         const Quirks& quirks) {
  std::string out = "{\"sources\":";
  sources_array(out, c, a, now, quirks);
  out += '}';
  return out;
}

std::string summary_json(const PowerModel& model, const SystemContext& c, sys_seconds t,
                         const Quirks& quirks) {
  // Tigo updates the summary once a minute: everything refers to the last whole minute, or to
  // the minute a stalled gateway last reported.
  auto minute = std::chrono::floor<std::chrono::minutes>(t);
  if (c.fault.kind == FaultKind::GatewayStall && c.fault.active(t))
    minute = std::min(minute, std::chrono::floor<std::chrono::minutes>(c.fault.onset));
  const sys_seconds at{minute};
  const auto energy = model.energy(c, at);
  std::string out = "{\"summary\":";
  Obj o(out);
  // Rounded to centi-Wh as data/combined rounds its Wh, so the figures equal its day and year rows.
  auto centi = [](double wh) { return static_cast<double>(std::llround(wh * 100)) / 100.0; };
  o.fixed("lifetime_energy_dc", centi(energy.lifetime_wh), 2);
  o.fixed("ytd_energy_dc", centi(energy.ytd_wh), 2)
      .fixed("daily_energy_dc", centi(energy.today_wh), 2);
  std::string power;
  append_scaled(power, model.system_power_mw(c, at), 3);
  o.raw("last_power_dc", power);
  std::string updated = api_time(at, c.spec.timezone, quirks);
  if (updated.size() > 19) updated.insert(19, ".000");
  o.str("updated_on", updated).close();
  out += '}';
  return out;
}

std::string summary_json(const PowerModel& model, const SystemSpec& s, sys_seconds t,
                         const Quirks& quirks) {
  return summary_json(model, make_context(model.fleet(), s), t, quirks);
}

std::string alerts_json(const SystemContext& c, const std::vector<Alert>& alerts,
                        std::string_view language, const Paging& paging, const Quirks& quirks) {
  const auto total = static_cast<std::int64_t>(alerts.size());
  const std::int64_t per_page = std::max<std::int64_t>(1, paging.per_page);
  const std::int64_t page = std::max<std::int64_t>(1, paging.page);
  const std::int64_t begin = page_start(page, per_page, total);
  const std::int64_t end = std::min(total, begin + per_page);
  std::string out = "{\"alerts\":[";
  for (std::int64_t i = begin; i < end; ++i) {
    const auto& a = alerts[static_cast<std::size_t>(i)];
    if (i != begin) out += ',';
    Obj o(out);
    o.num("alert_id", a.alert_id).str("added", api_time(a.added, c.spec.timezone, quirks));
    o.str("generated", api_time(a.generated, c.spec.timezone, quirks))
        .num("system_id", c.spec.system_id);
    o.num("unique_id", a.type->unique_id).str("title", alert_title(*a.type, language));
    o.str("message", a.message).str("description", a.type->description);
    if (quirks.extra_fields) o.num("alert_type_id", a.type->alert_type_id);
    o.close();
  }
  out += ']';
  if (quirks.paging_meta) meta(out, total, (total + per_page - 1) / per_page, page, per_page);
  out += '}';
  return out;
}

std::string alert_types_json(std::string_view language) {
  std::string out = "{\"alert_types\":[";
  bool first = true;
  for (const auto& t : alert_types()) {
    if (!first) out += ',';
    first = false;
    Obj o(out);
    o.num("alert_type_id", t.alert_type_id).num("unique_id", t.unique_id);
    o.str("title", alert_title(t, language)).str("description", t.description).close();
  }
  out += "]}";
  return out;
}

namespace {

void labels_json(Obj& o, const Topology::PanelLabels& l) {
  o.str("inverter", l.inverter).str("mppt", l.mppt).str("string", l.string);
}

}  // namespace

std::string faults_json(const PowerModel& model, sys_seconds now) {
  const Fleet& fleet = model.fleet();
  std::string out;
  Obj top(out);
  top.str("time", util::format_iso8601_utc(now));
  auto& list = top.key("systems");
  list += '[';
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    if (i) list += ',';
    const auto c = make_context(fleet, fleet.system(i));
    const auto& f = c.fault;
    const auto& t = c.topo;
    Obj o(list);
    o.num("system_id", c.spec.system_id).str("timezone", c.spec.timezone);
    o.str("fault", fault_name(f.kind));
    if (f.kind == FaultKind::None) {
      o.null("onset");
    } else {
      o.str("onset", util::format_iso8601_utc(f.onset));
    }
    o.boolean("active", f.active(now));
    o.fixed("latitude", c.spec.latitude, 6).fixed("longitude", c.spec.longitude, 6);
    o.fixed("solar_hour", mean_solar_hour(c.spec.longitude, now), 3);
    o.fixed("sun_elevation_deg",
            solar::sun_position(c.spec.latitude, c.spec.longitude, now).elevation_deg, 2);
    o.fixed("irradiance_w_m2", model.irradiance_w_m2(c.spec, now), 1);
    {
      auto& g = o.key("gateway");
      Obj go(g);
      go.num("source_id", t.gateway.source_id).str("serial", t.gateway.mac).close();
    }
    if (f.kind == FaultKind::ShadedPanel || f.kind == FaultKind::DeadOptimizer) {
      auto& p = o.key("panel");
      Obj po(p);
      po.num("object_id", t.panels[static_cast<std::size_t>(f.panel)].object_id);
      const auto l = t.labels(f.panel);
      labels_json(po, l);
      po.str("panel", l.panel).close();
      if (f.kind == FaultKind::ShadedPanel)
        o.boolean("in_shadow", f.active(now) && in_afternoon_shadow(c.spec.longitude, now));
    }
    if (f.kind == FaultKind::WeakString) {
      const auto& st = t.strings[static_cast<std::size_t>(f.string)];
      auto& s = o.key("string");
      Obj so(s);
      so.num("object_id", st.object_id);
      labels_json(so, t.labels(st.first_panel));
      so.close();
    }
    // Per alert code: how many were raised up to now and the newest one's generation time.
    std::map<int, std::pair<int, sys_seconds>> codes;
    for (const auto& a : system_alerts(c, now)) {
      auto& [count, last] = codes[a.type->unique_id];
      ++count;
      last = std::max(last, a.generated);
    }
    auto& a = o.key("alerts");
    a += '[';
    bool first = true;
    for (const auto& [code, v] : codes) {
      if (!first) a += ',';
      first = false;
      Obj ao(a);
      ao.num("unique_id", code).num("count", v.first);
      ao.str("last_generated", util::format_iso8601_utc(v.second)).close();
    }
    a += ']';
    o.close();
  }
  list += ']';
  top.close();
  return out;
}

}  // namespace sim
