#include "backfill/openmetrics.hpp"

#include <charconv>

#include "metrics/exposition.hpp"

namespace backfill {

void append_family_header(std::string& out, const Family& f) {
  metrics::append_family_header(out, f, metrics::Format::openmetrics);
}

void append_sample(std::string& out, std::string_view name, std::string_view labels, double value,
                   Timestamp at) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  metrics::append_value(out, value);
  out += ' ';
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, at.time_since_epoch().count());
  out.append(buf, ec == std::errc{} ? static_cast<std::size_t>(end - buf) : 0);
  out += '\n';
}

}  // namespace backfill
