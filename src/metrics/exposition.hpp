// Prometheus text format 0.0.4, written directly into one reused buffer: the fleet's families are
// rendered once per snapshot, so this is the exporter's hot path at scale.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace metrics {

struct Label {
  std::string_view name;
  std::string_view value;
};

class TextWriter {
 public:
  explicit TextWriter(std::string& out) : out_(out) {}

  // HELP text must be one line without backslashes (the family table checks it at compile time).
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // `labels` is already rendered and escaped, without braces (see LabelBlock): the per-panel label
  // set is rendered once and reused by every panel family.
  void sample_prerendered(std::string_view name, std::string_view labels, double value);

 private:
  std::string& out_;
};

// Builds `a="1",b="x"` with escaping, for TextWriter::sample_prerendered.
class LabelBlock {
 public:
  LabelBlock& add(std::string_view name, std::string_view value);
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

// Label value escaping of the text format: backslash, double quote and newline.
void append_escaped_label_value(std::string& out, std::string_view value);
// Shortest round-trip form, with Prometheus' spellings of the special values.
void append_value(std::string& out, double value);

}  // namespace metrics
