// Parsing Prometheus text exposition in tests: samples with their labels, unescaped.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> parse_exposition(const std::string& text);

// The label block `{k="v",...}` of a sample line that starts at line[i] == '{', values unescaped,
// into `labels`; returns the index just past the closing brace. Header-only: the OpenMetrics
// reader (tests/support/openmetrics.hpp) uses it too.
inline std::size_t parse_label_block(const std::string& line, std::size_t i,
                                     std::map<std::string, std::string>& labels) {
  ++i;  // past {
  while (i < line.size() && line[i] != '}') {
    const auto eq = line.find('=', i);
    const std::string key = line.substr(i, eq - i);
    std::string value;
    i = eq + 2;  // past ="
    while (i < line.size() && line[i] != '"') {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
        value += line[i] == 'n' ? '\n' : line[i];
      } else {
        value += line[i];
      }
      ++i;
    }
    labels[key] = value;
    ++i;  // past the closing quote
    if (i < line.size() && line[i] == ',') ++i;
  }
  return i + 1;  // past }
}
// Names of the families announced by "# TYPE" lines.
std::vector<std::string> family_names(const std::string& text);

}  // namespace testing
