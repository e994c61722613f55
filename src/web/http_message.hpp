// HTTP/1.1 messages as the exporter's server reads and writes them (RFC 9112): requests parsed
// strictly from the front of a buffer, answers' heads, the limits that bound both. No sockets
// here: http_connection.hpp runs one connection on these, http_server.hpp moves its bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace web {

struct HttpRequest {
  std::string method;     // as sent ("GET"); methods are case-sensitive
  std::string target;     // as sent ("/metrics?x=1")
  std::string path;       // percent-decoded, without the query ("/metrics")
  std::string query;      // raw, after '?'
  int minor_version = 1;  // HTTP/1.x
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
  std::string body;
  std::string remote_addr;  // numeric, IPv4-mapped IPv6 as IPv4
  int remote_port = -1;

  // The first header of that name (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const;
  // Whether the client asks to keep the connection: HTTP/1.1 unless "Connection: close",
  // HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive() const;
};

// A body produced while it is sent (a large answer is never copied whole).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::size_t size() const = 0;  // exactly what next() yields in total (Content-Length)
  // The next bytes, at most `max`, valid until the next call; empty at the end. False when the
  // body cannot be produced: the connection is dropped, the client sees a short answer.
  virtual bool next(std::size_t max, std::string_view& out) = 0;
};

struct HttpResponse {
  int status = 200;
  // Content-Length, Connection and Date are the server's; any other header as given.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::unique_ptr<BodySource> stream;  // sent instead of `body` when set

  void set_header(std::string name, std::string value);
  void set_content(std::string content, std::string content_type);
};

struct HttpLimits {
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_client = 64;  // by remote address
  // A request (TLS handshake, headers, body) must arrive whole within this, counted from the
  // connection's accept or, on a kept-alive connection, from the request's first byte.
  std::chrono::milliseconds request_timeout{std::chrono::seconds{5}};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{5}};  // kept alive between requests
  // A handler's answer must be ready within this, or the client gets 503 and the connection
  // closes (the worker stays busy until the handler returns; its answer is dropped).
  std::chrono::milliseconds handler_timeout{std::chrono::seconds{30}};
  // An answer must be taken whole within this: a client that stops reading is dropped.
  std::chrono::milliseconds response_timeout{std::chrono::seconds{60}};
  // After a last answer the server stops sending and reads (and drops) what the client still
  // sends for at most this long, so that closing with unread input does not reset the
  // connection under an answer the client has not read yet (RFC 9112 9.6).
  std::chrono::milliseconds linger_timeout{std::chrono::seconds{2}};
  std::size_t max_header_bytes = std::size_t{16} * 1024;  // request line and headers: 431 beyond
  std::size_t max_body_bytes = std::size_t{16} * 1024;    // the endpoints take none: 413 beyond
  unsigned workers = 4;                                   // threads that run the handler
};

// Parsing of one request from the front of a buffer. Strict where leniency lets two parsers
// disagree about where a request ends: lines end in CRLF, one Host (required in HTTP/1.1), no
// whitespace around chunk sizes, no folded lines, one framing.
enum class ParseStatus {
  incomplete,       // more bytes needed
  complete,         // `request` filled; `consumed` bytes used
  bad,              // 400
  too_large,        // 431: request line and headers over the limit
  body_too_large,   // 413
  not_implemented,  // 501: a transfer coding other than chunked
  bad_version,      // 505: not HTTP/1.x
};
struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  std::size_t consumed = 0;
  bool expects_continue = false;  // headers complete, body pending, "Expect: 100-continue"
};
ParseResult parse_request(std::string_view buffer, const HttpLimits& limits, HttpRequest& request);

// The status an error of parsing is answered with (400, 413, 431, 501, 505); 0 for incomplete
// and complete.
int error_status(ParseStatus status);

// The decoded value of the first `name=` in a query string ('+' as a space); empty if none.
std::string query_value(std::string_view query, std::string_view name);

const char* reason_phrase(int status);

// An answer's status line and headers, up to and with the empty line: the response's headers
// (not its Content-Length, Connection or Date) and the server's own.
std::string answer_head(const HttpResponse& response, std::size_t content_length, bool close_after,
                        int request_minor_version, std::string_view date);

// The IMF-fixdate of the Date header: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::sys_seconds time);

}  // namespace web
