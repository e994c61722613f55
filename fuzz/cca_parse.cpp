// The CCA's local API bodies (src/local/cca_parse.*): every body read by all four parsers, the
// data as each of the three series, on the day and in the zone of the input's first line.
// Refusals give a reason; what is read stays within the parsers' bounds and ranges, a minute
// near its day, a date read back as itself.
// Input: "ZONE YYYY-MM-DD", a newline, then the body ("Europe/Berlin 2026-10-25\n{...}").
#include "local/cca_parse.hpp"

#include <chrono>
#include <cmath>
#include <set>
#include <string>

#include "targets.hpp"

namespace fuzz {
namespace {

using namespace std::chrono;

template <class T>
bool refused(const util::Result<T>& r) {
  if (r) return false;
  require(!r.error().message.empty(), "refused without a reason");
  return true;
}

void check_layout(std::string_view body) {
  const auto layout = local::parse_cca_config(body);
  if (refused(layout)) return;
  require(layout->panel_count() <= local::kMaxCcaPanels, "more panels than the bound");
  require(layout->inverters.size() + layout->strings.size() <= local::kMaxCcaNodes,
          "more nodes than the bound");
  std::set<std::string> labels;
  std::set<std::string> ids;
  for (const auto& inverter : layout->inverters)
    require(ids.insert(inverter.id).second, "an inverter id twice");
  for (const auto& s : layout->strings) {
    require(ids.insert(s.id).second, "a string id twice");
    require(!s.inverter || *s.inverter < layout->inverters.size(), "a string's inverter missing");
    require(s.label.size() <= local::kMaxCcaLabelBytes, "a string label over the bound");
    for (const auto& label : s.panels) {
      require(!label.empty() && label.size() <= local::kMaxCcaLabelBytes, "a bad panel label");
      require(labels.insert(label).second, "a panel label twice");
    }
  }
}

void check_data(std::string_view body, local::CcaSeries series, local_days day,
                std::string_view zone) {
  const auto data = local::parse_cca_data(body, series, day, zone);
  if (refused(data)) return;
  const double max = series == local::CcaSeries::power     ? 10'000
                     : series == local::CcaSeries::voltage ? 200
                                                           : 255;
  require(data->rows <= local::kMaxCcaRows, "more rows than the bound");
  require(data->newest.size() <= local::kMaxCcaPanels, "more panels than the bound");
  // Offsets are within +-14 h and a gap never a day: a minute lies within two days of its day.
  const sys_seconds nominal{local_seconds{day}.time_since_epoch()};
  for (const auto& [label, point] : data->newest) {
    require(!label.empty() && label.size() <= local::kMaxCcaLabelBytes, "a bad panel label");
    require(std::isfinite(point.value) && point.value >= 0 && point.value <= max,
            "a value out of range");
    require(point.minute >= nominal - hours{48} && point.minute <= nominal + hours{72},
            "a minute far from its day");
  }
}

void check_energy(std::string_view body) {
  const auto rows = local::parse_cca_energy(body);
  if (refused(rows)) return;
  require(rows->size() <= local::kMaxCcaEnergyRows, "more energy rows than the bound");
  std::set<local_days> days;
  for (const auto& row : *rows) {
    require(std::isfinite(row.wh) && row.wh >= 0, "energy out of range");
    require(days.insert(row.day).second, "a day twice");
  }
}

void check_jsconfig(std::string_view body) {
  const auto day = local::parse_cca_jsconfig(body);
  if (refused(day)) return;
  const std::string text = local::format_cca_date(*day);
  require(text.size() == 10, "a date not written as YYYY-MM-DD: " + text);
  const auto again = local::parse_cca_jsconfig(R"({"sDate":")" + text + R"("})");
  require(again.ok() && *again == *day, "the date does not read back: " + text);
}

}  // namespace

void run_cca_parse(std::string_view input) {
  std::string_view zone = "Europe/Berlin";
  local_days day{year{2026} / 10 / 25};
  std::string_view body = input;
  if (const auto newline = input.find('\n'); newline != std::string_view::npos) {
    const std::string_view head = input.substr(0, newline);
    body = input.substr(newline + 1);
    const auto space = head.find(' ');
    zone = head.substr(0, space);
    if (space != std::string_view::npos) {
      // The day as summary_jsconfig would write it.
      const auto parsed = local::parse_cca_jsconfig(R"({"sDate":")" +
                                                    std::string(head.substr(space + 1)) + R"("})");
      if (parsed) day = *parsed;
    }
  }
  check_layout(body);
  check_jsconfig(body);
  check_energy(body);
  for (const auto series :
       {local::CcaSeries::power, local::CcaSeries::voltage, local::CcaSeries::rssi})
    check_data(body, series, day, zone);
}

}  // namespace fuzz
