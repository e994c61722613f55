#include "metrics/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace metrics {

void append_escaped_label_value(std::string& out, std::string_view value) {
  // Most values need no escaping: append the runs between special characters in bulk.
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(value.data() + start, i - start);
    out.append(c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\", 2);
    start = i + 1;
  }
  out.append(value.data() + start, value.size() - start);
}

namespace {

// Writes the value's text at `p` (at least 32 bytes free) and returns its end.
char* format_value(char* p, double value) {
  if (std::isnan(value)) {
    std::copy_n("NaN", 3, p);
    return p + 3;
  }
  if (std::isinf(value)) {
    std::copy_n(value > 0 ? "+Inf" : "-Inf", 4, p);
    return p + 4;
  }
  auto [ptr, ec] = std::to_chars(p, p + 32, value);
  return ec == std::errc{} ? ptr : p;
}

}  // namespace

void append_value(std::string& out, double value) {
  char buf[32];
  out.append(buf, static_cast<std::size_t>(format_value(buf, value) - buf));
}

void append_family_header(std::string& out, const FamilyHeader& f, Format format) {
  if (format == Format::text) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    // Text 0.0.4 escapes backslash and newline in HELP, not quotes.
    for (const char c : f.help) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += f.type;
    out += '\n';
    return;
  }
  std::string_view name = f.name;
  if (f.type == "counter" && name.ends_with("_total")) name.remove_suffix(6);
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += f.type;
  out += '\n';
  if (!f.unit.empty()) {
    out += "# UNIT ";
    out += name;
    out += ' ';
    out += f.unit;
    out += '\n';
  }
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped_label_value(out, f.help);
  out += '\n';
}

void TextWriter::family(const FamilyHeader& f) {
  if (families_ != nullptr)
    families_->push_back({f, out_.size()});
  else
    append_family_header(out_, f, Format::text);
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  out_ += name;
  if (labels.size() != 0) {
    out_ += '{';
    bool first = true;
    for (const auto& l : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += l.name;
      out_ += "=\"";
      append_escaped_label_value(out_, l.value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

void TextWriter::sample_prerendered(std::string_view name, std::string_view labels, double value) {
  // The bulk of a big fleet's lines: assembled on the stack and appended once, one capacity check
  // per line instead of one per piece.
  char buf[512];
  const std::size_t fixed = name.size() + labels.size() + 3;  // braces and the space
  if (fixed + 33 > sizeof buf) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    append_value(out_, value);
    out_ += '\n';
    return;
  }
  char* p = buf;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  if (!labels.empty()) {
    *p++ = '{';
    std::memcpy(p, labels.data(), labels.size());
    p += labels.size();
    *p++ = '}';
  }
  *p++ = ' ';
  p = format_value(p, value);
  *p++ = '\n';
  out_.append(buf, static_cast<std::size_t>(p - buf));
}

LabelBlock& LabelBlock::add(std::string_view name, std::string_view value) {
  if (!text_.empty()) text_ += ',';
  text_ += name;
  text_ += "=\"";
  append_escaped_label_value(text_, value);
  text_ += '"';
  return *this;
}

}  // namespace metrics
