// Reading the backfill's OpenMetrics output in tests: samples with their labels and timestamps,
// and a check of the shape promtool needs (families whole, each series' samples together and
// strictly in time order, `# EOF` last). Header-only: unit and e2e tests both use it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exposition.hpp"

namespace testing::om {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string label_text;  // as written, for series identity
  double value = 0;
  std::int64_t timestamp = 0;
};

struct File {
  std::vector<std::string> families;  // `# TYPE` names in order
  std::vector<Sample> samples;
  std::vector<std::string> problems;  // shape violations, empty when fine
};

inline File parse(const std::string& text) {
  File f;
  std::istringstream in(text);
  std::string line, family, last_series;
  std::set<std::string> seen_families, seen_series;
  std::int64_t last_ts = 0;
  bool eof = false;
  auto problem = [&](const std::string& what) { f.problems.push_back(what + ": " + line); };
  while (std::getline(in, line)) {
    if (eof) problem("after # EOF");
    if (line == "# EOF") {
      eof = true;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      if (!seen_families.insert(family).second) problem("family announced twice");
      f.families.push_back(family);
      continue;
    }
    if (line.rfind("# UNIT ", 0) == 0 || line.rfind("# HELP ", 0) == 0) {
      if (line.compare(7, family.size() + 1, family + " ") != 0)
        problem("metadata of another family");
      continue;
    }
    if (line.empty() || line[0] == '#') {
      problem("unexpected line");
      continue;
    }
    Sample s;
    std::size_t i = line.find_first_of("{ ");
    s.name = line.substr(0, i);
    if (i != std::string::npos && line[i] == '{') {
      const std::size_t open = i;
      i = parse_label_block(line, i, s.labels);
      s.label_text = line.substr(open, i - open);
    }
    std::istringstream rest(line.substr(i));
    std::string value, ts;
    rest >> value >> ts;
    s.value = std::stod(value);
    if (ts.empty()) {
      problem("no timestamp");
    } else {
      s.timestamp = std::stoll(ts);
    }
    if (s.name != family) problem("sample outside its family");
    const std::string series = s.name + s.label_text;
    if (series != last_series) {
      if (!seen_series.insert(series).second) problem("series interleaved");
      last_series = series;
    } else if (s.timestamp <= last_ts) {
      problem("timestamps not increasing");
    }
    last_ts = s.timestamp;
    f.samples.push_back(std::move(s));
  }
  if (!eof) f.problems.push_back("no # EOF at the end");
  return f;
}

}  // namespace testing::om
