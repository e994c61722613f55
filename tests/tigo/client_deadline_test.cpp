// A request ends within --tigo.timeout however slowly its answer trickles in (cpp-httplib's own
// timeouts apply to each read, so a byte every 200 ms would keep it alive forever), over plain
// HTTP and TLS, during the headers and during the body; the client works on afterwards. The
// trickling server is a thread with a socket on 127.0.0.1 (OpenSSL on it for TLS).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "tigo/client.hpp"

using namespace std::chrono;

namespace {

// What the server sends on one connection: `prompt` at once, then `trickle` a byte every 200 ms.
struct Script {
  std::string prompt;
  std::string trickle;
};

const std::string kBody = R"({"object_types":[{"object_type_id":1,"label":"System"}]})";

// A whole answer at once (the server then hangs up).
Script prompt_answer() {
  return {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(kBody.size()) + "\r\n\r\n" + kBody,
          ""};
}

// Status line and headers at once, then the body a byte at a time (20 s in all).
Script trickled_body() {
  return {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
          std::string(100, ' ')};
}

// The status line and headers a byte at a time (30 s in all).
Script trickled_headers() {
  return {"", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " +
                  std::string(100, 'x') + "\r\nContent-Length: 2\r\n\r\n{}"};
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tigo-deadline-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A self-signed certificate for 127.0.0.1 (the openssl CLI, as in client_tls_test.cpp) and a
// server context with it.
struct TestCertificate {
  TempDir dir;
  std::string cert = (dir.path / "cert.pem").string();
  std::string key = (dir.path / "key.pem").string();
  SSL_CTX* ctx = nullptr;
  TestCertificate() {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
        key + "' -out '" + cert + "' >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    ctx = SSL_CTX_new(TLS_server_method());
    REQUIRE(ctx != nullptr);
    REQUIRE(SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  ~TestCertificate() { SSL_CTX_free(ctx); }
};

// Serves connection i with scripts[i] (the last script for the rest), one connection at a time,
// over TLS when given a context.
class TricklingServer {
 public:
  TricklingServer(std::vector<Script> scripts, SSL_CTX* tls = nullptr)
      : scripts_(std::move(scripts)), tls_(tls) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 8) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TricklingServer() {
    {
      std::lock_guard lock(m_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }
  std::string base_url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
           "/api/v3/";
  }
  int connections() const { return connections_; }

 private:
  bool stopping() {
    std::lock_guard lock(m_);
    return stopping_;
  }
  // Waits `d` unless the server is stopping; false when it is.
  bool pause(milliseconds d) {
    std::unique_lock lock(m_);
    return !cv_.wait_for(lock, d, [this] { return stopping_; });
  }

  void serve() {
    // A client that hung up makes our next write fail (EPIPE), not end the test with SIGPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    while (!stopping()) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const timeval limit{5, 0};  // a test that went wrong must not hang here
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      const Script& script = scripts_[std::min<std::size_t>(connections_, scripts_.size() - 1)];
      ++connections_;
      SSL* ssl = nullptr;
      if (tls_) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
          SSL_free(ssl);
          ::close(fd);
          continue;
        }
      }
      converse(fd, ssl, script);
      if (ssl) SSL_free(ssl);  // no close_notify: the client may be gone
      ::close(fd);
    }
  }

  void converse(int fd, SSL* ssl, const Script& script) {
    const auto send_bytes = [&](std::string_view s) {
      if (s.empty()) return true;
      const int n = ssl ? SSL_write(ssl, s.data(), static_cast<int>(s.size()))
                        : static_cast<int>(::send(fd, s.data(), s.size(), MSG_NOSIGNAL));
      return n == static_cast<int>(s.size());
    };
    // The request: everything up to its blank line.
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const int n =
          ssl ? SSL_read(ssl, buf, sizeof buf) : static_cast<int>(::recv(fd, buf, sizeof buf, 0));
      if (n <= 0) return;
      request.append(buf, static_cast<std::size_t>(n));
    }
    if (!send_bytes(script.prompt)) return;
    for (char c : script.trickle) {
      if (!pause(milliseconds{200}) || !send_bytes(std::string_view(&c, 1))) return;
    }
    // A whole answer sent: let the client read it before hanging up.
    pause(milliseconds{200});
  }

  std::vector<Script> scripts_;
  SSL_CTX* tls_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::mutex m_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members it uses exist
};

std::unique_ptr<tigo::Client> client_for(const TricklingServer& server,
                                         const std::string& ca_file = "") {
  tigo::ClientOptions o;
  o.base_url = server.base_url();
  o.credentials = {"", "", "pre-issued"};  // no login: the one request is the one asked for
  o.timeout = seconds{1};
  o.ca_file = ca_file;
  tigo::GovernorOptions g;
  g.backoff_base = milliseconds{10};  // the call after the failure need not wait a second
  g.seed = 1;
  o.governor = std::make_shared<tigo::Governor>(g);
  return tigo::Client::create(o).value();
}

// The first call trickles and must end at the deadline as a transport error, counted as a
// failure; the next one (a new connection) gets its answer.
void check_deadline(TricklingServer& server, tigo::Client& client) {
  // Over TLS, cpp-httplib says close_notify on the socket the deadline shut down: EPIPE, and
  // SIGPIPE unless ignored, as the exporter does (util::block_termination_signals).
  std::signal(SIGPIPE, SIG_IGN);
  const auto start = steady_clock::now();
  auto r = client.object_types();
  const auto took = steady_clock::now() - start;
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == tigo::ErrorKind::transport);
  CHECK(r.error().message == "objects/types: no complete answer from 127.0.0.1:" +
                                 std::to_string(server.port()) + " within 1s");
  CHECK(took < seconds{5});  // a bound on a hang (the trickle would take 20 s or more)
  const auto state = client.governor().state();
  CHECK(state.consecutive_failures == 1);
  CHECK(state.in_flight == 0);

  auto again = client.object_types();
  REQUIRE(again.ok());
  CHECK(again->at(0).label == "System");
  CHECK(server.connections() == 2);
}

}  // namespace

TEST_CASE("an answer whose body trickles in ends at the timeout", "[tigo][client][deadline]") {
  TricklingServer server({trickled_body(), prompt_answer()});
  check_deadline(server, *client_for(server));
}

TEST_CASE("an answer whose headers trickle in ends at the timeout", "[tigo][client][deadline]") {
  TricklingServer server({trickled_headers(), prompt_answer()});
  check_deadline(server, *client_for(server));
}

TEST_CASE("an answer whose body trickles in over TLS ends at the timeout",
          "[tigo][client][deadline][tls]") {
  TestCertificate cert;
  TricklingServer server({trickled_body(), prompt_answer()}, cert.ctx);
  check_deadline(server, *client_for(server, cert.cert));
}

TEST_CASE("an answer whose headers trickle in over TLS ends at the timeout",
          "[tigo][client][deadline][tls]") {
  TestCertificate cert;
  TricklingServer server({trickled_headers(), prompt_answer()}, cert.ctx);
  check_deadline(server, *client_for(server, cert.cert));
}
