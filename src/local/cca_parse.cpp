#include "local/cca_parse.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_map>

#include "util/time.hpp"

namespace local {
namespace {

namespace dom = simdjson::dom;
using std::chrono::local_days;
using std::chrono::local_seconds;
using std::chrono::sys_seconds;

// summary_data is the deepest: root, dataset, segment, data, row, d.
constexpr std::size_t kMaxDepth = 8;

// What a TS4 can report, as the CCA writes it (vin in tenths of a volt): wider than any real
// panel, so only garbage fails.
struct Range {
  double min;
  double max;
  double divisor;  // written value / divisor = the unit of CcaPoint (correctly rounded)
};
constexpr Range kPowerRange{0, 10'000, 1};    // W
constexpr Range kVoltageRange{0, 2'000, 10};  // 0.1 V -> V
constexpr Range kRssiRange{0, 255, 1};
constexpr double kMaxEnergyWh = 1e9;  // a day of a CCA's site is MWh at most

// One parser per thread (sources poll on their own threads), its capacity and depth capped.
dom::parser& thread_parser() {
  thread_local dom::parser parser = [] {
    dom::parser p(kMaxCcaBodyBytes);
    if (p.allocate(4096, kMaxDepth) != simdjson::SUCCESS) {
      // Left unallocated, every parse fails with a clear error instead.
    }
    return p;
  }();
  return parser;
}

util::Error fail(std::string_view what, std::string_view why) {
  return util::make_error(std::string(what) + ": " + std::string(why));
}

// The document lives in the thread's parser (the DOM copies strings), so the padded copy of the
// body goes at once; a body over the limit is not copied at all.
util::Result<dom::element> parse_body(std::string_view body) {
  if (body.size() > kMaxCcaBodyBytes)
    return fail("body", "larger than " + std::to_string(kMaxCcaBodyBytes) + " bytes");
  const simdjson::padded_string padded(body);
  dom::element root;
  if (auto err = thread_parser().parse(padded).get(root); err)
    return fail("body", std::string("invalid JSON: ") + simdjson::error_message(err));
  return root;
}

// A label or id as written, bounded; an id may also be written as a non-negative integer.
util::Result<std::string> name_of(dom::element e, std::string_view what, bool integer_allowed) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    if (s.size() > kMaxCcaLabelBytes)
      return fail(what, "longer than " + std::to_string(kMaxCcaLabelBytes) + " bytes");
    return std::string(s);
  }
  std::int64_t i = 0;
  if (integer_allowed && e.type() == dom::element_type::INT64 &&
      e.get_int64().get(i) == simdjson::SUCCESS && i >= 0)
    return std::to_string(i);
  return fail(what, integer_allowed ? "not a string or a non-negative integer" : "not a string");
}

// "YYYY-MM-DD", exactly.
std::optional<local_days> date_of(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  const auto t = util::parse_iso8601(text);
  if (!t) return std::nullopt;
  return local_days{std::chrono::floor<std::chrono::days>(*t).time_since_epoch()};
}

// "HH:MM", exactly: minutes since midnight.
std::optional<std::chrono::minutes> clock_time_of(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  int h = 0;
  int m = 0;
  for (const std::size_t at : {0u, 1u, 3u, 4u})
    if (text[at] < '0' || text[at] > '9') return std::nullopt;
  std::from_chars(text.data(), text.data() + 2, h);
  std::from_chars(text.data() + 3, text.data() + 5, m);
  if (h > 23 || m > 59) return std::nullopt;
  return std::chrono::hours{h} + std::chrono::minutes{m};
}

// "YYYY-MM-DD HH:MM:SS" with an optional fraction, no offset: a wall time.
std::optional<local_seconds> wall_time_of(std::string_view text) {
  if (text.size() < 19 || text.size() > 29 || text[10] != ' ') return std::nullopt;
  const std::string_view rest = text.substr(19);
  if (!rest.empty() && (rest.size() < 2 || rest.front() != '.' ||
                        rest.substr(1).find_first_not_of("0123456789") != std::string_view::npos))
    return std::nullopt;
  const auto t = util::parse_iso8601(text);  // no offset: read as if UTC, i.e. the wall time
  if (!t) return std::nullopt;
  return local_seconds{t->time_since_epoch()};
}

// ---- summary_config ----

struct Node {
  std::string id;
  std::int64_t type = 0;
  std::string label;
  std::vector<std::string> children;
};

constexpr std::int64_t kSystem = 1;
constexpr std::int64_t kPanel = 2;
constexpr std::int64_t kString = 3;
constexpr std::int64_t kInverter = 4;

util::Result<Node> node_of(dom::element e) {
  dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return fail("node", "not an object");
  Node n;
  dom::element id;
  if (o.at_key("id").get(id) != simdjson::SUCCESS) return fail("node", "no id");
  auto id_text = name_of(id, "node id", true);
  if (!id_text) return id_text.error();
  n.id = std::move(*id_text);
  const std::string what = "node " + n.id;
  dom::element type;
  if (o.at_key("type").get(type) != simdjson::SUCCESS) return fail(what, "no type");
  if (type.type() != dom::element_type::INT64 || type.get_int64().get(n.type) != simdjson::SUCCESS)
    return fail(what, "type not an integer");
  dom::element label;
  if (o.at_key("label").get(label) == simdjson::SUCCESS) {
    auto text = name_of(label, what + " label", false);
    if (!text) return text.error();
    n.label = std::move(*text);
  }
  dom::element children;
  if (o.at_key("children").get(children) == simdjson::SUCCESS) {
    dom::array list;
    if (children.get_array().get(list) != simdjson::SUCCESS)
      return fail(what, "children not an array");
    if (list.size() > kMaxCcaPanels) return fail(what, "more children than a CCA holds");
    for (auto child : list) {
      auto text = name_of(child, what + " child", true);
      if (!text) return text.error();
      n.children.push_back(std::move(*text));
    }
  }
  return n;
}

// Walks the flat node list into the layout (see CcaLayout for the order).
class LayoutBuilder {
 public:
  explicit LayoutBuilder(std::vector<Node> nodes) : nodes_(std::move(nodes)) {}

  util::Result<CcaLayout> build() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!by_id_.emplace(nodes_[i].id, i).second)
        return fail("node " + nodes_[i].id, "listed twice");
    }
    std::optional<std::size_t> system;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].type != kSystem) continue;
      if (system) return fail("config", "more than one system node (type 1)");
      system = i;
    }
    if (!system) return fail("config", "no system node (type 1)");
    const Node& root = nodes_[*system];
    layout_.system_id = root.id;
    layout_.system_label = root.label;
    for (const auto& child : root.children) {
      const auto* n = find(child);
      if (n == nullptr) return fail("system", "lists unknown node " + child);
      if (n->type == kInverter) {
        if (auto r = add_inverter(*n); !r) return r.error();
      } else if (n->type == kString) {
        if (auto r = add_string(*n, std::nullopt); !r) return r.error();
      } else {
        return fail("system", "lists node " + child + ", neither an inverter nor a string");
      }
    }
    for (const auto& n : nodes_) {
      if (n.type == kInverter && !placed_.count(n.id))
        if (auto r = add_inverter(n); !r) return r.error();
    }
    for (const auto& n : nodes_) {
      if (n.type == kString && !placed_.count(n.id))
        if (auto r = add_string(n, std::nullopt); !r) return r.error();
    }
    return std::move(layout_);
  }

 private:
  const Node* find(const std::string& id) const {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &nodes_[it->second];
  }

  util::Result<bool> add_inverter(const Node& inverter) {
    if (!placed_.insert(inverter.id).second) return fail("inverter " + inverter.id, "listed twice");
    const std::size_t index = layout_.inverters.size();
    layout_.inverters.push_back(CcaInverter{inverter.id, inverter.label});
    for (const auto& child : inverter.children) {
      const auto* n = find(child);
      if (n == nullptr) return fail("inverter " + inverter.id, "lists unknown node " + child);
      if (n->type != kString)
        return fail("inverter " + inverter.id, "lists node " + child + ", not a string");
      if (auto r = add_string(*n, index); !r) return r.error();
    }
    return true;
  }

  util::Result<bool> add_string(const Node& string, std::optional<std::size_t> inverter) {
    const std::string what = "string " + string.id;
    if (!placed_.insert(string.id).second) return fail(what, "listed twice");
    CcaString out{string.id, string.label, inverter, {}};
    for (const auto& child : string.children) {
      std::string label = child;
      if (const auto* n = find(child)) {
        if (n->type != kPanel) return fail(what, "lists node " + child + ", not a panel");
        if (!n->label.empty()) label = n->label;
      }
      if (label.empty()) return fail(what, "a panel without a label");
      if (!panels_.insert(label).second) return fail("panel " + label, "listed twice");
      if (panels_.size() > kMaxCcaPanels) return fail("config", "more panels than a CCA holds");
      out.panels.push_back(std::move(label));
    }
    layout_.strings.push_back(std::move(out));
    return true;
  }

  std::vector<Node> nodes_;
  std::unordered_map<std::string, std::size_t> by_id_;
  std::set<std::string, std::less<>> placed_;  // inverters and strings taken into the layout
  std::set<std::string, std::less<>> panels_;
  CcaLayout layout_;
};

// ---- summary_data ----

const Range& range_of(CcaSeries series) {
  switch (series) {
    case CcaSeries::voltage:
      return kVoltageRange;
    case CcaSeries::rssi:
      return kRssiRange;
    case CcaSeries::power:
      break;
  }
  return kPowerRange;
}

std::string number_text(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::string("?");
}

// A cell: nullopt for no reading (null or "-"), else its value in CcaPoint's unit.
util::Result<std::optional<double>> cell_of(dom::element e, const Range& range,
                                            const std::string& what) {
  if (e.is_null()) return std::optional<double>{};
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    if (s == "-") return std::optional<double>{};
    return fail(what, "not a number");
  }
  double v = 0;
  if (e.get_double().get(v) != simdjson::SUCCESS) return fail(what, "not a number");
  if (!std::isfinite(v) || v < range.min || v > range.max)
    return fail(what, "out of range " + number_text(range.min) + ".." + number_text(range.max) +
                          ": " + number_text(v));
  if (v == 0) v = 0;  // -0 is 0
  return std::optional<double>{v / range.divisor};
}

util::Result<std::vector<std::string>> order_of(dom::object segment) {
  dom::element e;
  if (segment.at_key("order").get(e) != simdjson::SUCCESS) return fail("segment", "no order");
  dom::array list;
  if (e.get_array().get(list) != simdjson::SUCCESS) return fail("order", "not an array");
  if (list.size() > kMaxCcaPanels) return fail("order", "more panels than a CCA holds");
  std::vector<std::string> order;
  std::set<std::string, std::less<>> seen;  // copies: views into `order` move as it grows
  for (auto label : list) {
    auto text = name_of(label, "order label", false);
    if (!text) return text.error();
    if (text->empty()) return fail("order", "an empty label");
    if (!seen.insert(*text).second) return fail("order", "label " + *text + " twice");
    order.push_back(std::move(*text));
  }
  return order;
}

class DatasetReader {
 public:
  DatasetReader(CcaSeries series, local_days day, std::string_view zone)
      : range_(range_of(series)), day_(day), zone_(zone) {}

  util::Result<CcaDataset> read(dom::object root) {
    dom::element last;
    if (root.at_key("lastData").get(last) == simdjson::SUCCESS) {
      std::string_view text;
      if (last.get_string().get(text) != simdjson::SUCCESS) return fail("lastData", "not a string");
      const auto wall = wall_time_of(text);
      if (!wall) return fail("lastData", "not YYYY-MM-DD HH:MM:SS");
      out_.last_data = util::local_to_utc_in_zone(*wall, zone_);
    }
    dom::element e;
    if (root.at_key("dataset").get(e) != simdjson::SUCCESS) return fail("body", "no dataset");
    dom::array segments;
    if (e.get_array().get(segments) != simdjson::SUCCESS) return fail("dataset", "not an array");
    if (segments.size() > kMaxCcaRows) return fail("dataset", "more segments than minutes a day");
    for (auto s : segments) {
      dom::object segment;
      if (s.get_object().get(segment) != simdjson::SUCCESS) return fail("segment", "not an object");
      if (auto r = read_segment(segment); !r) return r.error();
    }
    return std::move(out_);
  }

 private:
  util::Result<bool> read_segment(dom::object segment) {
    auto order = order_of(segment);
    if (!order) return order.error();
    dom::element e;
    if (segment.at_key("data").get(e) != simdjson::SUCCESS) return fail("segment", "no data");
    dom::array rows;
    if (e.get_array().get(rows) != simdjson::SUCCESS) return fail("data", "not an array");
    for (auto r : rows) {
      if (++out_.rows > kMaxCcaRows) return fail("data", "more rows than minutes a day");
      dom::object row;
      if (r.get_object().get(row) != simdjson::SUCCESS) return fail("row", "not an object");
      if (auto ok = read_row(row, *order); !ok) return ok.error();
    }
    return true;
  }

  util::Result<bool> read_row(dom::object row, const std::vector<std::string>& order) {
    dom::element t;
    std::string_view t_text;
    if (row.at_key("t").get(t) != simdjson::SUCCESS ||
        t.get_string().get(t_text) != simdjson::SUCCESS)
      return fail("row", "no time t");
    const auto in_day = clock_time_of(t_text);
    if (!in_day) return fail("row", "time not HH:MM");
    const std::string what = "row " + std::string(t_text);
    dom::element d;
    dom::array cells;
    if (row.at_key("d").get(d) != simdjson::SUCCESS ||
        d.get_array().get(cells) != simdjson::SUCCESS)
      return fail(what, "no values d");
    if (cells.size() != order.size())
      return fail(what, std::to_string(cells.size()) + " values for " +
                            std::to_string(order.size()) + " panels");
    const auto minute = util::local_to_utc_in_zone(local_seconds{day_} + *in_day, zone_, previous_);
    if (!minute) return fail("zone", "unknown time zone " + std::string(zone_));
    previous_ = minute;
    std::size_t i = 0;
    for (auto cell : cells) {
      const std::string& label = order[i++];
      auto value = cell_of(cell, range_, what + " " + label);
      if (!value) return value.error();
      if (!*value) continue;
      auto it = out_.newest.find(label);
      if (it == out_.newest.end()) {
        if (out_.newest.size() >= kMaxCcaPanels)
          return fail("data", "more panels than a CCA holds");
        out_.newest.emplace(label, CcaPoint{**value, *minute});
      } else if (*minute >= it->second.minute) {
        it->second = CcaPoint{**value, *minute};
      }
    }
    return true;
  }

  const Range& range_;
  local_days day_;
  std::string_view zone_;
  std::optional<sys_seconds> previous_;
  CcaDataset out_;
};

}  // namespace

std::size_t CcaLayout::panel_count() const {
  std::size_t n = 0;
  for (const auto& s : strings) n += s.panels.size();
  return n;
}

std::string_view cca_temp_name(CcaSeries series) {
  switch (series) {
    case CcaSeries::voltage:
      return "vin";
    case CcaSeries::rssi:
      return "rssi";
    case CcaSeries::power:
      break;
  }
  return "pin";
}

util::Result<CcaLayout> parse_cca_config(std::string_view body) {
  auto root = parse_body(body);
  if (!root) return root.error();
  dom::array list;
  if (root->get_array().get(list) != simdjson::SUCCESS) return fail("config", "not an array");
  if (list.size() > kMaxCcaNodes) return fail("config", "more nodes than a CCA holds");
  std::vector<Node> nodes;
  nodes.reserve(list.size());
  for (auto e : list) {
    auto node = node_of(e);
    if (!node) return node.error();
    nodes.push_back(std::move(*node));
  }
  return LayoutBuilder(std::move(nodes)).build();
}

util::Result<local_days> parse_cca_jsconfig(std::string_view body) {
  auto root = parse_body(body);
  if (!root) return root.error();
  dom::object o;
  if (root->get_object().get(o) != simdjson::SUCCESS) return fail("jsconfig", "not an object");
  dom::element e;
  if (o.at_key("sDate").get(e) != simdjson::SUCCESS) return fail("sDate", "missing");
  std::string_view text;
  if (e.get_string().get(text) != simdjson::SUCCESS) return fail("sDate", "not a string");
  const auto day = date_of(text);
  if (!day) return fail("sDate", "not YYYY-MM-DD");
  return *day;
}

util::Result<CcaDataset> parse_cca_data(std::string_view body, CcaSeries series, local_days day,
                                        std::string_view zone) {
  if (!util::is_known_zone(zone)) return fail("zone", "unknown time zone " + std::string(zone));
  auto root = parse_body(body);
  if (!root) return root.error();
  dom::object o;
  if (root->get_object().get(o) != simdjson::SUCCESS) return fail("data", "not an object");
  return DatasetReader(series, day, zone).read(o);
}

util::Result<std::vector<CcaEnergyDay>> parse_cca_energy(std::string_view body) {
  auto root = parse_body(body);
  if (!root) return root.error();
  dom::array rows;
  if (root->get_array().get(rows) != simdjson::SUCCESS) return fail("energy", "not an array");
  if (rows.size() > kMaxCcaEnergyRows) return fail("energy", "more rows than expected");
  std::vector<CcaEnergyDay> out;
  std::set<local_days> seen;
  for (auto r : rows) {
    dom::array row;
    if (r.get_array().get(row) != simdjson::SUCCESS || row.size() != 2)
      return fail("energy", "a row not [date, Wh]");
    std::string_view text;
    if (row.at(0).get_string().get(text) != simdjson::SUCCESS)
      return fail("energy", "a date not a string");
    const auto day = date_of(text);
    if (!day) return fail("energy", "a date not YYYY-MM-DD");
    const std::string what = "energy " + std::string(text);
    double wh = 0;
    if (row.at(1).get_double().get(wh) != simdjson::SUCCESS) return fail(what, "not a number");
    if (!std::isfinite(wh) || wh < 0 || wh > kMaxEnergyWh)
      return fail(what, "out of range 0.." + number_text(kMaxEnergyWh) + ": " + number_text(wh));
    if (!seen.insert(*day).second) return fail(what, "listed twice");
    out.push_back(CcaEnergyDay{*day, wh == 0 ? 0 : wh});
  }
  return out;
}

std::string format_cca_date(local_days day) {
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace local
