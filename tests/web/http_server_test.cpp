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
#include <chrono>
#include <memory>
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
  void finish_sending() { shutdown(fd_, SHUT_WR); }

 private:
  void read_some(std::string& into, std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
    char buf[65536];
    const auto n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return;
    }
    into.append(buf, static_cast<std::size_t>(n));
  }

  int fd_ = -1;
  bool closed_ = false;
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

// A running HttpServer that answers "ok <path>", or a large body at /big.
struct Served {
  std::atomic<int> handled{0};
  web::HttpServer server;
  std::thread thread;
  int port = 0;

  explicit Served(web::HttpLimits limits)
      : server(limits, [this](const web::HttpRequest& req) {
          ++handled;
          web::HttpResponse res;
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
    server.stop();
    thread.join();
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

TEST_CASE("parse: incomplete until the blank line, bare LF lines and leading blank lines taken",
          "[web][http]") {
  const std::string text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::size_t n = 0; n < text.size(); ++n) {
    INFO(n);
    CHECK(status_of(text.substr(0, n)) == web::ParseStatus::incomplete);
  }
  web::HttpRequest req;
  CHECK(parse("\r\n\r\nGET /a%2Fb HTTP/1.0\nHost: x\n\n", req).status ==
        web::ParseStatus::complete);
  CHECK(req.path == "/a/b");
  CHECK(req.minor_version == 0);
  CHECK(parse("GET http://h:9/p?q HTTP/1.1\r\n\r\n", req).status == web::ParseStatus::complete);
  CHECK(req.path == "/p");
  CHECK(req.query == "q");
}

TEST_CASE("parse: malformed requests are bad, not guessed at", "[web][http]") {
  for (const char* text : {
           "GET /\r\n\r\n",                              // no version
           "GET  / HTTP/1.1\r\n\r\n",                    // two spaces
           "GET / HTTP/1.1 x\r\n\r\n",                   // a fourth part
           "G(T / HTTP/1.1\r\n\r\n",                     // not a token
           "GET / HTTP/1.x\r\n\r\n",                     // version
           "GET x HTTP/1.1\r\n\r\n",                     // not a path
           "GET /%zz HTTP/1.1\r\n\r\n",                  // bad escape
           "GET /a%00 HTTP/1.1\r\n\r\n",                 // NUL
           "GET /a% HTTP/1.1\r\n\r\n",                   // cut escape
           "GET / HTTP/1.1\r\nHost x\r\n\r\n",           // no colon
           "GET / HTTP/1.1\r\nHost : x\r\n\r\n",         // space before the colon
           "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",  // obsolete line folding
           "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",         // control character
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
           "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       }) {
    INFO(text);
    CHECK(status_of(text) == web::ParseStatus::bad);
  }
  CHECK(status_of("GET / HTTP/2.0\r\n\r\n") == web::ParseStatus::bad_version);
  CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") ==
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
  CHECK(status_of(std::string(300, '\n'), limits) == web::ParseStatus::too_large);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "A: b\r\n";
  CHECK(status_of(many + "\r\n") == web::ParseStatus::too_large);
  CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits) ==
        web::ParseStatus::body_too_large);
  CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", limits) ==
        web::ParseStatus::body_too_large);
  CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n",
                  limits) == web::ParseStatus::body_too_large);
}

TEST_CASE("parse: bodies by length and chunked, pipelined requests one at a time", "[web][http]") {
  web::HttpRequest req;
  const std::string first = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  const std::string second = "GET /b HTTP/1.1\r\n\r\n";
  CHECK(parse(first.substr(0, first.size() - 1), req).status == web::ParseStatus::incomplete);
  auto r = parse(first + second, req);
  REQUIRE(r.status == web::ParseStatus::complete);
  CHECK(req.body == "hello");
  CHECK(r.consumed == first.size());
  r = parse(second, req);
  REQUIRE(r.status == web::ParseStatus::complete);
  CHECK(req.path == "/b");

  const std::string chunked =
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n"
      "Trailer: x\r\n\r\n";
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
  REQUIRE(greedy.send_text("GET /big HTTP/1.1\r\n\r\n"));  // 64 MB, never read
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
        c.send_text("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\n"
                    "Content-Length: 2\r\n\r\nhi"));
    CHECK(c.read_answer().ends_with("ok /1"));
    CHECK(c.read_answer().ends_with("ok /2"));
    CHECK(c.read_answer().ends_with("ok /3 body=hi"));
    CHECK_FALSE(c.closed());
  }
  SECTION("HEAD: the length of the body, not the body") {
    Raw c(s.port);
    REQUIRE(c.send_text("HEAD /abc HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\n\r\n"));
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
    REQUIRE(c.send_text("GET /c HTTP/1.1\r\nConnection: close\r\n\r\n"));
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
        {"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", "HTTP/1.1 413 Content Too Large\r\n"},
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

TEST_CASE("stop() before run() makes run() return at once", "[web][http]") {
  web::HttpServer server({}, [](const web::HttpRequest&) { return web::HttpResponse{}; });
  REQUIRE(server.bind({"127.0.0.1", 0}).ok());
  server.stop();
  server.run();
  CHECK(server.stats().accepted == 0);
}
