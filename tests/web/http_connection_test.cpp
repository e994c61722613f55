// One connection's protocol without sockets (web::HttpConnection): requests out one at a time and
// in order whatever the split of the bytes, answers' bytes out, the client's half-close, errors.
// The server's tests over real sockets are in http_server_test.cpp.
#include "web/http_connection.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Phase = web::HttpConnection::Phase;

const std::string kDate = "Thu, 01 Jan 1970 00:00:00 GMT";

struct Run {
  std::vector<web::HttpRequest> requests;
  std::string output;
  Phase phase = Phase::idle;
};

// Takes every request the connection gives, answers it "answer <n> <path>", and collects what it
// sends, until it waits for bytes or closes.
void pump(web::HttpConnection& conn, Run& run) {
  for (;;) {
    if (conn.phase() == Phase::processing) {
      auto req = conn.take_request();
      REQUIRE(req);
      web::HttpResponse res;
      res.set_content("answer " + std::to_string(run.requests.size()) + " " + req->path,
                      "text/plain");
      run.requests.push_back(std::move(*req));
      conn.answer(std::move(res), true);
    } else if (conn.phase() == Phase::writing) {
      std::string_view out;
      REQUIRE(conn.output(out));
      REQUIRE_FALSE(out.empty());
      run.output.append(out);
      conn.sent(out.size());
    } else {
      return;
    }
  }
}

// The bytes in the given pieces, the client's half-close with the last one if `end` (as the
// server reads them: what is there, then the end).
Run drive(const std::vector<std::string_view>& pieces, bool end,
          const web::HttpLimits& limits = {}) {
  web::HttpConnection conn(limits, kDate);
  Run run;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    for (auto piece = pieces[i]; !piece.empty();) {
      const std::size_t taken = conn.receive(piece);
      REQUIRE(taken > 0);
      piece.remove_prefix(taken);
      if (end && piece.empty() && i + 1 == pieces.size()) conn.receive_end();
      pump(conn, run);
    }
  }
  if (end && !conn.received_end()) {
    conn.receive_end();
    pump(conn, run);
  }
  run.phase = conn.phase();
  return run;
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const std::string kPipelined =
    "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
    "HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x=y\r\nc\r\n"
    "0\r\n\r\n"
    "GET /4 HTTP/1.0\r\n\r\n";

}  // namespace

TEST_CASE("connection: pipelined requests one at a time and in order, whatever the split",
          "[web][http]") {
  const Run whole = drive({kPipelined}, false);
  REQUIRE(whole.requests.size() == 4);
  CHECK(whole.requests[0].path == "/1");
  CHECK(whole.requests[1].method == "HEAD");
  CHECK(whole.requests[2].body == "abc");
  CHECK(whole.requests[3].minor_version == 0);
  CHECK(count(whole.output, "HTTP/1.1 200 OK\r\n") == 4);
  CHECK(count(whole.output, "\r\nDate: " + kDate + "\r\n") == 4);
  CHECK(whole.output.find("answer 0 /1HTTP/1.1 200 OK\r\n") != std::string::npos);
  CHECK(whole.output.find("answer 1 /2") == std::string::npos);  // HEAD: no body
  CHECK(whole.output.find("answer 2 /3HTTP/1.1 200 OK\r\n") != std::string::npos);
  CHECK(whole.output.ends_with("Connection: close\r\n\r\nanswer 3 /4"));  // HTTP/1.0: the last
  CHECK(whole.phase == Phase::closing);

  for (std::size_t cut = 1; cut < kPipelined.size(); ++cut) {
    INFO("cut at " << cut);
    const std::string_view all = kPipelined;
    const Run split = drive({all.substr(0, cut), all.substr(cut)}, false);
    CHECK(split.output == whole.output);
    CHECK(split.requests.size() == 4);
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < kPipelined.size(); ++i)
    bytes.push_back(std::string_view(kPipelined).substr(i, 1));
  CHECK(drive(bytes, false).output == whole.output);
}

TEST_CASE("connection: a request is taken only after the answer before it is sent", "[web][http]") {
  web::HttpConnection conn({}, kDate);
  const std::string two = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK(conn.receive(two) == two.size());
  REQUIRE(conn.phase() == Phase::processing);
  CHECK(conn.take_request()->path == "/a");
  CHECK_FALSE(conn.take_request());  // once
  web::HttpResponse res;
  res.set_content("first", "text/plain");
  conn.answer(std::move(res), true);
  REQUIRE(conn.phase() == Phase::writing);
  std::string_view out;
  REQUIRE(conn.output(out));
  CHECK(out.ends_with("\r\n\r\nfirst"));
  CHECK_FALSE(conn.sent(out.size() - 1));
  CHECK(conn.phase() == Phase::writing);
  CHECK(conn.sent(1));
  REQUIRE(conn.phase() == Phase::processing);
  CHECK(conn.take_request()->path == "/b");
}

TEST_CASE("connection: after the client's half-close whole requests are answered, the rest is not",
          "[web][http]") {
  const std::string text =
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHo";
  const Run run = drive({text}, true);
  REQUIRE(run.requests.size() == 2);
  CHECK(count(run.output, "HTTP/1.1 200 OK\r\n") == 2);
  CHECK(count(run.output, "Connection: close\r\n") == 1);
  CHECK(run.output.ends_with("Connection: close\r\n\r\nanswer 1 /2"));
  CHECK(run.phase == Phase::closing);

  const Run nothing_whole = drive({"GET /1 HTTP/1.1\r\n"}, true);
  CHECK(nothing_whole.output.empty());
  CHECK(nothing_whole.phase == Phase::closing);
  CHECK(drive({}, true).phase == Phase::closing);
}

TEST_CASE("connection: a bad request ends the connection after the answers before it",
          "[web][http]") {
  const std::string text =
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n";
  web::HttpConnection conn({}, kDate);
  Run run;
  CHECK(conn.receive(text) == text.size());
  pump(conn, run);
  REQUIRE(run.requests.size() == 1);  // /2 has no Host; /3 is never read
  CHECK(run.output.find("answer 0 /1HTTP/1.1 400 Bad Request\r\n") != std::string::npos);
  CHECK(run.output.ends_with("Connection: close\r\n\r\n400 Bad Request\n"));
  CHECK(conn.phase() == Phase::closing);
  CHECK(conn.room() == 0);
  CHECK(conn.receive("GET /4 HTTP/1.1\r\nHost: h\r\n\r\n") > 0);  // dropped
  CHECK(conn.phase() == Phase::closing);
  CHECK_FALSE(conn.take_request());
}

TEST_CASE("connection: framing beyond the input cap is 413, a whole request within it is not",
          "[web][http]") {
  web::HttpLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 1024;
  std::string text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  // One byte a chunk, each with a long extension: a small body in framing beyond any cap.
  while (text.size() < 8192) text += "1;" + std::string(900, 'e') + "\r\nx\r\n";
  const Run run = drive({text}, false, limits);
  CHECK(run.requests.empty());
  CHECK(run.output.starts_with("HTTP/1.1 413 Content Too Large\r\n"));
  CHECK(run.phase == Phase::closing);
}

TEST_CASE("connection: fail() at the handler's deadline answers 503, the late answer is dropped",
          "[web][http]") {
  web::HttpConnection conn({}, kDate);
  const std::string text =
      "GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  conn.receive(text);
  REQUIRE(conn.take_request());
  conn.fail(503);
  web::HttpResponse late;
  late.set_content("late", "text/plain");
  conn.answer(std::move(late), true);  // ignored: the connection is no longer processing
  Run run;
  pump(conn, run);
  CHECK(run.output.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(run.output.find("late") == std::string::npos);
  CHECK(run.requests.empty());  // /next is dropped with the connection
  CHECK(conn.phase() == Phase::closing);
}

TEST_CASE("connection: a streamed body that fails cuts the answer", "[web][http]") {
  struct Failing : web::BodySource {
    std::size_t size() const override { return 10; }
    bool next(std::size_t, std::string_view& out) override {
      out = "12345";
      return ++calls == 1;
    }
    int calls = 0;
  };
  web::HttpConnection conn({}, kDate);
  conn.receive("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(conn.take_request());
  web::HttpResponse res;
  res.stream = std::make_unique<Failing>();
  conn.answer(std::move(res), true);
  std::string_view out;
  REQUIRE(conn.output(out));
  CHECK(out.find("Content-Length: 10\r\n") != std::string_view::npos);
  CHECK(conn.output_continues());
  conn.sent(out.size());
  REQUIRE(conn.output(out));
  CHECK(out == "12345");
  CHECK_FALSE(conn.output_continues());
  CHECK_FALSE(conn.sent(out.size()));
  CHECK_FALSE(conn.output(out));
}
