#include "metrics/reference.hpp"

#include "metrics/family_table.hpp"

namespace metrics {
namespace {

// A table cell: pipes would end it.
void append_cell(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
}

// `a, b` -> `a`, `b`
void append_code_list(std::string& out, std::string_view list) {
  while (!list.empty()) {
    const auto comma = list.find(", ");
    out += '`';
    out += list.substr(0, comma);
    out += '`';
    if (comma == std::string_view::npos) break;
    out += ", ";
    list.remove_prefix(comma + 2);
  }
}

constexpr std::string_view heading(Scope s) {
  switch (s) {
    case Scope::exporter:
      return "The exporter and the account";
    case Scope::system:
      return "Per system";
    case Scope::object:
      return "Per object (panels, strings, inverters, the system object)";
    case Scope::gateway:
      return "Per gateway (sources/system)";
    case Scope::local:
      return "Per local source (--local.*: the taptap bus, the CCA)";
  }
  return "";
}

}  // namespace

std::string families_markdown() {
  std::string out;
  for (auto scope : {Scope::exporter, Scope::system, Scope::object, Scope::gateway, Scope::local}) {
    if (!out.empty()) out += '\n';
    out += "### ";
    out += heading(scope);
    out += "\n\n| name | type | unit | labels | source | meaning |\n|---|---|---|---|---|---|\n";
    for (const auto& f : kFamilies) {
      if (f.scope != scope) continue;
      out += "| `";
      out += f.name;
      out += "` | ";
      out += type_name(f.type);
      out += " | ";
      out += f.unit;
      out += " | ";
      append_code_list(out, f.labels);
      out += " | ";
      append_cell(out, f.source);
      if (!f.api_param.empty()) {
        out += " param=";
        out += f.api_param;
      }
      out += " | ";
      append_cell(out, f.help);
      if (!f.meaning.empty()) {
        out += ' ';
        append_cell(out, f.meaning);
      }
      if (f.backfilled) out += " Backfilled.";
      if (!f.absent.empty()) {
        out += " **Absent** ";
        append_cell(out, f.absent);
        out += '.';
      }
      out += " |\n";
    }
  }
  return out;
}

}  // namespace metrics
