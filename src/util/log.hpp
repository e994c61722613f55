// Structured logs to stderr, logfmt or JSON, one line per event. Callers never pass secrets.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace util::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { logfmt, json };

using Field = std::pair<std::string_view, std::string>;

void configure(Level level, Format format);
bool parse_level(std::string_view text, Level& out);
bool parse_format(std::string_view text, Format& out);
bool enabled(Level level);
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  write(Level::debug, msg, f);
}
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) {
  write(Level::info, msg, f);
}
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  write(Level::warn, msg, f);
}
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) {
  write(Level::error, msg, f);
}

// Exposed for tests: the line that write() would emit, without the newline.
std::string format_line(Format format, std::string_view time, Level level, std::string_view msg,
                        std::initializer_list<Field> fields);

}  // namespace util::log
