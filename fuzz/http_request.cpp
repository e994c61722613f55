// HTTP/1.1 as the exporter's web server reads it from a socket: one request
// (web::parse_request), a connection's whole exchange in any split of its bytes
// (web::HttpConnection: pipelining, keep-alive, half-close, errors), and the query values the
// pages take (web::query_value).
//
// Input: one byte of flags, then as many split bytes as its low 4 bits say, then the client's
// bytes. Flags: 0x10 the client half-closes after its last byte; 0x20 answers are streamed
// bodies; 0x40 the client keeps sending while answers are written. The split bytes, in turn, give
// the size of each piece the client sends, of each write the server makes and of each piece of a
// streamed body (byte + 1); none: everything at once. With 0x40 and 0x10 the half-close may
// come while a request is being answered.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "targets.hpp"
#include "web/http_connection.hpp"

namespace fuzz {
namespace {

using Phase = web::HttpConnection::Phase;

const std::string kDate = "Thu, 01 Jan 1970 00:00:00 GMT";

void check_request(std::string_view input, const web::HttpLimits& limits) {
  web::HttpRequest req;
  const auto result = web::parse_request(input, limits, req);
  if (result.status != web::ParseStatus::complete) return;
  require(result.consumed > 0 && result.consumed <= input.size(),
          "a request consumed nothing or more than it was given");
  require(!req.method.empty() && req.method.find(' ') == std::string::npos,
          "a method that is not a token");
  require(req.path == "*" || (!req.path.empty() && req.path.front() == '/'),
          "a path that does not start with '/'");
  require(req.path.find('\0') == std::string::npos, "a NUL in the path");
  require(req.minor_version >= 0 && req.minor_version <= 9, "a version that is not HTTP/1.x");
  require(req.body.size() <= limits.max_body_bytes, "a body over the limit");
  require(req.headers.size() <= 100, "more headers than the limit");
  std::size_t hosts = 0;
  for (const auto& [name, value] : req.headers) {
    require(!name.empty() && name.find_first_of(" \t:") == std::string::npos &&
                value.find_first_of("\r\n") == std::string::npos,
            "a header name or value with a separator in it");
    if (name.size() == 4 && (name[0] | 0x20) == 'h' && (name[1] | 0x20) == 'o' &&
        (name[2] | 0x20) == 's' && (name[3] | 0x20) == 't')
      ++hosts;
  }
  require(hosts == 1 || (hosts == 0 && req.minor_version == 0),
          "an HTTP/1.1 request without Host, or one with two");

  // A request does not depend on what follows it, and is not complete before its last byte
  // (the server would answer a request it has not read whole).
  web::HttpRequest alone;
  const auto again = web::parse_request(input.substr(0, result.consumed), limits, alone);
  require(again.status == web::ParseStatus::complete && again.consumed == result.consumed &&
              alone.path == req.path && alone.body == req.body && alone.headers == req.headers,
          "the request parses differently without the bytes after it");
  web::HttpRequest cut;
  require(web::parse_request(input.substr(0, result.consumed - 1), limits, cut).status !=
              web::ParseStatus::complete,
          "a request is complete before its last byte");

  // Query values decode to at most the bytes they were written in.
  const std::string value = web::query_value(req.query, "q");
  require(value.size() <= req.query.size(), "a decoded query value grew");
}

// What the connection must answer, read from the whole input at once: each whole request in
// order, then (when reading stops at an error) the error's status. Nothing for an incomplete one.
struct Expected {
  std::vector<web::HttpRequest> requests;
  int error = 0;
  bool closes = false;  // after the last answer (a request asked, or an error)
};

Expected expect(std::string_view rest, const web::HttpLimits& limits, std::size_t input_cap) {
  Expected out;
  while (!rest.empty()) {
    web::HttpRequest req;
    const auto result = web::parse_request(rest.substr(0, input_cap), limits, req);
    if (result.status == web::ParseStatus::incomplete) {
      if (rest.size() >= input_cap) out.error = 413;  // framing beyond what is buffered
      break;
    }
    if (result.status != web::ParseStatus::complete) {
      out.error = web::error_status(result.status);
      break;
    }
    rest.remove_prefix(result.consumed);
    const bool last = !req.keep_alive();
    out.requests.push_back(std::move(req));
    if (last) {
      out.closes = true;
      break;
    }
  }
  if (out.error != 0) out.closes = true;
  return out;
}

// A body handed out in pieces of the split sizes.
class PiecedBody : public web::BodySource {
 public:
  PiecedBody(std::string body, std::string_view sizes) : body_(std::move(body)), sizes_(sizes) {}
  std::size_t size() const override { return body_.size(); }
  bool next(std::size_t max, std::string_view& out) override {
    std::size_t n =
        sizes_.empty() ? max : static_cast<unsigned char>(sizes_[turn_++ % sizes_.size()]) + 1U;
    n = std::min({n, max, body_.size() - given_});
    out = std::string_view(body_).substr(given_, n);
    given_ += n;
    return true;
  }

 private:
  std::string body_;
  std::string_view sizes_;
  std::size_t given_ = 0, turn_ = 0;
};

std::string answer_body(std::size_t index, const web::HttpRequest& req) {
  return "answer " + std::to_string(index) + " " + req.method + " " + req.path + " " +
         std::to_string(req.body.size());
}

// Reads one answer from the front of `out`: its status, headers and body (none for HEAD).
struct Answer {
  int status = 0;
  std::string head;
  std::string body;
};
Answer take_answer(std::string_view& out, bool head_request) {
  Answer a;
  const auto end = out.find("\r\n\r\n");
  require(end != std::string_view::npos, "an answer without the end of its headers");
  a.head = std::string(out.substr(0, end + 4));
  out.remove_prefix(end + 4);
  require(a.head.starts_with("HTTP/1.1 ") && a.head.size() > 12, "an answer without a status line");
  a.status = std::stoi(a.head.substr(9, 3));
  const auto count = [&a](std::string_view what) {
    std::size_t n = 0;
    for (auto at = a.head.find(what); at != std::string::npos; at = a.head.find(what, at + 1)) ++n;
    return n;
  };
  require(count("\r\nDate: " + kDate + "\r\n") == 1 && count("Date:") == 1,
          "an answer without one Date");
  require(count("\r\nContent-Length: ") == 1, "an answer without one Content-Length");
  const auto cl = a.head.find("\r\nContent-Length: ") + 18;
  const std::size_t length = std::stoul(a.head.substr(cl));
  const std::size_t sent = head_request ? 0 : length;
  require(out.size() >= sent, "an answer shorter than its Content-Length");
  a.body = std::string(out.substr(0, sent));
  out.remove_prefix(sent);
  if (head_request) a.body = std::string(length, '?');  // only its length is known
  return a;
}

void check_connection(std::string_view stream, unsigned flags, std::string_view splits,
                      const web::HttpLimits& limits) {
  const bool half_close = (flags & 0x10) != 0, streamed = (flags & 0x20) != 0,
             eager = (flags & 0x40) != 0;
  web::HttpConnection conn(limits, kDate);
  const std::size_t input_cap = conn.room();
  std::size_t split_turn = 0;
  const auto next_size = [&](std::size_t whole) -> std::size_t {
    if (splits.empty()) return whole;
    return static_cast<unsigned char>(splits[split_turn++ % splits.size()]) + 1U;
  };

  std::vector<web::HttpRequest> taken;
  std::string output;
  std::size_t fed = 0;
  bool ended = false;
  unsigned turn = 0;
  const auto feed = [&] {
    if (fed == stream.size()) return false;
    const auto piece = stream.substr(fed, next_size(stream.size()));
    const std::size_t n = conn.receive(piece);
    require(n <= piece.size(), "the connection took more bytes than it was given");
    fed += n;
    return n > 0;
  };
  for (;;) {
    const Phase phase = conn.phase();
    if (phase == Phase::closing) break;
    const bool awaiting = phase == Phase::idle || phase == Phase::reading;
    if (awaiting || (eager && ++turn % 2 == 0)) {
      if (feed()) continue;
      if (fed == stream.size() && half_close && !ended) {
        conn.receive_end();
        ended = true;
        continue;
      }
      if (awaiting) {
        require(fed == stream.size(), "no byte taken while a request is awaited");
        break;
      }
    }
    if (phase == Phase::processing) {
      auto req = conn.take_request();
      require(req.has_value(), "processing without a request to take");
      require(!conn.take_request().has_value(), "a request taken twice");
      web::HttpResponse res;
      std::string body = answer_body(taken.size(), *req);
      if (streamed) {
        res.stream = std::make_unique<PiecedBody>(std::move(body), splits);
      } else {
        res.set_content(std::move(body), "text/plain");
      }
      taken.push_back(std::move(*req));
      conn.answer(std::move(res), true);
      require(conn.phase() == Phase::writing, "an answer that is not written");
    } else {
      std::string_view out;
      require(conn.output(out), "an answer's body could not be produced");
      require(!out.empty(), "nothing to write while writing");
      const std::size_t n = std::min(out.size(), next_size(out.size()));
      output.append(out.substr(0, n));
      conn.sent(n);
    }
  }
  require(!ended || conn.phase() == Phase::closing, "still open after the client's end");
  if (conn.phase() == Phase::closing) {
    require(conn.room() == 0, "a closing connection takes bytes");
    std::string_view none;
    require(!conn.output(none), "output after the last answer");
    require(!conn.take_request().has_value(), "a request after the last answer");
  }

  // Every whole request got exactly one answer, in order; an error answer is the last one;
  // nothing was answered for an incomplete request.
  const Expected expected = expect(stream, limits, input_cap);
  require(taken.size() == expected.requests.size(),
          "not every whole request (or more than those) reached the handler");
  std::string_view out = output;
  for (std::size_t i = 0; i < taken.size(); ++i) {
    const auto& want = expected.requests[i];
    require(taken[i].method == want.method && taken[i].target == want.target &&
                taken[i].body == want.body && taken[i].headers == want.headers,
            "a request differs from the one read from the whole input");
    const Answer a = take_answer(out, want.method == "HEAD");
    require(a.status == 200, "a handler's answer with another status");
    const std::string body = answer_body(i, want);
    require(want.method == "HEAD" ? a.body.size() == body.size() : a.body == body,
            "an answer out of order or not its request's");
    const bool last = i + 1 == taken.size() && expected.error == 0;
    if (a.head.find("\r\nConnection: close\r\n") != std::string::npos)
      require(last, "an answer that closes the connection before the last one");
    if (last && expected.closes)
      require(a.head.find("\r\nConnection: close\r\n") != std::string::npos,
              "the last answer does not say the connection closes");
  }
  if (expected.error != 0) {
    const Answer a = take_answer(out, false);
    require(a.status == expected.error, "an error answer with another status");
    require(a.head.find("\r\nConnection: close\r\n") != std::string::npos,
            "an error answer that keeps the connection");
  }
  require(out.empty(), "bytes after the last answer");
  if (expected.closes) require(conn.phase() == Phase::closing, "open after its last answer");
}

}  // namespace

void run_http_request(std::string_view input) {
  if (input.empty()) return;
  const auto flags = static_cast<unsigned char>(input.front());
  input.remove_prefix(1);
  const std::size_t split_bytes = std::min<std::size_t>(flags & 0x0f, input.size());
  const std::string_view splits = input.substr(0, split_bytes);
  input.remove_prefix(split_bytes);

  const web::HttpLimits limits;
  check_request(input, limits);
  check_connection(input, flags, splits, limits);
}

}  // namespace fuzz
