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
// Names of the families announced by "# TYPE" lines.
std::vector<std::string> family_names(const std::string& text);

}  // namespace testing
