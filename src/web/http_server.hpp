// A small HTTP/1.1 server on one epoll loop, built so that clients which send slowly, send
// nothing or stay idle cannot hold up anyone else (bench/slow_clients.md says why and measures it):
// - a connection costs a descriptor and a few KB, never a thread: the loop reads, accepts and
//   writes without blocking, and a request reaches the worker threads only once it is complete;
// - a deadline for the whole request (TLS handshake, headers and body; from the first byte on a
//   kept-alive connection), not per read, so trickling bytes does not keep a connection open;
// - idle keep-alive connections are closed after a few seconds;
// - a cap on connections in total and per client address: the excess is closed at once;
// - answers are written by the loop as the client takes them, so a client that does not read
//   holds no thread either, and at most one chunk of a large streamed body in memory;
// - a handler that does not answer in time gets its client a 503, so a stuck worker holds up
//   nobody forever;
// - a connection's last answer is followed by a half-close and a short drain of what the client
//   still sends, not by a reset that could destroy the answer before it is read.
// The protocol of one connection is HttpConnection (http_connection.hpp); this file moves its
// bytes. TLS: an SSL_CTX configured elsewhere (web config) is used for every new connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "util/listen_address.hpp"
#include "util/result.hpp"
#include "web/http_message.hpp"

using SSL_CTX = struct ssl_ctx_st;  // OpenSSL's own typedef, without its headers here

namespace web {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Counters since start, for tests and benchmarks.
struct HttpStats {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;            // over a connection cap (or out of descriptors)
  std::uint64_t timed_out = 0;          // closed at a deadline (request, idle, handler or response)
  std::uint64_t requests = 0;           // complete requests handed to the handler
  std::uint64_t handler_timed_out = 0;  // of those, answered 503: the handler took too long
  std::uint64_t open = 0;               // connections open now (lingering ones included)
};

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
