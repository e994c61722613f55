#include "refresh/state_file.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "util/json_string.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

namespace refresh {
namespace {

namespace dom = simdjson::dom;
using std::chrono::seconds;

constexpr std::string_view kFormatName = "tigo_exporter state";
// Times the exporter itself took (successes, cursors) are at most this far past written_at: a
// later one is corrupt and would keep a dataset from ever coming due.
constexpr seconds kOwnTimeSlack{60};
// Data times (a gateway's newest minute, a reading) from a site whose clock runs ahead.
constexpr seconds kDataTimeSlack{std::chrono::hours{24}};
// Every time in the file: about 1,000 years around 1970, so no arithmetic on it overflows.
constexpr std::int64_t kMaxAbsTime = std::int64_t{1} << 35;
// Any positive id the API may send (the policy's arithmetic on ids is unsigned).
constexpr std::int64_t kMaxSystemId = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMaxLearnedSeconds = 86400;
constexpr std::size_t kMaxLearnedValues = 64;

std::string errno_text(int err) { return std::strerror(err); }

// ---- writing ---------------------------------------------------------------------------------

// A small JSON writer: objects, arrays, strings in the project's one escaping (util/json_string:
// bytes that are not UTF-8 become U+FFFD, so a label Tigo sent oddly cannot make the file
// unreadable), integers, shortest round-trip doubles (non-finite ones as null).
class Json {
 public:
  std::string out;

  Json& begin_object() {
    prefix();
    out += '{';
    first_.push_back(true);
    return *this;
  }
  Json& end_object() {
    out += '}';
    first_.pop_back();
    return *this;
  }
  Json& begin_array() {
    prefix();
    out += '[';
    first_.push_back(true);
    return *this;
  }
  Json& end_array() {
    out += ']';
    first_.pop_back();
    return *this;
  }
  Json& key(std::string_view k) {
    comma();
    quoted(k);
    out += ':';
    after_key_ = true;
    return *this;
  }
  Json& value(std::string_view s) {
    prefix();
    quoted(s);
    return *this;
  }
  Json& value(const char* s) { return value(std::string_view(s)); }
  Json& value(const std::string& s) { return value(std::string_view(s)); }
  Json& value(std::int64_t v) {
    prefix();
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
    return *this;
  }
  Json& value(int v) { return value(static_cast<std::int64_t>(v)); }
  Json& value(double v) {
    prefix();
    if (!std::isfinite(v)) {
      out += "null";
      return *this;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
    return *this;
  }
  Json& value(bool b) {
    prefix();
    out += b ? "true" : "false";
    return *this;
  }
  Json& value(Timestamp t) {
    return value(static_cast<std::int64_t>(t.time_since_epoch().count()));
  }

  template <class T>
  Json& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  template <class T>
  Json& field(std::string_view k, const std::optional<T>& v) {
    if (v) field(k, *v);
    return *this;
  }

 private:
  void comma() {
    if (first_.empty()) return;
    if (!first_.back()) out += ',';
    first_.back() = false;
  }
  void prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    comma();
  }
  void quoted(std::string_view s) { util::append_json_string(out, s); }

  std::vector<bool> first_;
  bool after_key_ = false;
};

void write_system(Json& j, const tigo::System& s) {
  j.begin_object()
      .field("system_id", s.system_id)
      .field("name", s.name)
      .field("external_id", s.external_id)
      .field("street", s.street)
      .field("city", s.city)
      .field("state", s.state)
      .field("zip", s.zip)
      .field("country", s.country)
      .field("timezone", s.timezone)
      .field("latitude", s.latitude)
      .field("longitude", s.longitude)
      .field("power_rating_w", s.power_rating_w)
      .field("turn_on_date", s.turn_on_date)
      .field("created", s.created)
      .field("status", s.status)
      .end_object();
}

void write_objects(Json& j, const std::vector<tigo::Object>& objects) {
  j.begin_array();
  for (const auto& o : objects) {
    j.begin_object()
        .field("id", o.id)
        .field("parent_id", o.parent_id)
        .field("object_type_id", o.object_type_id)
        .field("label", o.label)
        .field("datasource", o.datasource);
    j.key("children").begin_array();
    for (auto c : o.children) j.value(c);
    j.end_array();
    if (o.ui) {
      const auto& u = *o.ui;
      j.key("ui")
          .begin_object()
          .field("x", u.x)
          .field("y", u.y)
          .field("mp", u.mp)
          .field("op", u.op)
          .field("x1", u.x1)
          .field("y1", u.y1)
          .field("x2", u.x2)
          .field("y2", u.y2)
          .field("rotation", u.rotation)
          .field("zoom", u.zoom)
          .end_object();
    }
    j.end_object();
  }
  j.end_array();
}

void write_layout(Json& j, const tigo::Layout& l) {
  j.begin_object().field("system_id", l.system_id).key("inverters").begin_array();
  for (const auto& inv : l.inverters) {
    j.begin_object()
        .field("inverter_id", inv.inverter_id)
        .field("inverter_type_id", inv.inverter_type_id)
        .field("object_id", inv.object_id)
        .field("source_id", inv.source_id)
        .field("label", inv.label)
        .field("serial", inv.serial)
        .key("mppts")
        .begin_array();
    for (const auto& m : inv.mppts) {
      j.begin_object()
          .field("mppt_id", m.mppt_id)
          .field("object_id", m.object_id)
          .field("label", m.label)
          .key("strings")
          .begin_array();
      for (const auto& s : m.strings) {
        j.begin_object()
            .field("string_id", s.string_id)
            .field("object_id", s.object_id)
            .field("label", s.label)
            .field("short_label", s.short_label)
            .key("panels")
            .begin_array();
        for (const auto& p : s.panels)
          j.begin_object()
              .field("panel_id", p.panel_id)
              .field("object_id", p.object_id)
              .field("source_id", p.source_id)
              .field("panel_type_id", p.panel_type_id)
              .field("label", p.label)
              .field("short_label", p.short_label)
              .field("serial", p.serial)
              .field("type", p.type)
              .end_object();
        j.end_array().end_object();
      }
      j.end_array().end_object();
    }
    j.end_array().end_object();
  }
  j.end_array().end_object();
}

void write_sources(Json& j, const std::vector<tigo::Source>& sources) {
  j.begin_array();
  for (const auto& s : sources) {
    j.begin_object()
        .field("source_id", s.source_id)
        .field("system_id", s.system_id)
        .field("object_id", s.object_id)
        .field("name", s.name)
        .field("serial", s.serial)
        .field("sw_version", s.sw_version)
        .field("timezone", s.timezone)
        .field("control_state", s.control_state)
        .field("gateway_count", s.gateway_count)
        .field("last_checkin", s.last_checkin)
        .field("created_on", s.created_on)
        .key("sets")
        .begin_array();
    for (const auto& set : s.sets)
      j.begin_object()
          .field("name", set.name)
          .field("last_min", set.last_min)
          .field("last_day", set.last_day)
          .field("last_raw", set.last_raw)
          .end_object();
    j.end_array().end_object();
  }
  j.end_array();
}

void write_alerts(Json& j, const std::vector<tigo::Alert>& alerts) {
  j.begin_array();
  for (const auto& a : alerts)
    j.begin_object()
        .field("alert_id", a.alert_id)
        .field("system_id", a.system_id)
        .field("unique_id", a.unique_id)
        .field("title", a.title)
        .field("message", a.message)
        .field("description", a.description)
        .field("generated", a.generated)
        .field("added", a.added)
        .field("archived", a.archived)
        .end_object();
  j.end_array();
}

void write_saved_system(Json& j, const SavedSystem& saved) {
  const auto& s = saved.state;
  const auto& l = saved.learned;
  j.begin_object();
  j.key("system");
  write_system(j, s.system);
  if (s.objects) {
    j.key("objects");
    write_objects(j, *s.objects);
  }
  if (s.layout) {
    j.key("layout");
    write_layout(j, *s.layout);
  }
  j.key("sources");
  write_sources(j, s.sources);
  if (s.summary)
    j.key("summary")
        .begin_object()
        .field("lifetime_energy_wh", s.summary->lifetime_energy_wh)
        .field("ytd_energy_wh", s.summary->ytd_energy_wh)
        .field("daily_energy_wh", s.summary->daily_energy_wh)
        .field("last_power_w", s.summary->last_power_w)
        .field("updated_on", s.summary->updated_on)
        .end_object();
  j.key("alerts");
  write_alerts(j, s.alerts);
  // [object id, param, value, sample minute], one row per reading.
  j.key("readings").begin_array();
  for (const auto& [id, readings] : s.panel_values)
    for (const auto& spec : tigo::kPanelParams)
      if (const auto& r = readings[spec.param]; r && std::isfinite(r->value))
        j.begin_array().value(id).value(spec.api_name).value(r->value).value(r->sample).end_array();
  j.end_array();
  j.key("object_power").begin_array();
  for (const auto& [id, r] : s.object_power)
    if (std::isfinite(r.value))
      j.begin_array().value(id).value(r.value).value(r.sample).end_array();
  j.end_array();
  // [object id, Wh, site-local day as days since 1970-01-01]
  j.key("energy_today").begin_array();
  for (const auto& [id, e] : s.object_energy_today)
    if (std::isfinite(e.first))
      j.begin_array()
          .value(id)
          .value(e.first)
          .value(static_cast<std::int64_t>(e.second.time_since_epoch().count()))
          .end_array();
  j.end_array();
  j.field("panels_cursor", s.panels_cursor).field("details_cursor", s.details_cursor);
  j.key("unanswered").begin_object();
  for (const auto& spec : tigo::kPanelParams)
    j.field(spec.api_name, s.unanswered_at[tigo::index_of(spec.param)]);
  j.end_object();
  // Per dataset: the fleet's state (what is served) and the policy's track (what is due); the
  // two take their success times from the same job, so one last_success serves both.
  j.key("datasets").begin_object();
  for (auto d : kAllDatasets) {
    const auto& st = s.state(d);
    const auto& t = l.tracks[static_cast<std::size_t>(d)];
    j.key(dataset_name(d))
        .begin_object()
        .field("attempted", st.attempted)
        .field("success", st.success)
        .field("last_success", st.last_success)
        .field("successes", t.successes)
        .field("settled_tonight", t.settled_tonight)
        .end_object();
  }
  j.end_object();
  j.key("arrivals")
      .begin_object()
      .field("panels_known", l.panels_known)
      .field("newest_pin", l.newest_pin)
      .field("newest_seen_at", l.newest_seen_at)
      .field("detail_calls", l.detail_calls);
  j.key("spacings").begin_array();
  for (auto x : l.spacings) j.value(static_cast<std::int64_t>(x.count()));
  j.end_array().key("lags").begin_array();
  for (auto x : l.lags) j.value(static_cast<std::int64_t>(x.count()));
  j.end_array().field("run", static_cast<std::int64_t>(l.run)).key("late_by").begin_array();
  for (auto x : l.late_by) j.value(static_cast<std::int64_t>(x.count()));
  j.end_array().end_object();
  j.end_object();
}

// ---- reading ---------------------------------------------------------------------------------

// The first reason a text is rejected; thrown inside parse_state only, caught there.
struct Invalid {
  std::string what;
};
[[noreturn]] void invalid(std::string what) { throw Invalid{std::move(what)}; }

dom::object object_of(dom::element e, std::string_view what) {
  dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) invalid(std::string(what) + ": not an object");
  return o;
}
dom::array array_of(dom::element e, std::string_view what) {
  dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) invalid(std::string(what) + ": not an array");
  return a;
}
std::int64_t int_of(dom::element e, std::string_view what,
                    std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                    std::int64_t hi = std::numeric_limits<std::int64_t>::max()) {
  std::int64_t v = 0;
  if (e.get_int64().get(v) != simdjson::SUCCESS) invalid(std::string(what) + ": not an integer");
  if (v < lo || v > hi) invalid(std::string(what) + ": out of range");
  return v;
}
double double_of(dom::element e, std::string_view what) {
  double v = 0;
  if (e.is_int64()) return static_cast<double>(int_of(e, what));
  if (e.get_double().get(v) != simdjson::SUCCESS || !std::isfinite(v))
    invalid(std::string(what) + ": not a number");
  return v;
}
std::string string_of(dom::element e, std::string_view what) {
  std::string_view v;
  if (e.get_string().get(v) != simdjson::SUCCESS) invalid(std::string(what) + ": not a string");
  return std::string(v);
}
bool bool_of(dom::element e, std::string_view what) {
  bool v = false;
  if (e.get_bool().get(v) != simdjson::SUCCESS) invalid(std::string(what) + ": not a boolean");
  return v;
}
Timestamp time_of(dom::element e, std::string_view what, std::int64_t lo = -kMaxAbsTime,
                  std::int64_t hi = kMaxAbsTime) {
  return Timestamp{seconds{int_of(e, what, std::max(lo, -kMaxAbsTime), std::min(hi, kMaxAbsTime))}};
}

// A field: absent (or null) is nullopt.
std::optional<dom::element> optional_field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return e;
}
dom::element required_field(dom::object o, std::string_view key) {
  auto e = optional_field(o, key);
  if (!e) invalid(std::string(key) + ": missing");
  return *e;
}

// Field readers bound to one object and the bounds of its times.
struct Fields {
  dom::object o;
  std::string where;
  std::int64_t max_own_time;   // successes, cursors: written_at + slack
  std::int64_t max_data_time;  // minutes and times from the API

  std::string name(std::string_view key) const { return where + "." + std::string(key); }
  std::int64_t integer(std::string_view key) const {
    return int_of(required_field(o, key), name(key));
  }
  std::int64_t integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    return int_of(required_field(o, key), name(key), lo, hi);
  }
  std::string text(std::string_view key) const {
    return string_of(required_field(o, key), name(key));
  }
  bool flag(std::string_view key) const { return bool_of(required_field(o, key), name(key)); }
  std::optional<double> number_opt(std::string_view key) const {
    auto e = optional_field(o, key);
    return e ? std::optional{double_of(*e, name(key))} : std::nullopt;
  }
  std::optional<std::int64_t> integer_opt(std::string_view key) const {
    auto e = optional_field(o, key);
    return e ? std::optional{int_of(*e, name(key))} : std::nullopt;
  }
  std::optional<bool> flag_opt(std::string_view key) const {
    auto e = optional_field(o, key);
    return e ? std::optional{bool_of(*e, name(key))} : std::nullopt;
  }
  std::optional<Timestamp> data_time(std::string_view key) const {
    auto e = optional_field(o, key);
    return e ? std::optional{time_of(*e, name(key), -kMaxAbsTime, max_data_time)} : std::nullopt;
  }
  std::optional<Timestamp> own_time(std::string_view key) const {
    auto e = optional_field(o, key);
    return e ? std::optional{time_of(*e, name(key), 0, max_own_time)} : std::nullopt;
  }
  dom::array list(std::string_view key) const {
    return array_of(required_field(o, key), name(key));
  }
  Fields sub(dom::element e, std::string_view key) const {
    return Fields{object_of(e, name(key)), name(key), max_own_time, max_data_time};
  }
};

tigo::System read_system(const Fields& f) {
  tigo::System s;
  s.system_id = f.integer("system_id", 1, kMaxSystemId);
  s.name = f.text("name");
  s.external_id = f.text("external_id");
  s.street = f.text("street");
  s.city = f.text("city");
  s.state = f.text("state");
  s.zip = f.text("zip");
  s.country = f.text("country");
  s.timezone = f.text("timezone");
  s.latitude = f.number_opt("latitude");
  s.longitude = f.number_opt("longitude");
  if ((s.latitude && std::fabs(*s.latitude) > 90) || (s.longitude && std::fabs(*s.longitude) > 180))
    invalid(f.name("latitude/longitude") + ": out of range");
  s.power_rating_w = f.number_opt("power_rating_w");
  s.turn_on_date = f.data_time("turn_on_date");
  s.created = f.data_time("created");
  s.status = f.text("status");
  return s;
}

std::vector<tigo::Object> read_objects(const Fields& parent, dom::array list) {
  std::vector<tigo::Object> out;
  for (auto e : list) {
    const auto f = parent.sub(e, "objects[]");
    tigo::Object o;
    o.id = f.integer("id");
    o.parent_id = f.integer("parent_id");
    o.object_type_id = f.integer("object_type_id");
    o.label = f.text("label");
    o.datasource = f.text("datasource");
    for (auto c : f.list("children")) o.children.push_back(int_of(c, f.name("children[]")));
    if (auto ui = optional_field(f.o, "ui")) {
      const auto fu = f.sub(*ui, "ui");
      o.ui = tigo::ObjectUi{fu.number_opt("x"),   fu.number_opt("y"),  fu.number_opt("mp"),
                            fu.number_opt("op"),  fu.number_opt("x1"), fu.number_opt("y1"),
                            fu.number_opt("x2"),  fu.number_opt("y2"), fu.number_opt("rotation"),
                            fu.number_opt("zoom")};
    }
    out.push_back(std::move(o));
  }
  return out;
}

tigo::Layout read_layout(const Fields& f) {
  tigo::Layout l;
  l.system_id = f.integer("system_id");
  for (auto ie : f.list("inverters")) {
    const auto fi = f.sub(ie, "inverters[]");
    tigo::LayoutInverter inv;
    inv.inverter_id = fi.integer("inverter_id");
    inv.inverter_type_id = fi.integer("inverter_type_id");
    inv.object_id = fi.integer("object_id");
    inv.source_id = fi.integer("source_id");
    inv.label = fi.text("label");
    inv.serial = fi.text("serial");
    for (auto me : fi.list("mppts")) {
      const auto fm = fi.sub(me, "mppts[]");
      tigo::LayoutMppt m;
      m.mppt_id = fm.integer("mppt_id");
      m.object_id = fm.integer("object_id");
      m.label = fm.text("label");
      for (auto se : fm.list("strings")) {
        const auto fs = fm.sub(se, "strings[]");
        tigo::LayoutString s;
        s.string_id = fs.integer("string_id");
        s.object_id = fs.integer("object_id");
        s.label = fs.text("label");
        s.short_label = fs.text("short_label");
        for (auto pe : fs.list("panels")) {
          const auto fp = fs.sub(pe, "panels[]");
          tigo::LayoutPanel p;
          p.panel_id = fp.integer("panel_id");
          p.object_id = fp.integer("object_id");
          p.source_id = fp.integer("source_id");
          p.panel_type_id = fp.integer("panel_type_id");
          p.label = fp.text("label");
          p.short_label = fp.text("short_label");
          p.serial = fp.text("serial");
          p.type = fp.text("type");
          s.panels.push_back(std::move(p));
        }
        m.strings.push_back(std::move(s));
      }
      inv.mppts.push_back(std::move(m));
    }
    l.inverters.push_back(std::move(inv));
  }
  return l;
}

std::vector<tigo::Source> read_sources(const Fields& parent, dom::array list) {
  std::vector<tigo::Source> out;
  for (auto e : list) {
    const auto f = parent.sub(e, "sources[]");
    tigo::Source s;
    s.source_id = f.integer("source_id");
    s.system_id = f.integer("system_id");
    s.object_id = f.integer("object_id");
    s.name = f.text("name");
    s.serial = f.text("serial");
    s.sw_version = f.text("sw_version");
    s.timezone = f.text("timezone");
    s.control_state = f.text("control_state");
    s.gateway_count = f.integer_opt("gateway_count");
    s.last_checkin = f.data_time("last_checkin");
    s.created_on = f.data_time("created_on");
    for (auto se : f.list("sets")) {
      const auto fs = f.sub(se, "sets[]");
      s.sets.push_back(tigo::SourceSet{fs.text("name"), fs.data_time("last_min"),
                                       fs.data_time("last_day"), fs.data_time("last_raw")});
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<tigo::Alert> read_alerts(const Fields& parent, dom::array list) {
  std::vector<tigo::Alert> out;
  for (auto e : list) {
    const auto f = parent.sub(e, "alerts[]");
    tigo::Alert a;
    a.alert_id = f.integer("alert_id");
    a.system_id = f.integer("system_id");
    a.unique_id = f.integer("unique_id");
    a.title = f.text("title");
    a.message = f.text("message");
    a.description = f.text("description");
    a.generated = f.data_time("generated");
    a.added = f.data_time("added");
    a.archived = f.flag_opt("archived");
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<Dataset> dataset_of(std::string_view name) {
  for (auto d : kAllDatasets)
    if (dataset_name(d) == name) return d;
  return std::nullopt;
}

std::vector<seconds> read_durations(const Fields& f, std::string_view key) {
  std::vector<seconds> out;
  const auto list = f.list(key);
  if (list.size() > kMaxLearnedValues) invalid(f.name(key) + ": too many values");
  for (auto e : list)
    out.emplace_back(int_of(e, f.name(key), -kMaxLearnedSeconds, kMaxLearnedSeconds));
  return out;
}

SavedSystem read_saved_system(const Fields& f) {
  SavedSystem saved;
  auto& s = saved.state;
  auto& l = saved.learned;
  s.system = read_system(f.sub(required_field(f.o, "system"), "system"));
  const std::string where = "system " + std::to_string(s.system.system_id);
  const Fields g{f.o, where, f.max_own_time, f.max_data_time};
  if (auto e = optional_field(g.o, "objects"))
    s.objects = read_objects(g, array_of(*e, g.name("objects")));
  if (auto e = optional_field(g.o, "layout")) s.layout = read_layout(g.sub(*e, "layout"));
  s.sources = read_sources(g, g.list("sources"));
  if (auto e = optional_field(g.o, "summary")) {
    const auto fs = g.sub(*e, "summary");
    tigo::Summary sum;
    sum.lifetime_energy_wh = fs.number_opt("lifetime_energy_wh");
    sum.ytd_energy_wh = fs.number_opt("ytd_energy_wh");
    sum.daily_energy_wh = fs.number_opt("daily_energy_wh");
    sum.last_power_w = fs.number_opt("last_power_w");
    sum.updated_on = fs.data_time("updated_on");
    s.summary = sum;
  }
  s.alerts = read_alerts(g, g.list("alerts"));
  for (auto row : g.list("readings")) {
    const auto a = array_of(row, g.name("readings[]"));
    if (a.size() != 4) invalid(g.name("readings[]") + ": not [id, param, value, time]");
    const auto id = int_of(a.at(0).value_unsafe(), g.name("readings[].id"));
    const auto param =
        tigo::panel_param_from_api(string_of(a.at(1).value_unsafe(), g.name("readings[].param")));
    if (!param) invalid(g.name("readings[].param") + ": unknown");
    const auto value = double_of(a.at(2).value_unsafe(), g.name("readings[].value"));
    const auto at = time_of(a.at(3).value_unsafe(), g.name("readings[].time"), 0, g.max_data_time);
    s.panel_values[id][*param] = Reading{value, at};
  }
  for (auto row : g.list("object_power")) {
    const auto a = array_of(row, g.name("object_power[]"));
    if (a.size() != 3) invalid(g.name("object_power[]") + ": not [id, value, time]");
    const auto id = int_of(a.at(0).value_unsafe(), g.name("object_power[].id"));
    s.object_power[id] =
        Reading{double_of(a.at(1).value_unsafe(), g.name("object_power[].value")),
                time_of(a.at(2).value_unsafe(), g.name("object_power[].time"), 0, g.max_data_time)};
  }
  for (auto row : g.list("energy_today")) {
    const auto a = array_of(row, g.name("energy_today[]"));
    if (a.size() != 3) invalid(g.name("energy_today[]") + ": not [id, value, day]");
    const auto id = int_of(a.at(0).value_unsafe(), g.name("energy_today[].id"));
    const auto value = double_of(a.at(1).value_unsafe(), g.name("energy_today[].value"));
    const auto day =
        int_of(a.at(2).value_unsafe(), g.name("energy_today[].day"), 0, kMaxAbsTime / 86400);
    s.object_energy_today[id] = {value, date::local_days{date::days{day}}};
  }
  // Cursors are minutes of data, the window of the next fetch starts there.
  s.panels_cursor = g.data_time("panels_cursor");
  s.details_cursor = g.data_time("details_cursor");
  const auto unanswered = g.sub(required_field(g.o, "unanswered"), "unanswered");
  for (const auto& spec : tigo::kPanelParams)
    s.unanswered_at[tigo::index_of(spec.param)] = unanswered.own_time(spec.api_name);

  const auto datasets = object_of(required_field(g.o, "datasets"), g.name("datasets"));
  std::set<Dataset> seen;
  for (auto [key, value] : datasets) {
    const auto d = dataset_of(key);
    if (!d) invalid(g.name("datasets") + ": unknown dataset " + std::string(key));
    if (!seen.insert(*d).second) invalid(g.name("datasets") + ": " + std::string(key) + " twice");
    const Fields fd{object_of(value, g.name(key)), where + "." + std::string(key), g.max_own_time,
                    g.max_data_time};
    auto& st = s.state(*d);
    st.attempted = fd.flag("attempted");
    st.success = fd.flag("success");
    st.last_success = fd.own_time("last_success");
    if (st.success && !st.last_success) invalid(fd.name("success") + ": without last_success");
    auto& t = l.tracks[static_cast<std::size_t>(*d)];
    t.last_success = st.last_success;
    t.successes = static_cast<int>(fd.integer("successes", 0, 1'000'000'000));
    t.settled_tonight = fd.flag("settled_tonight");
  }
  const auto fa = g.sub(required_field(g.o, "arrivals"), "arrivals");
  l.panels_known = fa.flag("panels_known");
  if (auto e = optional_field(fa.o, "newest_pin"))
    l.newest_pin = time_of(*e, fa.name("newest_pin"), 0, g.max_data_time);
  l.newest_seen_at = fa.own_time("newest_seen_at");
  l.detail_calls = static_cast<int>(fa.integer("detail_calls", 1, 64));
  l.spacings = read_durations(fa, "spacings");
  l.lags = read_durations(fa, "lags");
  l.run =
      static_cast<std::size_t>(fa.integer("run", 0, static_cast<std::int64_t>(l.spacings.size())));
  l.late_by = read_durations(fa, "late_by");
  if (l.late_by.size() > kLateSamples) invalid(fa.name("late_by") + ": too many values");
  // What the policy could not have learned would break its arithmetic (a spacing of 0 once
  // crashed every start): the policy's own invariants, judged at the file's time.
  if (auto why = check_learned(l, Timestamp{seconds{g.max_own_time}})) invalid(fa.name(*why));
  return saved;
}

SavedState read_state(dom::element root) {
  const Fields top{object_of(root, "state file"), "state file", 0, 0};
  if (top.text("format") != kFormatName) invalid("not a tigo_exporter state file");
  if (top.integer("version") != kStateFormatVersion)
    invalid("format version " + std::to_string(top.integer("version")) + ", expected " +
            std::to_string(kStateFormatVersion));
  SavedState out;
  out.identity = top.text("identity");
  if (out.identity.size() != 64 ||
      out.identity.find_first_not_of("0123456789abcdef") != std::string::npos)
    invalid("identity: not a SHA-256");
  out.written_at = time_of(required_field(top.o, "written_at"), "written_at", 0, kMaxAbsTime / 2);
  const auto written = out.written_at.time_since_epoch().count();
  const Fields f{top.o, "state file", written + kOwnTimeSlack.count(),
                 written + kDataTimeSlack.count()};
  if (auto e = optional_field(f.o, "user")) {
    const auto fu = f.sub(*e, "user");
    out.user = tigo::User{fu.integer("user_id"), fu.text("user_type"), fu.text("company")};
  }
  for (auto e : f.list("object_types")) {
    const auto ft = f.sub(e, "object_types[]");
    out.object_types[ft.integer("object_type_id")] = ft.text("label");
  }
  for (auto e : f.list("alert_types")) {
    const auto ft = f.sub(e, "alert_types[]");
    tigo::AlertType t{ft.integer("alert_type_id"), ft.integer("unique_id"), ft.text("title"),
                      ft.text("description")};
    out.alert_types[t.unique_id] = std::move(t);
  }
  for (auto e : f.list("systems")) {
    auto sys = read_saved_system(f.sub(e, "systems[]"));
    if (!out.systems.empty() &&
        sys.state.system.system_id <= out.systems.back().state.system.system_id)
      invalid("systems: ids not ascending (system " + std::to_string(sys.state.system.system_id) +
              ")");
    out.systems.push_back(std::move(sys));
  }
  return out;
}

}  // namespace

std::string state_identity(std::string_view api_url, std::string_view username,
                           std::string_view token) {
  std::string input = "tigo_exporter state\n";
  input.append(api_url);
  input += '\n';
  if (!username.empty()) {
    input += "user\n";
    input.append(username);
  } else {
    input += "token\n";
    input.append(token);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

std::string state_file_name(const SystemFilter& systems) {
  if (systems.shard_count <= 1) return "state.json";
  return "state-shard-" + std::to_string(systems.shard_index) + "-of-" +
         std::to_string(systems.shard_count) + ".json";
}

SavedState capture_state(const FleetState& fleet, const Policy& policy, std::string identity,
                         Timestamp now) {
  SavedState out;
  out.identity = std::move(identity);
  out.written_at = now;
  out.user = fleet.user;
  out.object_types = fleet.object_types;
  out.alert_types = fleet.alert_types;
  out.systems.reserve(fleet.systems.size());
  for (const auto& [id, s] : fleet.systems) {
    SavedSystem saved;
    auto& c = saved.state;  // everything but the derived zone and hierarchy
    c.system = s.system;
    c.objects = s.objects;
    c.layout = s.layout;
    c.sources = s.sources;
    c.summary = s.summary;
    c.alerts = s.alerts;
    c.panel_values = s.panel_values;
    c.object_power = s.object_power;
    c.object_energy_today = s.object_energy_today;
    c.states = s.states;
    c.panels_cursor = s.panels_cursor;
    c.details_cursor = s.details_cursor;
    c.unanswered_at = s.unanswered_at;
    if (auto l = policy.learned(id)) saved.learned = std::move(*l);
    out.systems.push_back(std::move(saved));
  }
  return out;
}

std::string serialize_state(const SavedState& state) {
  Json j;
  j.begin_object()
      .field("format", kFormatName)
      .field("version", kStateFormatVersion)
      .field("identity", state.identity)
      .field("written_at", state.written_at);
  if (state.user)
    j.key("user")
        .begin_object()
        .field("user_id", state.user->user_id)
        .field("user_type", state.user->user_type)
        .field("company", state.user->company)
        .end_object();
  j.key("object_types").begin_array();
  for (const auto& [id, label] : state.object_types)
    j.begin_object().field("object_type_id", id).field("label", label).end_object();
  j.end_array().key("alert_types").begin_array();
  for (const auto& [code, t] : state.alert_types)
    j.begin_object()
        .field("alert_type_id", t.alert_type_id)
        .field("unique_id", t.unique_id)
        .field("title", t.title)
        .field("description", t.description)
        .end_object();
  j.end_array().key("systems").begin_array();
  for (const auto& s : state.systems) write_saved_system(j, s);
  j.end_array().end_object();
  j.out += '\n';
  return std::move(j.out);
}

namespace {

util::Result<SavedState> parse_padded(const simdjson::padded_string& padded) {
  if (padded.size() > kMaxStateFileBytes) return util::make_error("larger than the size limit");
  // A parser per call: the file is read once at start (and by the fuzz targets).
  dom::parser parser(kMaxStateFileBytes);
  dom::element root;
  if (auto err = parser.parse(padded).get(root); err)
    return util::make_error(std::string("invalid JSON: ") + simdjson::error_message(err));
  try {
    return read_state(root);
  } catch (const Invalid& e) {
    return util::make_error(e.what);
  }
}

}  // namespace

util::Result<SavedState> parse_state(std::string_view text) {
  if (text.size() > kMaxStateFileBytes) return util::make_error("larger than the size limit");
  return parse_padded(simdjson::padded_string(text));
}

util::Result<std::size_t> restore_state(SavedState state, const RestoreOptions& o,
                                        FleetState& fleet, Policy& policy) {
  if (state.identity != o.identity)
    return util::make_error("foreign: written for another account or API URL");
  if (state.written_at > o.now + std::chrono::minutes{5})
    return util::make_error("written in the future (a clock changed?)");
  if (o.now - state.written_at > o.max_age)
    return util::make_error("stale: written " +
                            std::to_string((o.now - state.written_at).count() / 60) +
                            " min ago, more than the layout interval");
  fleet.user = std::move(state.user);
  fleet.object_types = std::move(state.object_types);
  fleet.alert_types = std::move(state.alert_types);
  std::size_t restored = 0;
  for (auto& saved : state.systems) {
    const auto id = saved.state.system.system_id;
    if (!o.systems.wanted(id)) continue;
    auto& s = fleet.systems[id] = std::move(saved.state);
    if (auto zone = tigo::find_zone(s.system.timezone)) s.zone = *zone;
    update_hierarchy(s, fleet.object_types);
    // Values keep their own times (when the API confirmed them, Tigo's check-ins and updated_on):
    // the staleness rule judges them as if the exporter had never stopped. Success flags stay as
    // the last refresh left them: tigo_refresh_success says whether refreshing works, not age.
    policy.add_system(id, s.system.latitude, s.system.longitude);
    policy.restore(id, saved.learned, o.now);
    ++restored;
  }
  // Planned now, not at the first job: the snapshot published before any call judges values by
  // the intervals the fleet gets (an hour-old hierarchy is fresh at a 6 h interval).
  if (restored > 0) policy.next_wake(o.now);
  return restored;
}

util::Result<SavedState> read_state_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return util::make_error(err == ENOENT ? "missing" : "cannot open: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return util::make_error("not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > kMaxStateFileBytes) {
    ::close(fd);
    return util::make_error("larger than the size limit (" + std::to_string(size) + " bytes)");
  }
  // Straight into the parser's padded buffer: the file is in memory once.
  simdjson::padded_string text(static_cast<std::size_t>(size));
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != text.size()) return util::make_error("cannot read: shorter than its size");
  return parse_padded(text);
}

util::Result<std::size_t> write_state_file(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  const auto fail = [&](std::string_view step, int err) {
    ::unlink(tmp.c_str());
    return util::make_error(std::string(step) + " " + tmp + ": " + errno_text(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    const int err = errno;
    // Do not unlink: what is in the way (a directory, say) is not ours.
    return util::make_error("cannot create " + tmp + ": " + errno_text(err));
  }
  for (std::size_t done = 0; done < text.size();) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      return fail("cannot write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("cannot sync", err);
  }
  if (::close(fd) != 0) return fail("cannot close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename", errno);
  // The rename itself reaches the disk with the directory.
  const auto dir = std::filesystem::path(path).parent_path();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return text.size();
}

util::Result<bool> prepare_state_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return util::make_error("cannot create " + dir + ": " + ec.message());
  if (!std::filesystem::is_directory(dir, ec)) return util::make_error(dir + " is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return util::make_error("cannot write in " + dir + ": " + errno_text(errno));
  return true;
}

std::size_t load_state_file(const std::string& path, const RestoreOptions& options,
                            FleetState& fleet, Policy& policy) {
  auto state = read_state_file(path);
  if (!state) {
    const bool missing = state.error().message == "missing";
    util::log::write(missing ? util::log::Level::info : util::log::Level::warn,
                     "state file not used: starting cold",
                     {{"path", path}, {"reason", state.error().message}});
    return 0;
  }
  const auto written = state->written_at;
  auto restored = restore_state(std::move(*state), options, fleet, policy);
  if (!restored) {
    util::log::warn("state file not used: starting cold",
                    {{"path", path}, {"reason", restored.error().message}});
    return 0;
  }
  util::log::info("state restored", {{"path", path},
                                     {"systems", std::to_string(*restored)},
                                     {"written_at", util::format_iso8601_utc(written)}});
  return *restored;
}

}  // namespace refresh
