#include "util/log.hpp"

#include <date/date.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "util/json_string.hpp"

namespace util::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<Format> g_format{Format::logfmt};
std::mutex g_write_mutex;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

void append_logfmt_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

void configure(Level level, Format format) {
  g_level = static_cast<int>(level);
  g_format = format;
}

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "logfmt") {
    out = Format::logfmt;
  } else if (text == "json") {
    out = Format::json;
  } else {
    return false;
  }
  return true;
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

std::string format_line(Format format, std::string_view time, Level level, std::string_view msg,
                        std::initializer_list<Field> fields) {
  std::string line;
  if (format == Format::json) {
    line += "{\"ts\":";
    append_json_string(line, time);
    line += ",\"level\":";
    append_json_string(line, level_name(level));
    line += ",\"msg\":";
    append_json_string(line, msg);
    for (const auto& [k, v] : fields) {
      line += ',';
      append_json_string(line, k);
      line += ':';
      append_json_string(line, v);
    }
    line += '}';
  } else {
    line += "ts=";
    line += time;
    line += " level=";
    line += level_name(level);
    line += " msg=";
    append_logfmt_value(line, msg);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      append_logfmt_value(line, v);
    }
  }
  return line;
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::string line = format_line(g_format.load(), date::format("%FT%TZ", now), level, msg, fields);
  line += '\n';
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace util::log
