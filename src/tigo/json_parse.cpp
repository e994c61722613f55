#include "tigo/json_parse.hpp"

#include <simdjson.h>

#include <charconv>
#include <string>

#include "util/time.hpp"

namespace tigo {
namespace {

namespace dom = simdjson::dom;

// One parser per thread: parsers reuse their buffers, and refreshes run on worker threads.
dom::parser& thread_parser() {
  thread_local dom::parser parser;
  return parser;
}

util::Result<dom::element> parse_document(std::string_view body, std::string_view what) {
  simdjson::padded_string padded(body);
  // The padded copy must outlive the element: parse() keeps views into the parser's own
  // buffer, which it copies into, so a temporary padded string is safe here.
  dom::element root;
  if (auto err = thread_parser().parse(padded).get(root); err) {
    return util::make_error(std::string(what) + ": invalid JSON: " + simdjson::error_message(err));
  }
  return root;
}

std::optional<double> number_of(dom::element e) {
  double d = 0;
  int64_t i = 0;
  uint64_t u = 0;
  switch (e.type()) {
    case dom::element_type::DOUBLE:
      if (e.get_double().get(d) == simdjson::SUCCESS) return d;
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
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
      return d;
    }
    default:
      return std::nullopt;
  }
}

std::optional<double> number_field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  return number_of(e);
}

std::optional<std::int64_t> int_field(dom::object o, std::string_view key) {
  auto d = number_field(o, key);
  if (!d || *d != static_cast<double>(static_cast<std::int64_t>(*d))) return std::nullopt;
  return static_cast<std::int64_t>(*d);
}

// Strings, and numbers written where a string belongs ("zip": 12345), as text; null -> "".
std::string string_field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return {};
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (e.is_int64() || e.is_uint64()) return simdjson::minify(e);
  return {};
}

std::optional<Timestamp> time_field(dom::object o, std::string_view key) {
  dom::element e;
  std::string_view s;
  if (o.at_key(key).get(e) != simdjson::SUCCESS || e.get_string().get(s) != simdjson::SUCCESS)
    return std::nullopt;
  return util::parse_iso8601(s);
}

util::Result<dom::object> envelope(dom::element root, std::string_view key, std::string_view what) {
  dom::object o;
  if (root.at_key(key).get_object().get(o) != simdjson::SUCCESS) {
    return util::make_error(std::string(what) + ": no \"" + std::string(key) + "\" object");
  }
  return o;
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
  return s;
}

}  // namespace

util::Result<Login> parse_login(std::string_view body) {
  auto root = parse_document(body, "users/login");
  if (!root) return root.error();
  auto user = envelope(*root, "user", "users/login");
  if (!user) return user.error();
  Login login;
  login.user_id = int_field(*user, "user_id").value_or(0);
  login.token = string_field(*user, "auth");
  login.expires = time_field(*user, "expires");
  login.user_type = string_field(*user, "user_type");
  if (login.token.empty()) return util::make_error("users/login: no \"auth\" token in answer");
  return login;
}

util::Result<SystemsPage> parse_systems(std::string_view body) {
  auto root = parse_document(body, "systems");
  if (!root) return root.error();
  dom::array list;
  if (root->at_key("systems").get_array().get(list) != simdjson::SUCCESS) {
    return util::make_error("systems: no \"systems\" array");
  }
  SystemsPage page;
  for (dom::element item : list) {
    dom::object o;
    if (item.get_object().get(o) != simdjson::SUCCESS) {
      return util::make_error("systems: an entry of \"systems\" is not an object");
    }
    System s = system_of(o);
    if (s.system_id <= 0) return util::make_error("systems: an entry has no valid system_id");
    page.systems.push_back(std::move(s));
  }
  dom::object meta;
  if (root->at_key("_meta").get_object().get(meta) == simdjson::SUCCESS) {
    PageMeta m;
    m.total_count = int_field(meta, "totalCount").value_or(0);
    m.page_count = int_field(meta, "pageCount").value_or(1);
    m.current_page = int_field(meta, "currentPage").value_or(1);
    m.per_page = int_field(meta, "perPage").value_or(0);
    page.meta = m;
  }
  return page;
}

util::Result<Summary> parse_summary(std::string_view body) {
  auto root = parse_document(body, "data/summary");
  if (!root) return root.error();
  auto o = envelope(*root, "summary", "data/summary");
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
  if (root->get_object().get(o) != simdjson::SUCCESS) {
    return util::make_error("error body: not an object");
  }
  ApiError e;
  e.name = string_field(o, "name");
  e.message = string_field(o, "message");
  e.code = int_field(o, "code").value_or(0);
  e.status = int_field(o, "status").value_or(0);
  return e;
}

}  // namespace tigo
