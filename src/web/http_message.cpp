#include "web/http_message.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "util/ascii.hpp"

namespace web {
namespace {

constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxChunkLine = 1024;  // chunk size line with extensions, or a trailer

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Control characters other than HTAB (a lone CR included) have no place in a line.
bool has_control(std::string_view line) {
  return std::any_of(line.begin(), line.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
  });
}

using util::iequals;
using util::trim;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;  // %00 never names a path
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// A Host value: uri-host [":" port], or empty (RFC 9110 7.2); anything else (a path, userinfo,
// spaces) is not a host.
bool is_host_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
  });
}

// The request target's path and query; false for a target that is none of the forms a server
// takes ("/path?q", "http://host/path?q", "*").
bool split_target(std::string_view target, HttpRequest& req) {
  std::string_view rest = target;
  if (target == "*") {
    req.path = "*";
    return true;
  }
  if (rest.empty() || rest.front() != '/') {
    const auto scheme = rest.find("://");
    if (scheme == std::string_view::npos ||
        !(iequals(rest.substr(0, scheme), "http") || iequals(rest.substr(0, scheme), "https")))
      return false;
    rest.remove_prefix(scheme + 3);
    const auto slash = rest.find_first_of("/?");
    rest = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    if (rest.front() == '?') return false;
  }
  const auto question = rest.find('?');
  req.query = question == std::string_view::npos ? "" : std::string(rest.substr(question + 1));
  return percent_decode(rest.substr(0, question), req.path);
}

// The line that starts at `pos`, without its CRLF; `next` is where the following one starts
// (found or bad). A bare LF ends nothing: accepting it where others do not is how one request is
// read as two.
enum class LineStatus { found, incomplete, bad };
LineStatus next_line(std::string_view buf, std::size_t pos, std::string_view& line,
                     std::size_t& next) {
  const auto nl = buf.find('\n', pos);
  if (nl == std::string_view::npos) return LineStatus::incomplete;
  next = nl + 1;
  if (nl == pos || buf[nl - 1] != '\r') return LineStatus::bad;
  line = buf.substr(pos, nl - 1 - pos);
  return LineStatus::found;
}

// A field line "name: value"; false when it is not one (a space before ':', a folded line).
bool split_field(std::string_view line, std::string_view& name, std::string_view& value) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  name = line.substr(0, colon);
  value = trim(line.substr(colon + 1));
  return is_token(name) && !has_control(line);
}

// A chunked body from `pos`: complete (body appended, `end` after the last CRLF), incomplete, or
// an error status.
ParseStatus parse_chunked(std::string_view buf, std::size_t pos, std::size_t max_body,
                          std::string& body, std::size_t& end) {
  body.clear();
  std::string_view line;
  for (;;) {
    std::size_t next = 0;
    const auto found = next_line(buf, pos, line, next);
    if (found == LineStatus::bad) return ParseStatus::bad;
    if (found == LineStatus::incomplete)
      return buf.size() - pos > kMaxChunkLine ? ParseStatus::bad : ParseStatus::incomplete;
    if (line.size() > kMaxChunkLine || has_control(line)) return ParseStatus::bad;
    // chunk-size [ ";" extensions ]: hex digits right up to the ';' or the line end, no spaces.
    const auto digits_end =
        std::find_if(line.begin(), line.end(), [](char c) { return hex_value(c) < 0; }) -
        line.begin();
    const std::string_view digits = line.substr(0, static_cast<std::size_t>(digits_end));
    const std::string_view rest = line.substr(static_cast<std::size_t>(digits_end));
    if (digits.empty() || !(rest.empty() || rest.front() == ';')) return ParseStatus::bad;
    std::size_t size = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
    if (ec == std::errc::result_out_of_range) return ParseStatus::body_too_large;
    if (ec != std::errc{} || ptr != digits.data() + digits.size()) return ParseStatus::bad;
    pos = next;
    if (size == 0) break;
    if (size > max_body - std::min(max_body, body.size())) return ParseStatus::body_too_large;
    const std::size_t data_end = pos + size;  // then CRLF
    if (buf.size() > data_end && buf[data_end] != '\r') return ParseStatus::bad;
    if (buf.size() > data_end + 1 && buf[data_end + 1] != '\n') return ParseStatus::bad;
    if (buf.size() < data_end + 2) return ParseStatus::incomplete;
    body.append(buf.substr(pos, size));
    pos = data_end + 2;
  }
  // Trailer fields, ignored, up to an empty line; each must be a field line all the same.
  for (std::size_t count = 0;; ++count) {
    std::size_t next = 0;
    const auto found = next_line(buf, pos, line, next);
    if (found == LineStatus::bad) return ParseStatus::bad;
    if (found == LineStatus::incomplete)
      return buf.size() - pos > kMaxChunkLine ? ParseStatus::bad : ParseStatus::incomplete;
    pos = next;
    if (line.empty()) break;
    std::string_view name, value;
    if (line.size() > kMaxChunkLine || count >= kMaxHeaders || !split_field(line, name, value))
      return ParseStatus::bad;
  }
  end = pos;
  return ParseStatus::complete;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

bool HttpRequest::keep_alive() const {
  const auto connection = header("Connection");
  return minor_version == 0 ? has_token(connection, "keep-alive") : !has_token(connection, "close");
}

void HttpResponse::set_header(std::string name, std::string value) {
  for (auto& [n, v] : headers) {
    if (iequals(n, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

void HttpResponse::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  stream.reset();
  set_header("Content-Type", std::move(content_type));
}

std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = item.find('=');
    if (item.substr(0, eq) != name) continue;
    const auto raw = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const int hi = i + 2 < raw.size() && raw[i] == '%' ? hex_value(raw[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(raw[i + 2]) : -1;
      if (lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        out.push_back(raw[i] == '+' ? ' ' : raw[i]);  // a stray '%' stays as sent
      }
    }
    return out;
  }
  return {};
}

ParseResult parse_request(std::string_view buf, const HttpLimits& limits, HttpRequest& req) {
  ParseResult result;
  // Empty lines (CRLF) before the request line are ignored (RFC 9112 2.2); they count towards
  // the limit.
  std::size_t pos = 0;
  while (buf.size() - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n') pos += 2;
  std::vector<std::string_view> lines;
  std::size_t header_end = 0;
  for (std::size_t start = pos;;) {
    std::string_view line;
    std::size_t next = 0;
    const auto found = next_line(buf, start, line, next);
    if (found == LineStatus::found && next <= limits.max_header_bytes) {
      start = next;
      if (line.empty()) {
        header_end = start;
        break;
      }
      if (lines.size() > kMaxHeaders) {
        result.status = ParseStatus::too_large;
        return result;
      }
      lines.push_back(line);
      continue;
    }
    // Over the limit is known without a line end; a bare LF within it is bad.
    const auto known = found == LineStatus::incomplete ? buf.size() : next - 1;
    if (known >= limits.max_header_bytes) {
      result.status = ParseStatus::too_large;
    } else {
      result.status = found == LineStatus::bad ? ParseStatus::bad : ParseStatus::incomplete;
    }
    return result;
  }
  result.status = ParseStatus::bad;
  for (const auto line : lines)
    if (has_control(line)) return result;

  // Request line: method SP target SP HTTP/1.x
  const std::string_view request_line = lines.front();
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      request_line.find(' ', sp2 + 1) != std::string_view::npos)
    return result;
  const auto method = request_line.substr(0, sp1);
  const auto target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = request_line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || target.find('\t') != std::string_view::npos)
    return result;
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return result;
  if (version[5] != '1') {
    result.status = ParseStatus::bad_version;
    return result;
  }
  req = HttpRequest{};
  req.method = std::string(method);
  req.target = std::string(target);
  req.minor_version = version[7] - '0';
  if (!split_target(target, req)) return result;

  std::string_view content_length, transfer_encoding;
  std::size_t hosts = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view name, value;
    if (!split_field(lines[i], name, value)) return result;
    if (iequals(name, "Content-Length")) {
      if (!content_length.empty() && content_length != value) return result;
      content_length = value;
      if (value.empty()) return result;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (!transfer_encoding.empty()) return result;
      transfer_encoding = value;
    } else if (iequals(name, "Host")) {
      if (++hosts > 1 || !is_host_value(value)) return result;
    }
    req.headers.emplace_back(std::string(name), std::string(value));
  }
  // RFC 9112 3.2: a server answers 400 to an HTTP/1.1 request without Host.
  if (hosts == 0 && req.minor_version >= 1) return result;

  std::size_t end = header_end;
  if (!transfer_encoding.empty()) {
    // Both framings at once is how requests are smuggled; HTTP/1.0 has no transfer codings.
    if (!content_length.empty() || req.minor_version == 0) return result;
    if (!iequals(transfer_encoding, "chunked")) {
      result.status = ParseStatus::not_implemented;
      return result;
    }
    result.status = parse_chunked(buf, header_end, limits.max_body_bytes, req.body, end);
    if (result.status != ParseStatus::complete) return result;
  } else if (!content_length.empty()) {
    std::size_t length = 0;
    const auto [ptr, ec] = std::from_chars(content_length.data(),
                                           content_length.data() + content_length.size(), length);
    if (ec == std::errc::result_out_of_range) {
      result.status = ParseStatus::body_too_large;
      return result;
    }
    if (ec != std::errc{} || ptr != content_length.data() + content_length.size()) return result;
    if (length > limits.max_body_bytes) {
      result.status = ParseStatus::body_too_large;
      return result;
    }
    if (buf.size() - header_end < length) {
      result.status = ParseStatus::incomplete;
      return result;
    }
    req.body = std::string(buf.substr(header_end, length));
    end = header_end + length;
  }
  result.status = ParseStatus::complete;
  result.consumed = end;
  return result;
}

int error_status(ParseStatus status) {
  switch (status) {
    case ParseStatus::incomplete:
    case ParseStatus::complete:
      return 0;
    case ParseStatus::bad:
      return 400;
    case ParseStatus::too_large:
      return 431;
    case ParseStatus::body_too_large:
      return 413;
    case ParseStatus::not_implemented:
      return 501;
    case ParseStatus::bad_version:
      return 505;
  }
  return 400;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

std::string answer_head(const HttpResponse& res, std::size_t content_length, bool close_after,
                        int request_minor_version, std::string_view date) {
  std::string out;
  out.append("HTTP/1.1 ").append(std::to_string(res.status)).append(" ");
  out.append(reason_phrase(res.status)).append("\r\n");
  out.append("Date: ").append(date).append("\r\n");
  for (const auto& [name, value] : res.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Connection") ||
        iequals(name, "Transfer-Encoding") || iequals(name, "Date"))
      continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("Content-Length: ").append(std::to_string(content_length)).append("\r\n");
  if (close_after) {
    out.append("Connection: close\r\n");
  } else if (request_minor_version == 0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  return out;
}

std::string http_date(std::chrono::sys_seconds time) {
  using namespace std::chrono;
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  const auto two = [](long v) {
    return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10);
  };
  std::string year = std::to_string(static_cast<int>(date.year()));
  if (year.size() < 4) year.insert(0, 4 - year.size(), '0');
  std::string out;
  out.append(kDays[weekday{day}.c_encoding()]).append(", ");
  out.append(two(static_cast<long>(static_cast<unsigned>(date.day())))).append(" ");
  out.append(kMonths[static_cast<unsigned>(date.month()) - 1]).append(" ");
  out.append(year).append(" ");
  out.append(two(clock.hours().count())).append(":");
  out.append(two(clock.minutes().count())).append(":");
  out.append(two(static_cast<long>(clock.seconds().count()))).append(" GMT");
  return out;
}

}  // namespace web
