// The exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0 (for /metrics, negotiated,
// and for the backfill's file). Their sample lines are the same; the family metadata differs, and
// OpenMetrics ends with `# EOF`. Written directly into one reused buffer: the fleet's families are
// rendered once per snapshot, so this is the exporter's hot path at scale.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metrics {

enum class Format { text, openmetrics };

struct Label {
  std::string_view name;
  std::string_view value;
};

// What a family's metadata lines say (the family table's row: family_table.hpp).
struct FamilyHeader {
  std::string_view name;  // as its samples are named: a counter's ends in _total
  std::string_view type;  // "gauge", "counter", "histogram"
  std::string_view unit;  // the base unit the name ends in ("watts"), or empty
  std::string_view help;  // one line
};

// Text: `# HELP`, `# TYPE`. OpenMetrics: `# TYPE`, `# UNIT` (when there is a unit), `# HELP`,
// a counter's family named without `_total` (its samples keep it), HELP escaped like a label
// value (OpenMetrics escapes quotes there too).
void append_family_header(std::string& out, const FamilyHeader& family, Format format);

// The last line of every OpenMetrics exposition: a scraper can tell a whole answer from a cut one.
inline constexpr std::string_view kOpenMetricsEof = "# EOF\n";

// A family of a rendering whose metadata was set aside (TextWriter's second form): its samples
// run from `begin` to the next family's `begin` (or the end of the text).
struct FamilySpan {
  FamilyHeader header;
  std::size_t begin = 0;
};

class TextWriter {
 public:
  // Text 0.0.4, every family's metadata in place.
  explicit TextWriter(std::string& out) : out_(out) {}
  // Sample lines only; each family's header and start go to `families`, so that the samples,
  // which are the same in both formats, are rendered (and compressed) once for both.
  TextWriter(std::string& out, std::vector<FamilySpan>& families)
      : out_(out), families_(&families) {}

  void family(const FamilyHeader& family);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // `labels` is already rendered and escaped, without braces (see LabelBlock): the per-panel label
  // set is rendered once and reused by every panel family.
  void sample_prerendered(std::string_view name, std::string_view labels, double value);

 private:
  std::string& out_;
  std::vector<FamilySpan>* families_ = nullptr;
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
