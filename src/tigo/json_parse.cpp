#include "tigo/json_parse.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <string>

#include "util/time.hpp"

namespace tigo {
namespace {

namespace dom = simdjson::dom;

// One parser per thread: parsers reuse their buffers, and refreshes run on worker threads. Its
// capacity is capped so a hostile answer cannot grow it without bound.
dom::parser& thread_parser() {
  thread_local dom::parser parser(kMaxJsonBytes);
  return parser;
}

util::Error fail(std::string_view what, std::string_view why) {
  return util::make_error(std::string(what) + ": " + std::string(why));
}

util::Result<dom::element> parse_document(std::string_view body, std::string_view what) {
  if (body.size() > kMaxJsonBytes) return fail(what, "answer too large");
  // parse() copies the padded input into the parser's own buffer, so the element stays valid
  // after `padded` goes away.
  simdjson::padded_string padded(body);
  dom::element root;
  if (auto err = thread_parser().parse(padded).get(root); err) {
    return fail(what, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  return root;
}

std::optional<double> number_of(dom::element e) {
  double d = 0;
  int64_t i = 0;
  uint64_t u = 0;
  switch (e.type()) {
    case dom::element_type::DOUBLE:
      if (e.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d)) return d;
      return std::nullopt;
    case dom::element_type::INT64:
      if (e.get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
      return std::nullopt;
    case dom::element_type::UINT64:
      if (e.get_uint64().get(u) == simdjson::SUCCESS) return static_cast<double>(u);
      return std::nullopt;
    case dom::element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      if (s.empty()) return std::nullopt;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
      return d;
    }
    default:
      return std::nullopt;
  }
}

std::optional<std::int64_t> int_of(dom::element e) {
  if (int64_t i = 0; e.is_int64() && e.get_int64().get(i) == simdjson::SUCCESS) return i;
  auto d = number_of(e);
  if (!d || std::fabs(*d) > 9.0e15 || *d != std::trunc(*d)) return std::nullopt;
  return static_cast<std::int64_t>(*d);
}

std::optional<double> number_field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  return number_of(e);
}

std::optional<std::int64_t> int_field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  return int_of(e);
}

// Strings, and numbers written where a string belongs ("zip": 12345, "short_label": 1), as text;
// null, absent, objects and arrays -> "".
std::string string_of(dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (e.is_int64() || e.is_uint64() || e.is_double()) return simdjson::minify(e);
  return {};
}

std::string string_field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return {};
  return string_of(e);
}

// The first of several names a field goes by that is present and non-empty.
std::string string_field_any(dom::object o, std::initializer_list<std::string_view> keys) {
  for (auto key : keys) {
    if (auto s = string_field(o, key); !s.empty()) return s;
  }
  return {};
}

std::optional<Timestamp> time_field(dom::object o, std::string_view key) {
  dom::element e;
  std::string_view s;
  if (o.at_key(key).get(e) != simdjson::SUCCESS || e.get_string().get(s) != simdjson::SUCCESS)
    return std::nullopt;
  return util::parse_iso8601(s);
}

std::optional<bool> bool_field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  if (bool b = false; e.get_bool().get(b) == simdjson::SUCCESS) return b;
  if (auto i = int_of(e)) return *i != 0;
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    if (s == "true") return true;
    if (s == "false" || s.empty()) return false;
    if (util::parse_iso8601(s)) return true;  // a time: when it was archived
  }
  return std::nullopt;
}

util::Result<dom::object> object_at(dom::element root, std::string_view key,
                                    std::string_view what) {
  dom::object o;
  if (root.at_key(key).get_object().get(o) != simdjson::SUCCESS) {
    return fail(what, "no \"" + std::string(key) + "\" object");
  }
  return o;
}

util::Result<dom::array> array_at(dom::element root, std::string_view key, std::string_view what) {
  dom::array a;
  if (root.at_key(key).get_array().get(a) != simdjson::SUCCESS) {
    return fail(what, "no \"" + std::string(key) + "\" array");
  }
  return a;
}

// Calls f(element) for each entry of an optional nested array; absent, null or another type
// is an empty list. (A default-constructed dom::array must never be iterated.)
template <class F>
void for_each_in(dom::object o, std::string_view key, F&& f) {
  dom::array a;
  if (o.at_key(key).get_array().get(a) != simdjson::SUCCESS) return;
  for (dom::element e : a) f(e);
}

// The same, for entries that are objects; others are skipped.
template <class F>
void for_each_object_in(dom::object o, std::string_view key, F&& f) {
  for_each_in(o, key, [&](dom::element e) {
    dom::object eo;
    if (e.get_object().get(eo) == simdjson::SUCCESS) f(eo);
  });
}

// Calls f(object, index) for each entry of a list; an entry that is not an object is an error.
template <class F>
std::optional<util::Error> each_object(dom::array list, std::string_view what,
                                       std::string_view list_name, F&& f) {
  std::size_t index = 0;
  for (dom::element item : list) {
    dom::object o;
    if (item.get_object().get(o) != simdjson::SUCCESS) {
      return fail(what, "entry " + std::to_string(index) + " of \"" + std::string(list_name) +
                            "\" is not an object");
    }
    if (auto err = f(o, index)) return err;
    ++index;
  }
  return std::nullopt;
}

std::optional<PageMeta> meta_of(dom::element root) {
  dom::object meta;
  if (root.at_key("_meta").get_object().get(meta) != simdjson::SUCCESS) return std::nullopt;
  PageMeta m;
  m.total_count = int_field(meta, "totalCount").value_or(0);
  m.page_count = int_field(meta, "pageCount").value_or(1);
  m.current_page = int_field(meta, "currentPage").value_or(1);
  m.per_page = int_field(meta, "perPage").value_or(0);
  return m;
}

System system_of(dom::object o) {
  System s;
  s.system_id = int_field(o, "system_id").value_or(0);
  s.name = string_field(o, "name");
  s.external_id = string_field(o, "external_id");
  s.street = string_field(o, "street");
  s.city = string_field(o, "city");
  s.state = string_field(o, "state");
  s.zip = string_field(o, "zip");
  s.country = string_field(o, "country");
  s.timezone = string_field(o, "timezone");
  s.latitude = number_field(o, "latitude");
  s.longitude = number_field(o, "longitude");
  s.power_rating_w = number_field(o, "power_rating");
  s.turn_on_date = time_field(o, "turn_on_date");
  s.created = time_field(o, "created");
  s.status = string_field(o, "status");
  return s;
}

std::string entry_error(std::string_view list, std::size_t index, std::string_view field) {
  return "entry " + std::to_string(index) + " of \"" + std::string(list) + "\" has no valid " +
         std::string(field);
}

}  // namespace

util::Result<Login> parse_login(std::string_view body) {
  constexpr std::string_view what = "users/login";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto user = object_at(*root, "user", what);
  if (!user) return user.error();
  Login login;
  login.user_id = int_field(*user, "user_id").value_or(0);
  login.token = string_field(*user, "auth");
  login.expires = time_field(*user, "expires");
  login.user_type = string_field(*user, "user_type");
  login.refresh_token = string_field(*user, "refresh_token");
  login.user_agreement = bool_field(*user, "user_agreement");
  if (login.token.empty()) return fail(what, "no \"auth\" token in answer");
  return login;
}

util::Result<User> parse_user(std::string_view body) {
  constexpr std::string_view what = "users/get";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto user = object_at(*root, "user", what);
  if (!user) return user.error();
  User u;
  u.user_id = int_field(*user, "user_id").value_or(0);
  u.user_type = string_field(*user, "user_type");
  u.company = string_field(*user, "company");
  return u;
}

util::Result<SystemsPage> parse_systems(std::string_view body) {
  constexpr std::string_view what = "systems";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto list = array_at(*root, "systems", what);
  if (!list) return list.error();
  SystemsPage page;
  auto err = each_object(*list, what, "systems", [&](dom::object o, std::size_t i) {
    System s = system_of(o);
    if (s.system_id <= 0) return std::optional(fail(what, entry_error("systems", i, "system_id")));
    page.systems.push_back(std::move(s));
    return std::optional<util::Error>();
  });
  if (err) return *err;
  page.meta = meta_of(*root);
  return page;
}

util::Result<System> parse_system_view(std::string_view body) {
  constexpr std::string_view what = "systems/view";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto o = object_at(*root, "system", what);
  if (!o) return o.error();
  System s = system_of(*o);
  if (s.system_id <= 0) return fail(what, "\"system\" has no valid system_id");
  return s;
}

util::Result<Layout> parse_layout(std::string_view body) {
  constexpr std::string_view what = "systems/layout";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto sys = object_at(*root, "system", what);
  if (!sys) return sys.error();
  Layout layout;
  layout.system_id = int_field(*sys, "system_id").value_or(0);
  // Nested levels are lenient: an entry that is not an object is skipped, a missing list is empty.
  const auto read_strings = [](dom::object parent, LayoutMppt& mppt) {
    for_each_object_in(parent, "strings", [&](dom::object so) {
      LayoutString str;
      str.string_id = int_field(so, "string_id").value_or(0);
      str.object_id = int_field(so, "object_id").value_or(0);
      str.label = string_field(so, "label");
      str.short_label = string_field(so, "short_label");
      for_each_object_in(so, "panels", [&](dom::object po) {
        LayoutPanel p;
        p.panel_id = int_field(po, "panel_id").value_or(0);
        p.object_id = int_field(po, "object_id").value_or(0);
        p.source_id = int_field(po, "source_id").value_or(0);
        p.panel_type_id = int_field(po, "panel_type_id").value_or(0);
        p.label = string_field(po, "label");
        p.short_label = string_field(po, "short_label");
        p.serial = string_field(po, "serial");
        p.type = string_field(po, "type");
        str.panels.push_back(std::move(p));
      });
      mppt.strings.push_back(std::move(str));
    });
  };
  for_each_object_in(*sys, "inverters", [&](dom::object io) {
    LayoutInverter inv;
    inv.inverter_id = int_field(io, "inverter_id").value_or(0);
    inv.inverter_type_id = int_field(io, "inverter_type_id").value_or(0);
    inv.object_id = int_field(io, "object_id").value_or(0);
    inv.source_id = int_field(io, "source_id").value_or(0);
    inv.label = string_field(io, "label");
    inv.serial = string_field_any(io, {"inverter_serial", "serial"});
    for_each_object_in(io, "mppts", [&](dom::object mo) {
      LayoutMppt mppt;
      mppt.mppt_id = int_field(mo, "mppt_id").value_or(0);
      mppt.object_id = int_field(mo, "object_id").value_or(0);
      mppt.label = string_field(mo, "label");
      read_strings(mo, mppt);
      inv.mppts.push_back(std::move(mppt));
    });
    layout.inverters.push_back(std::move(inv));
  });
  // A system that records no inverter level hangs its strings off itself: they go under an
  // unnamed inverter and MPPT, so their panels' serials and types are read all the same.
  LayoutMppt direct;
  read_strings(*sys, direct);
  if (!direct.strings.empty()) {
    LayoutInverter unnamed;
    unnamed.mppts.push_back(std::move(direct));
    layout.inverters.push_back(std::move(unnamed));
  }
  return layout;
}

util::Result<std::vector<Object>> parse_objects(std::string_view body) {
  constexpr std::string_view what = "objects/system";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto list = array_at(*root, "objects", what);
  if (!list) return list.error();
  std::vector<Object> out;
  auto err = each_object(*list, what, "objects", [&](dom::object o, std::size_t i) {
    Object obj;
    auto id = int_field(o, "id");
    if (!id) return std::optional(fail(what, entry_error("objects", i, "id")));
    obj.id = *id;
    obj.parent_id = int_field(o, "parent_id").value_or(-1);
    obj.object_type_id = int_field(o, "object_type_id").value_or(0);
    obj.label = string_field(o, "label");
    obj.datasource = string_field(o, "datasource");
    for_each_in(o, "children", [&](dom::element c) {
      if (auto cid = int_of(c)) obj.children.push_back(*cid);
    });
    if (dom::object ui; o.at_key("ui").get_object().get(ui) == simdjson::SUCCESS) {
      ObjectUi u;
      u.x = number_field(ui, "X");
      u.y = number_field(ui, "Y");
      u.mp = number_field(ui, "MP");
      u.op = number_field(ui, "OP");
      u.x1 = number_field(ui, "X1");
      u.y1 = number_field(ui, "Y1");
      u.x2 = number_field(ui, "X2");
      u.y2 = number_field(ui, "Y2");
      u.rotation = number_field(ui, "R");
      u.zoom = number_field(ui, "Z");
      obj.ui = u;
    }
    out.push_back(std::move(obj));
    return std::optional<util::Error>();
  });
  if (err) return *err;
  return out;
}

util::Result<std::vector<ObjectType>> parse_object_types(std::string_view body) {
  constexpr std::string_view what = "objects/types";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto list = array_at(*root, "object_types", what);
  if (!list) return list.error();
  std::vector<ObjectType> out;
  auto err = each_object(*list, what, "object_types", [&](dom::object o, std::size_t i) {
    auto id = int_field(o, "object_type_id");
    if (!id) return std::optional(fail(what, entry_error("object_types", i, "object_type_id")));
    out.push_back(ObjectType{*id, string_field_any(o, {"label", "name"})});
    return std::optional<util::Error>();
  });
  if (err) return *err;
  return out;
}

util::Result<std::vector<Source>> parse_sources(std::string_view body) {
  constexpr std::string_view what = "sources/system";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto list = array_at(*root, "sources", what);
  if (!list) return list.error();
  std::vector<Source> out;
  auto err = each_object(*list, what, "sources", [&](dom::object o, std::size_t) {
    Source s;
    s.source_id = int_field(o, "source_id").value_or(0);
    s.system_id = int_field(o, "system_id").value_or(0);
    s.object_id = int_field(o, "object_id").value_or(0);
    s.name = string_field(o, "name");
    s.serial = string_field(o, "serial");
    s.sw_version = string_field(o, "sw_version");
    s.timezone = string_field(o, "timezone");
    s.control_state = string_field(o, "control_state");
    s.gateway_count = int_field(o, "gateway_count");
    s.last_checkin = time_field(o, "last_checkin");
    s.created_on = time_field(o, "created_on");
    for_each_object_in(o, "sets", [&](dom::object so) {
      SourceSet set;
      set.name = string_field_any(so, {"set_name", "key", "name"});
      set.last_min = time_field(so, "last_min");
      set.last_day = time_field(so, "last_day");
      set.last_raw = time_field(so, "last_raw");
      s.sets.push_back(std::move(set));
    });
    out.push_back(std::move(s));
    return std::optional<util::Error>();
  });
  if (err) return *err;
  return out;
}

util::Result<AlertsPage> parse_alerts(std::string_view body) {
  constexpr std::string_view what = "alerts/system";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto list = array_at(*root, "alerts", what);
  if (!list) return list.error();
  AlertsPage page;
  auto err = each_object(*list, what, "alerts", [&](dom::object o, std::size_t) {
    Alert a;
    a.alert_id = int_field(o, "alert_id").value_or(0);
    a.system_id = int_field(o, "system_id").value_or(0);
    a.unique_id = int_field(o, "unique_id").value_or(0);
    a.title = string_field(o, "title");
    a.message = string_field(o, "message");
    a.description = string_field(o, "description");
    a.generated = time_field(o, "generated");
    a.added = time_field(o, "added");
    a.archived = bool_field(o, "archived");
    page.alerts.push_back(std::move(a));
    return std::optional<util::Error>();
  });
  if (err) return *err;
  page.meta = meta_of(*root);
  return page;
}

util::Result<std::vector<AlertType>> parse_alert_types(std::string_view body) {
  constexpr std::string_view what = "alerts/types";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto list = array_at(*root, "alert_types", what);
  if (!list) return list.error();
  std::vector<AlertType> out;
  auto err = each_object(*list, what, "alert_types", [&](dom::object o, std::size_t) {
    AlertType t;
    t.alert_type_id = int_field(o, "alert_type_id").value_or(0);
    t.unique_id = int_field(o, "unique_id").value_or(0);
    t.title = string_field(o, "title");
    t.description = string_field(o, "description");
    out.push_back(std::move(t));
    return std::optional<util::Error>();
  });
  if (err) return *err;
  return out;
}

util::Result<Summary> parse_summary(std::string_view body) {
  constexpr std::string_view what = "data/summary";
  auto root = parse_document(body, what);
  if (!root) return root.error();
  auto o = object_at(*root, "summary", what);
  if (!o) return o.error();
  Summary s;
  s.lifetime_energy_wh = number_field(*o, "lifetime_energy_dc");
  s.ytd_energy_wh = number_field(*o, "ytd_energy_dc");
  s.daily_energy_wh = number_field(*o, "daily_energy_dc");
  s.last_power_w = number_field(*o, "last_power_dc");
  s.updated_on = time_field(*o, "updated_on");
  return s;
}

util::Result<ApiError> parse_error(std::string_view body) {
  auto root = parse_document(body, "error body");
  if (!root) return root.error();
  dom::object o;
  if (root->get_object().get(o) != simdjson::SUCCESS) return fail("error body", "not an object");
  ApiError e;
  e.name = string_field(o, "name");
  e.message = string_field(o, "message");
  e.code = int_field(o, "code").value_or(0);
  e.status = int_field(o, "status").value_or(0);
  return e;
}

}  // namespace tigo
