// The exporter's HTTP/1.1 server: request parsing, and over real sockets on loopback what slow,
// silent, idle and greedy clients get. Waits are bounded generously and only ever fail a test
// that would otherwise hang: the assertions are on what happened, never on how long it took.
#include "web/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

web::ParseResult parse(std::string_view text, web::HttpRequest& req, web::HttpLimits limits = {}) {
  return web::parse_request(text, limits, req);
}

web::ParseStatus status_of(std::string_view text, web::HttpLimits limits = {}) {
  web::HttpRequest req;
  return parse(text, req, limits).status;
}

// A TCP client on a raw socket, from a chosen loopback source address.
class Raw {
 public:
  explicit Raw(int port, const char* source = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
    const timeval send_limit{10, 0};  // a send the server never takes fails the test, not hangs it
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit);
  }
  ~Raw() {
    if (fd_ >= 0) close(fd_);
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool send_text(std::string_view text) {
    return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }

  // Reads what arrives until the peer closes or `limit` passes; closed() tells which.
  std::string read_until_closed(std::chrono::milliseconds limit = 10s) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!closed_ && std::chrono::steady_clock::now() < end) read_some(got, 50ms);
    return got;
  }

  // One answer with a Content-Length body (or the connection's end).
  std::string read_answer(std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!closed_ && std::chrono::steady_clock::now() < end) {
      const auto head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const auto cl = buffer_.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) length = std::stoul(buffer_.substr(cl + 16));
        if (buffer_.size() >= head_end + 4 + length) {
          std::string answer = buffer_.substr(0, head_end + 4 + length);
          buffer_.erase(0, answer.size());
          return answer;
        }
      }
      read_some(buffer_, 50ms);
    }
    std::string rest = std::move(buffer_);
    buffer_.clear();
    return rest;
  }

  // True when the server has closed the connection (an EOF or reset is waiting).
  bool closed_by_peer(std::chrono::milliseconds limit) {
    std::string ignored;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!closed_ && std::chrono::steady_clock::now() < end) read_some(ignored, 50ms);
    return closed_;
  }
  bool closed() const { return closed_; }
  bool reset() const { return reset_; }  // the end was a reset, not the server's FIN
  void finish_sending() { shutdown(fd_, SHUT_WR); }
  // The pending error of the socket (ECONNRESET once the server reset it), cleared by reading it.
  int socket_error() {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
  }

 private:
  void read_some(std::string& into, std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
    char buf[65536];
    const auto n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      reset_ = reset_ || (n < 0 && errno == ECONNRESET);
      return;
    }
    into.append(buf, static_cast<std::size_t>(n));
  }

  int fd_ = -1;
  bool closed_ = false;
  bool reset_ = false;
  std::string buffer_;
};

// A body of `size` bytes of 'x', made a chunk at a time.
class Filler : public web::BodySource {
 public:
  explicit Filler(std::size_t size) : size_(size), chunk_(64 * 1024, 'x') {}
  std::size_t size() const override { return size_; }
  bool next(std::size_t max, std::string_view& out) override {
    const std::size_t n = std::min({max, chunk_.size(), size_ - given_});
    out = std::string_view(chunk_).substr(0, n);
    given_ += n;
    return true;
  }

 private:
  std::size_t size_, given_ = 0;
  std::string chunk_;
};

// A running HttpServer that answers "ok <path>", or a large body at /big; /slow waits until
// release() (20 s at most).
struct Served {
  std::atomic<int> handled{0};
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool released = false;
  web::HttpServer server;
  std::thread thread;
  int port = 0;

  explicit Served(web::HttpLimits limits)
      : server(limits, [this](const web::HttpRequest& req) {
          ++handled;
          web::HttpResponse res;
          if (req.path == "/slow") {
            std::unique_lock lock(gate_mutex);
            gate.wait_for(lock, 20s, [this] { return released; });
          }
          if (req.path == "/big") {
            res.stream = std::make_unique<Filler>(std::size_t{64} * 1024 * 1024);
          } else {
            res.set_content("ok " + req.path + (req.body.empty() ? "" : " body=" + req.body),
                            "text/plain");
          }
          return res;
        }) {
    auto bound = server.bind({"127.0.0.1", 0});
    REQUIRE(bound.ok());
    port = *bound;
    thread = std::thread([this] { server.run(); });
  }
  ~Served() {
    release();
    server.stop();
    thread.join();
  }
  void release() {
    {
      std::lock_guard lock(gate_mutex);
      released = true;
    }
    gate.notify_all();
  }
};

web::HttpLimits small_limits() {
  web::HttpLimits l;
  l.request_timeout = 400ms;
  l.idle_timeout = 400ms;
  l.response_timeout = 1s;
  l.workers = 1;
  return l;
}

const std::string kGet = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

}  // namespace

TEST_CASE("parse: a request line, headers and nothing more", "[web][http]") {
  web::HttpRequest req;
  const std::string text =
      "GET /metrics?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nAccept-Encoding:  gzip \r\n\r\n";
  const auto r = parse(text, req);
  REQUIRE(r.status == web::ParseStatus::complete);
  CHECK(r.consumed == text.size());
  CHECK(req.method == "GET");
  CHECK(req.target == "/metrics?a=1&b=%20");
  CHECK(req.path == "/metrics");
  CHECK(req.query == "a=1&b=%20");
  CHECK(req.minor_version == 1);
  CHECK(req.header("accept-encoding") == "gzip");
  CHECK(req.header("HOST") == "x");
  CHECK(req.header("Cookie").empty());
  CHECK(req.body.empty());
}

TEST_CASE("parse: incomplete until the blank line, leading blank lines taken", "[web][http]") {
  const std::string text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::size_t n = 0; n < text.size(); ++n) {
    INFO(n);
    CHECK(status_of(text.substr(0, n)) == web::ParseStatus::incomplete);
  }
  web::HttpRequest req;
  CHECK(parse("\r\n\r\nGET /a%2Fb HTTP/1.0\r\nHost: x\r\n\r\n", req).status ==
        web::ParseStatus::complete);
  CHECK(req.path == "/a/b");
  CHECK(req.minor_version == 0);
  CHECK(parse("GET http://h:9/p?q HTTP/1.1\r\nHost: h:9\r\n\r\n", req).status ==
        web::ParseStatus::complete);
  CHECK(req.path == "/p");
  CHECK(req.query == "q");
}

TEST_CASE("parse: malformed requests are bad, not guessed at", "[web][http]") {
  for (const char* text : {
           "GET /\r\nHost: h\r\n\r\n",                              // no version
           "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",                    // two spaces
           "GET / HTTP/1.1 x\r\nHost: h\r\n\r\n",                   // a fourth part
           "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",                     // not a token
           "GET / HTTP/1.x\r\nHost: h\r\n\r\n",                     // version
           "GET x HTTP/1.1\r\nHost: h\r\n\r\n",                     // not a path
           "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n",                  // bad escape
           "GET /a%00 HTTP/1.1\r\nHost: h\r\n\r\n",                 // NUL
           "GET /a% HTTP/1.1\r\nHost: h\r\n\r\n",                   // cut escape
           "GET / HTTP/1.1\r\nHost: h\r\nAccept x\r\n\r\n",         // no colon
           "GET / HTTP/1.1\r\nHost: h\r\nAccept : x\r\n\r\n",       // space before the colon
           "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n folded\r\n\r\n",  // obsolete line folding
           "GET / HTTP/1.1\r\nHost: h\r\nA: b\x01\r\n\r\n",         // control character
           "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
           "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"
           "\r\n",
           "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       }) {
    INFO(text);
    CHECK(status_of(text) == web::ParseStatus::bad);
  }
  CHECK(status_of("GET / HTTP/2.0\r\n\r\n") == web::ParseStatus::bad_version);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n") ==
        web::ParseStatus::not_implemented);
}

TEST_CASE("parse: limits on headers and bodies", "[web][http]") {
  web::HttpLimits limits;
  limits.max_header_bytes = 256;
  limits.max_body_bytes = 10;
  CHECK(status_of("GET / HTTP/1.1\r\nA: " + std::string(300, 'a') + "\r\n\r\n", limits) ==
        web::ParseStatus::too_large);
  CHECK(status_of("GET / HTTP/1.1\r\nA: " + std::string(300, 'a'), limits) ==
        web::ParseStatus::too_large);  // no line end needed to know
  std::string blank_lines;
  for (int i = 0; i < 150; ++i) blank_lines += "\r\n";
  CHECK(status_of(blank_lines, limits) == web::ParseStatus::too_large);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "A: b\r\n";
  CHECK(status_of(many + "\r\n") == web::ParseStatus::too_large);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits) ==
        web::ParseStatus::body_too_large);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                  limits) == web::ParseStatus::body_too_large);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n"
                  "5\r\n",
                  limits) == web::ParseStatus::body_too_large);
}

TEST_CASE("parse: bodies by length and chunked, pipelined requests one at a time", "[web][http]") {
  web::HttpRequest req;
  const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK(parse(first.substr(0, first.size() - 1), req).status == web::ParseStatus::incomplete);
  auto r = parse(first + second, req);
  REQUIRE(r.status == web::ParseStatus::complete);
  CHECK(req.body == "hello");
  CHECK(r.consumed == first.size());
  r = parse(second, req);
  REQUIRE(r.status == web::ParseStatus::complete);
  CHECK(req.path == "/b");

  const std::string chunked =
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n"
      "0\r\nTrailer: x\r\n\r\n";
  for (std::size_t n = chunked.find("\r\n\r\n") + 4; n < chunked.size(); ++n) {
    INFO(n);
    CHECK(status_of(chunked.substr(0, n)) == web::ParseStatus::incomplete);
  }
  r = parse(chunked + second, req);
  REQUIRE(r.status == web::ParseStatus::complete);
  CHECK(req.body == "abcde");
  CHECK(r.consumed == chunked.size());
}

TEST_CASE("query values: the first of a name, decoded", "[web][http]") {
  CHECK(web::query_value("q=Barn%20%E2%98%80&x=1", "q") == "Barn \u2600");
  CHECK(web::query_value("a=1&q=two+words&q=second", "q") == "two words");
  CHECK(web::query_value("qq=1&q", "q").empty());
  CHECK(web::query_value("x=1", "q").empty());
  CHECK(web::query_value("", "q").empty());
  CHECK(web::query_value("q=100%&r", "q") == "100%");  // a stray '%' stays
  CHECK(web::query_value("q=%4", "q") == "%4");
}

TEST_CASE("a trickling client is closed at the request deadline, however often it sends",
          "[web][http]") {
  Served s(small_limits());
  Raw slow(s.port);
  REQUIRE(slow.send_text("GET /x HTTP/1.1\r\n"));
  // A header line every 50 ms: a per-read timeout (400 ms here) would never fire. 200 lines
  // would take 10 s; the whole-request deadline ends it long before.
  int sent = 0;
  while (sent < 200 && slow.send_text("X-Slow-" + std::to_string(sent) + ": 1\r\n")) {
    ++sent;
    if (slow.closed_by_peer(50ms)) break;
  }
  CHECK(slow.closed_by_peer(5s));
  CHECK(sent < 200);
  CHECK(s.handled == 0);
  CHECK(s.server.stats().timed_out >= 1);
}

TEST_CASE("silent and trickling connections hold no worker: a whole request is answered",
          "[web][http]") {
  web::HttpLimits limits = small_limits();
  limits.request_timeout = 30s;  // they all stay open for the whole test
  Served s(limits);              // one worker
  std::vector<std::unique_ptr<Raw>> hogs;
  for (int i = 0; i < 20; ++i) {
    hogs.push_back(std::make_unique<Raw>(s.port));
    if (i % 2 == 0) REQUIRE(hogs.back()->send_text("GET /x HTTP/1.1\r\nX-Part: "));
  }
  for (int round = 0; round < 3; ++round) {
    Raw client(s.port);
    REQUIRE(client.send_text(kGet));
    const auto answer = client.read_answer();
    CHECK(answer.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(answer.ends_with("\r\n\r\nok /x"));
  }
  CHECK(s.handled == 3);
  CHECK(s.server.stats().open >= 20);
  for (auto& h : hogs) CHECK_FALSE(h->closed_by_peer(0ms));
}

TEST_CASE("an idle kept-alive connection is closed after the idle timeout", "[web][http]") {
  Served s(small_limits());
  Raw c(s.port);
  REQUIRE(c.send_text(kGet));
  CHECK(c.read_answer().ends_with("ok /x"));
  REQUIRE(c.send_text(kGet));  // kept alive: a second request on it
  CHECK(c.read_answer().ends_with("ok /x"));
  CHECK(c.closed_by_peer(10s));
  CHECK(s.handled == 2);
  CHECK(s.server.stats().timed_out == 1);
}

TEST_CASE("connection caps: the excess of one client and of all clients is closed at once",
          "[web][http]") {
  web::HttpLimits limits = small_limits();
  limits.request_timeout = 30s;
  limits.idle_timeout = 30s;
  limits.max_connections_per_client = 3;
  limits.max_connections = 5;
  Served s(limits);
  std::vector<std::unique_ptr<Raw>> first;
  for (int i = 0; i < 3; ++i) first.push_back(std::make_unique<Raw>(s.port, "127.0.0.1"));
  {
    Raw excess(s.port, "127.0.0.1");  // the kernel accepts; the server closes it unasked
    CHECK(excess.closed_by_peer(10s));
  }
  CHECK(s.server.stats().refused == 1);
  // Another address still gets in, up to the total.
  Raw other(s.port, "127.0.0.2");
  REQUIRE(other.send_text(kGet));
  CHECK(other.read_answer().ends_with("ok /x"));
  Raw fifth(s.port, "127.0.0.3");
  Raw over_total(s.port, "127.0.0.4");
  CHECK(over_total.closed_by_peer(10s));
  CHECK(s.server.stats().refused == 2);
  for (auto& c : first) CHECK_FALSE(c->closed_by_peer(0ms));
  // A closed connection frees its place.
  first.pop_back();
  for (int i = 0; i < 500 && s.server.stats().open > 4; ++i) std::this_thread::sleep_for(10ms);
  Raw again(s.port, "127.0.0.4");
  REQUIRE(again.send_text(kGet));
  CHECK(again.read_answer().ends_with("ok /x"));
}

TEST_CASE("a client that does not read its answer holds no worker and is dropped at the deadline",
          "[web][http]") {
  Served s(small_limits());  // one worker, answers must be taken within 1 s
  Raw greedy(s.port);
  REQUIRE(greedy.send_text("GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));  // 64 MB, never read
  Raw other(s.port);
  REQUIRE(other.send_text(kGet));
  CHECK(other.read_answer().ends_with("ok /x"));
  CHECK(greedy.closed_by_peer(10s));
  CHECK(s.server.stats().timed_out >= 1);
}

TEST_CASE("keep-alive, pipelining, HEAD, HTTP/1.0 and errors on the wire", "[web][http]") {
  Served s(web::HttpLimits{});
  SECTION("pipelined requests are answered in order on one connection") {
    Raw c(s.port);
    REQUIRE(
        c.send_text("GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n"
                    "POST /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"));
    CHECK(c.read_answer().ends_with("ok /1"));
    CHECK(c.read_answer().ends_with("ok /2"));
    CHECK(c.read_answer().ends_with("ok /3 body=hi"));
    CHECK_FALSE(c.closed());
  }
  SECTION("HEAD: the length of the body, not the body") {
    Raw c(s.port);
    REQUIRE(c.send_text("HEAD /abc HTTP/1.1\r\nHost: t\r\n\r\nGET /d HTTP/1.1\r\nHost: t\r\n\r\n"));
    const auto head = c.read_until_closed(1s);
    CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(head.find("Content-Length: 7\r\n") != std::string::npos);
    CHECK(head.find("ok /abc") == std::string::npos);
    CHECK(head.ends_with("\r\n\r\nok /d"));  // the next answer follows the empty body
  }
  SECTION("HTTP/1.0 closes unless asked to keep alive; Connection: close closes") {
    Raw a(s.port);
    REQUIRE(a.send_text("GET /a HTTP/1.0\r\n\r\n"));
    const auto answer = a.read_until_closed();
    CHECK(a.closed());
    CHECK(answer.find("Connection: close\r\n") != std::string::npos);
    Raw b(s.port);
    REQUIRE(b.send_text("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    CHECK(b.read_answer().find("Connection: keep-alive\r\n") != std::string::npos);
    CHECK_FALSE(b.closed_by_peer(200ms));
    Raw c(s.port);
    REQUIRE(c.send_text("GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    c.read_until_closed();
    CHECK(c.closed());
  }
  SECTION("a request followed by the client's half-close is still answered") {
    Raw c(s.port);
    REQUIRE(c.send_text(kGet));
    c.finish_sending();
    const auto answer = c.read_until_closed();
    CHECK(answer.ends_with("ok /x"));
    CHECK(answer.find("Connection: close\r\n") != std::string::npos);
    CHECK(c.closed());
  }
  SECTION("bad requests get their status and the connection closes") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"GET / HTTP/1.1\r\nA: " + std::string(20000, 'a') + "\r\n\r\n",
         "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n",
         "HTTP/1.1 413 Content Too Large\r\n"},
        {"GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
    };
    for (const auto& [request, status_line] : cases) {
      INFO(status_line);
      Raw c(s.port);
      c.send_text(request);
      const auto answer = c.read_until_closed();
      CHECK(answer.starts_with(status_line));
      CHECK(answer.find("Connection: close\r\n") != std::string::npos);
      CHECK(c.closed());
    }
    CHECK(s.handled == 0);
  }
}

TEST_CASE("parse: Host once in HTTP/1.1, at most once in HTTP/1.0, and a host", "[web][http]") {
  CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == web::ParseStatus::bad);
  CHECK(status_of("GET http://h/ HTTP/1.1\r\nAccept: */*\r\n\r\n") == web::ParseStatus::bad);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == web::ParseStatus::bad);
  CHECK(status_of("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n") == web::ParseStatus::bad);
  for (const char* host : {"a b", "h/p", "user@h", "h?q", "h#f", "\"h\""}) {
    INFO(host);
    CHECK(status_of(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n") ==
          web::ParseStatus::bad);
  }
  for (const char* host : {"", "example.com", "127.0.0.1:9980", "[::1]:9980", "xn--bcher-kva.ch"}) {
    INFO(host);
    CHECK(status_of(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n") ==
          web::ParseStatus::complete);
  }
  CHECK(status_of("GET / HTTP/1.0\r\n\r\n") == web::ParseStatus::complete);
}

TEST_CASE("parse: lines end in CRLF, a bare LF is bad wherever it is", "[web][http]") {
  for (const char* text : {
           "GET / HTTP/1.1\nHost: h\r\n\r\n",  // request line
           "GET / HTTP/1.1\r\nHost: h\n\r\n",  // a header
           "GET / HTTP/1.1\r\nHost: h\r\n\n",  // the empty line
           "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.0\n\n",
           "GET / HTTP/1.1\n",                         // known bad before the request is whole
           "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",  // a lone CR
       }) {
    INFO(text);
    CHECK(status_of(text) == web::ParseStatus::bad);
  }
  const std::string chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* body : {
           "3\nabc\r\n0\r\n\r\n",           // chunk size line
           "3\r\nabc\n0\r\n\r\n",           // after the chunk's data
           "3\r\nabc\r\n0\n\r\n",           // last chunk
           "3\r\nabc\r\n0\r\n\n",           // the end
           "3\r\nabc\r\n0\r\nA: b\n\r\n",   // a trailer
           "3\r\nabcX\r\n0\r\n\r\n",        // more data than the size
           "3\r\nabc\r\n0\r\nA b\r\n\r\n",  // a trailer that is no field
       }) {
    INFO(body);
    CHECK(status_of(chunked + body) == web::ParseStatus::bad);
  }
  CHECK(status_of(chunked + "3\r\nabc\r\n0\r\n\r\n") == web::ParseStatus::complete);
}

TEST_CASE("parse: no whitespace around chunk sizes, chunk extensions taken", "[web][http]") {
  const std::string chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* size_line : {" 3", "3 ", "3\t", "\t3", "3 ;x=1", "0x3", "+3", "3;x\x01"}) {
    INFO(size_line);
    CHECK(status_of(chunked + size_line + "\r\nabc\r\n0\r\n\r\n") == web::ParseStatus::bad);
  }
  for (const char* size_line : {"3", "03", "3;x=1", "3;x=\"a b\";y"}) {
    INFO(size_line);
    web::HttpRequest req;
    CHECK(parse(chunked + size_line + "\r\nabc\r\n0\r\n\r\n", req).status ==
          web::ParseStatus::complete);
    CHECK(req.body == "abc");
  }
}

TEST_CASE("http_date: IMF-fixdate", "[web][http]") {
  using std::chrono::sys_days;
  CHECK(web::http_date(std::chrono::sys_seconds{784111777s}) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(web::http_date(sys_days{std::chrono::year{2028} / 2 / 29} + 23h + 59min + 59s) ==
        "Tue, 29 Feb 2028 23:59:59 GMT");
  CHECK(web::http_date(std::chrono::sys_seconds{0s}) == "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_CASE("on the wire: HTTP/1.1 without Host and bare LF are 400, every answer has a Date",
          "[web][http]") {
  Served s(small_limits());
  const std::regex date_line(
      "\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
      "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 2[0-9]{3} "
      "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] "
      "GMT\r\n");
  const auto date_count = [](const std::string& answer) {
    std::size_t n = 0;
    for (auto at = answer.find("\r\nDate: "); at != std::string::npos;
         at = answer.find("\r\nDate: ", at + 1))
      ++n;
    return n;
  };
  for (const char* request :
       {"GET /x HTTP/1.1\r\n\r\n", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /x HTTP/1.1\nHost: t\n\n", "GET /x HTTP/1.1\r\nHost: t\n\n"}) {
    INFO(request);
    Raw c(s.port);
    REQUIRE(c.send_text(request));
    const auto answer = c.read_until_closed();
    CHECK(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    CHECK(std::regex_search(answer, date_line));
    CHECK(date_count(answer) == 1);
    CHECK(c.closed());
  }
  CHECK(s.handled == 0);
  Raw old(s.port);
  REQUIRE(old.send_text("GET /old HTTP/1.0\r\n\r\n"));
  const auto answer = old.read_until_closed();
  CHECK(answer.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(answer.ends_with("ok /old"));
  CHECK(std::regex_search(answer, date_line));
  CHECK(date_count(answer) == 1);
}

TEST_CASE("after an error answer the connection is half-closed and drained, not reset",
          "[web][http]") {
  Served s(small_limits());
  Raw c(s.port);
  // A bad request, and more bytes behind it than the server reads before it answers.
  REQUIRE(c.send_text("GARBAGE\r\n\r\n" + std::string(std::size_t{128} * 1024, 'x')));
  const auto answer = c.read_until_closed();
  CHECK(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"));
  CHECK(answer.ends_with("\r\n\r\n400 Bad Request\n"));
  CHECK(c.closed());
  CHECK_FALSE(c.reset());
  // The server only stopped sending: what the client still sends is taken, not refused.
  std::this_thread::sleep_for(50ms);  // time for a reset to arrive, if one was sent
  CHECK(c.socket_error() == 0);
  CHECK(c.send_text("more of the same body"));
  CHECK(c.socket_error() == 0);
}

TEST_CASE("lingering after a last answer ends at the client's close, its deadline or its size",
          "[web][http]") {
  web::HttpLimits limits = small_limits();
  const auto wait_closed = [](Served& s) {
    for (int i = 0; i < 1000 && s.server.stats().open > 0; ++i) std::this_thread::sleep_for(10ms);
    return s.server.stats().open == 0;
  };
  SECTION("the client's close") {
    limits.linger_timeout = 60s;
    Served s(limits);
    Raw c(s.port);
    REQUIRE(c.send_text("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    CHECK(c.read_until_closed().ends_with("ok /x"));
    CHECK(s.server.stats().open == 1);  // waiting for the client's end
    c.finish_sending();
    CHECK(wait_closed(s));
    CHECK(s.server.stats().timed_out == 0);
  }
  SECTION("the deadline") {
    limits.linger_timeout = 300ms;
    Served s(limits);
    Raw c(s.port);
    REQUIRE(c.send_text("GARBAGE\r\n\r\n"));
    CHECK(c.read_until_closed().starts_with("HTTP/1.1 400 "));
    CHECK(wait_closed(s));  // the client never closed
    CHECK(s.server.stats().timed_out == 0);
  }
  SECTION("the size") {
    limits.linger_timeout = 60s;
    Served s(limits);
    Raw c(s.port);
    REQUIRE(c.send_text("GARBAGE\r\n\r\n"));
    CHECK(c.read_until_closed().starts_with("HTTP/1.1 400 "));
    // A client that sends without end is cut off after a bounded amount, long before 64 MiB.
    const std::string block(std::size_t{64} * 1024, 'x');
    std::size_t sent = 0;
    while (sent < std::size_t{64} * 1024 * 1024 && c.send_text(block)) sent += block.size();
    CHECK(sent < std::size_t{64} * 1024 * 1024);
    CHECK(wait_closed(s));
  }
}

TEST_CASE("a handler that does not answer in time gets its client a 503, and holds no one",
          "[web][http]") {
  web::HttpLimits limits = small_limits();  // one worker
  limits.handler_timeout = 1s;
  limits.response_timeout = 30s;
  Served s(limits);
  Raw slow(s.port);
  REQUIRE(slow.send_text("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto answer = slow.read_until_closed();
  CHECK(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(answer.find("Connection: close\r\n") != std::string::npos);
  CHECK(slow.closed());
  // The only worker is still stuck: the next request waits for it no longer than the deadline,
  // and is dropped from the queue (never run).
  Raw queued(s.port);
  REQUIRE(queued.send_text(kGet));
  CHECK(queued.read_until_closed().starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(s.server.stats().handler_timed_out == 2);
  s.release();
  Raw after(s.port);
  REQUIRE(after.send_text(kGet));
  CHECK(after.read_answer().ends_with("ok /x"));
  CHECK(s.handled == 2);  // /slow and this one
  CHECK(s.server.stats().requests == 3);
}

TEST_CASE("stop() before run() makes run() return at once", "[web][http]") {
  web::HttpServer server({}, [](const web::HttpRequest&) { return web::HttpResponse{}; });
  REQUIRE(server.bind({"127.0.0.1", 0}).ok());
  server.stop();
  server.run();
  CHECK(server.stats().accepted == 0);
}
