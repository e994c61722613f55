// A small HTTP/1.1 server on one epoll loop, built so that clients which send slowly, send
// nothing or stay idle cannot hold up anyone else (bench/slow_clients.md says why and measures it):
// - a connection costs a descriptor and a few KB, never a thread: the loop reads, accepts and
//   writes without blocking, and a request reaches the worker threads only once it is complete;
// - a deadline for the whole request (TLS handshake, headers and body; from the first byte on a
//   kept-alive connection), not per read, so trickling bytes does not keep a connection open;
// - idle keep-alive connections are closed after a few seconds;
// - a cap on connections in total and per client address: the excess is closed at once;
// - answers are written by the loop as the client takes them, so a client that does not read
//   holds no thread either, and at most one chunk of a large streamed body in memory.
// TLS: an SSL_CTX configured elsewhere (web config) is used for every new connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/listen_address.hpp"
#include "util/result.hpp"

using SSL_CTX = struct ssl_ctx_st;  // OpenSSL's own typedef, without its headers here

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
  // Content-Length and Connection are the server's; any other header as given.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::unique_ptr<BodySource> stream;  // sent instead of `body` when set

  void set_header(std::string name, std::string value);
  void set_content(std::string content, std::string content_type);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpLimits {
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_client = 64;  // by remote address
  // A request (TLS handshake, headers, body) must arrive whole within this, counted from the
  // connection's accept or, on a kept-alive connection, from the request's first byte.
  std::chrono::milliseconds request_timeout{std::chrono::seconds{5}};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{5}};  // kept alive between requests
  // An answer must be taken whole within this: a client that stops reading is dropped.
  std::chrono::milliseconds response_timeout{std::chrono::seconds{60}};
  std::size_t max_header_bytes = std::size_t{16} * 1024;  // request line and headers: 431 beyond
  std::size_t max_body_bytes = std::size_t{16} * 1024;    // the endpoints take none: 413 beyond
  unsigned workers = 4;                                   // threads that run the handler
};

// Counters since start, for tests and benchmarks.
struct HttpStats {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;    // over a connection cap (or out of descriptors)
  std::uint64_t timed_out = 0;  // closed at a deadline (request, idle or response)
  std::uint64_t requests = 0;   // complete requests handed to the handler
  std::uint64_t open = 0;       // connections open now
};

// Parsing of one request from the front of a buffer (exposed for tests and fuzzing).
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

// The decoded value of the first `name=` in a query string ('+' as a space); empty if none.
std::string query_value(std::string_view query, std::string_view name);

class HttpServer {
 public:
  HttpServer(HttpLimits limits, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on the first host of util::bind_hosts that binds; returns the port. The error is the
  // system's reason alone.
  util::Result<int> bind(const util::ListenAddress& listen);
  // TLS for connections accepted from now on (null: plain HTTP). A connection keeps the context
  // it started with, so a replacement (a rotated certificate) never disturbs one in flight.
  void set_tls(std::shared_ptr<SSL_CTX> context);
  void run();   // blocks until stop(); returns at once if stop() came first
  void stop();  // from any thread, any number of times

  HttpStats stats() const;

 private:
  struct Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace web
