// One client connection's HTTP/1.1, without sockets, threads or clocks: the bytes it sends go
// in, whole requests come out one at a time and in order, the bytes of their answers come out.
// The server (http_server.cpp) moves the bytes and keeps the deadlines; the fuzz target
// (fuzz/http_request.cpp) feeds it any split of any input and checks what comes out.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "web/http_message.hpp"

namespace web {

class HttpConnection {
 public:
  enum class Phase {
    idle,        // no byte of the next request yet
    reading,     // part of a request received
    processing,  // a whole request was taken (take_request); its answer is awaited (answer)
    writing,     // an answer is being sent (output, sent)
    closing,     // the last answer was sent, or none will be: close (what still comes is dropped)
  };

  // `date`: the Date header's value (http_date), kept current by the owner, who outlives the
  // connection (the server's loop refreshes it once a second).
  HttpConnection(const HttpLimits& limits, const std::string& date);

  Phase phase() const { return phase_; }

  // Bytes from the client. At most room() are kept; pipelined requests wait in them until the
  // answers before theirs are sent. In closing everything is dropped.
  std::size_t room() const;
  std::size_t receive(std::string_view bytes);  // how many were taken (or dropped)
  // The client shut its side: requests received whole are still answered, then it closes.
  void receive_end();
  bool received_end() const { return end_; }

  // The request that moved the connection to processing; present once (then moved out).
  std::optional<HttpRequest> take_request();

  // The answer to the request being processed. Without `may_keep_alive` (the server stops) the
  // connection closes after it, as after an answer the client asked to be the last.
  void answer(HttpResponse response, bool may_keep_alive);
  // An answer of the server's own that ends the connection (503 to a request not answered in
  // time): whatever was pending is dropped.
  void fail(int status);

  // While writing: the next bytes to send, never empty. False when the body cannot be produced
  // (BodySource::next failed): drop the connection, the client sees a short answer, never a
  // wrong one.
  bool output(std::string_view& out);
  // Whether more of the same answer follows what output() gave (for MSG_MORE).
  bool output_continues() const;
  // `n` bytes of what output() gave were sent. True when that finished the answer; the phase is
  // then the next one (idle, reading, processing for a pipelined request, writing a pipelined
  // bad request's error, or closing).
  bool sent(std::size_t n);

 private:
  void parse();
  void start_answer(HttpResponse response, bool head, int minor_version);
  bool more_to_answer() const;

  HttpLimits limits_;
  const std::string& date_;
  Phase phase_ = Phase::idle;
  std::string in_;
  bool end_ = false;
  std::optional<HttpRequest> request_;
  // The request being processed.
  bool request_keep_alive_ = false;
  bool request_head_ = false;
  int request_minor_version_ = 1;
  // The answer being written: status line, headers and a string body; then a streamed body.
  std::string out_;
  std::size_t out_sent_ = 0;
  std::unique_ptr<BodySource> stream_;
  std::size_t stream_left_ = 0;  // bytes the stream still owes
  std::string_view chunk_;       // of the stream, not yet sent
  bool close_after_ = false;
};

}  // namespace web
