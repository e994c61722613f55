#include "support/exposition.hpp"

#include <sstream>

namespace testing {

std::vector<Sample> parse_exposition(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    std::size_t i = line.find_first_of("{ ");
    s.name = line.substr(0, i);
    if (i != std::string::npos && line[i] == '{') i = parse_label_block(line, i, s.labels);
    const std::string value = line.substr(line.find_first_not_of(' ', i));
    s.value = value == "+Inf" ? 1e308 * 10 : value == "-Inf" ? -1e308 * 10 : std::stod(value);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> family_names(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) out.push_back(line.substr(7, line.find(' ', 7) - 7));
  }
  return out;
}

}  // namespace testing
