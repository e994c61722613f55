#include "sim/quirks.hpp"

#include <iterator>

namespace sim {
namespace {

struct Entry {
  const char* name;
  bool Quirks::*field;
};

constexpr Entry kEntries[] = {
    {"numbers_as_strings", &Quirks::numbers_as_strings},
    {"extra_fields", &Quirks::extra_fields},
    {"nulls", &Quirks::nulls},
    {"paging_meta", &Quirks::paging_meta},
    {"header_only", &Quirks::header_only},
    {"future_rows", &Quirks::future_rows},
    {"millis", &Quirks::millis},
    {"uneven_rows", &Quirks::uneven_rows},
    {"late_batches", &Quirks::late_batches},
    {"min_refused", &Quirks::min_refused},
    {"get_only_login", &Quirks::get_only_login},
    {"pacific_times", &Quirks::pacific_times},
};

}  // namespace

Quirks Quirks::none() {
  Quirks q;
  for (const auto& e : kEntries) q.*(e.field) = false;
  return q;
}

util::Result<Quirks> parse_quirks(std::string_view text) {
  Quirks q;
  bool first = true;
  while (!text.empty() || first) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const bool was_first = first;
    first = false;
    if (item.empty()) continue;
    if (item == "all") {
      q = Quirks{};
      continue;
    }
    if (item == "none") {
      if (!was_first) return util::make_error("--quirks: \"none\" must come first");
      q = Quirks::none();
      continue;
    }
    bool on = true;
    if (item.front() == '-' || item.front() == '+') {
      on = item.front() == '+';
      item.remove_prefix(1);
    }
    bool found = false;
    for (const auto& e : kEntries) {
      if (item == e.name) {
        q.*(e.field) = on;
        found = true;
      }
    }
    if (!found) return util::make_error("--quirks: unknown quirk \"" + std::string(item) + "\"");
  }
  return q;
}

std::string quirk_names() {
  std::string out;
  for (const auto& e : kEntries) {
    if (!out.empty()) out += ',';
    out += e.name;
  }
  return out;
}

}  // namespace sim
