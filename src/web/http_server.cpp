#include "web/http_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "util/log.hpp"
#include "util/socket.hpp"
#include "web/http_connection.hpp"

namespace web {
namespace {

using Clock = std::chrono::steady_clock;
using Phase = HttpConnection::Phase;

constexpr std::size_t kReadSize = std::size_t{16} * 1024;  // one read from a socket
// Bytes written to one client before the others get their turn.
constexpr std::size_t kWriteTurn = std::size_t{4} * 1024 * 1024;
// What a closing connection reads and drops at most (within HttpLimits::linger_timeout).
constexpr std::size_t kMaxLingerBytes = std::size_t{1024} * 1024;
constexpr std::size_t kFdReserve = 128;  // descriptors kept for everything but the clients
constexpr std::uint64_t kWakeId = 0, kListenId = 1, kFirstConnId = 2;

// An event that may come in floods, logged at most once a minute with how many came.
struct ThrottledLog {
  Clock::time_point last{};
  std::uint64_t since_last = 0;
  bool started = false;

  // Counts one; true when it is to be logged, `count` then says how many since the last log.
  bool due(std::uint64_t& count) {
    ++since_last;
    const auto now = Clock::now();
    if (started && now - last < std::chrono::minutes{1}) return false;
    started = true;
    last = now;
    count = since_last;
    since_last = 0;
    return true;
  }
};

}  // namespace

struct HttpServer::Loop {
  struct Conn {
    Conn(const HttpLimits& limits, const std::string& date) : http(limits, date) {}

    std::uint64_t id = 0;
    int fd = -1;
    SSL* ssl = nullptr;
    std::string client;
    int port = -1;
    HttpConnection http;
    bool handshaking = false;
    bool kept_alive = false;  // an answer was sent: a request's deadline runs from its first byte
    std::string path;         // of the request with the handler, for the log
    Clock::time_point deadline;
    std::uint32_t events = 0;  // registered with epoll
    bool tls_wants_write = false, tls_wants_read = false;
    bool lingering = false;   // half-closed after the last answer, dropping what still comes
    std::size_t drained = 0;  // bytes dropped while lingering
    bool closed = false;      // released at the end of the loop's turn (reap)
  };

  struct Job {
    std::uint64_t id;
    HttpRequest request;
  };
  struct Done {
    std::uint64_t id;
    HttpResponse response;
  };

  Loop(HttpLimits l, HttpHandler h) : limits(l), handler(std::move(h)) {
    // A peer that hangs up during a TLS write must not kill the process (OpenSSL writes with
    // write(2), without MSG_NOSIGNAL).
    std::signal(SIGPIPE, SIG_IGN);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    if (epoll_fd >= 0 && wake_fd >= 0) epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    limits.workers = std::max(1U, limits.workers);
    limits.max_connections = std::max<std::size_t>(1, limits.max_connections);
    refresh_date();
  }

  ~Loop() {
    for (auto& [id, conn] : conns) release(*conn);
    conns.clear();
    for (int fd : {listen_fd, wake_fd, epoll_fd, spare_fd})
      if (fd >= 0) close(fd);
  }

  // --- setup -----------------------------------------------------------------------------

  util::Result<int> bind(const util::ListenAddress& listen) {
    if (epoll_fd < 0 || wake_fd < 0) return util::make_error(std::strerror(errno));
    std::string reason;
    for (const auto& host : util::bind_hosts(listen)) {
      auto fd = util::listen_tcp(host, listen.port);
      if (!fd) {
        reason = fd.error().message;
        continue;
      }
      listen_fd = *fd;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenId;
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
      admit_within_open_files_limit();
      return util::bound_port(listen_fd);
    }
    return util::make_error(reason);
  }

  // Every admitted connection needs a descriptor: raise the soft limit if it is lower (as Go
  // does at start), or admit fewer connections than asked for.
  void admit_within_open_files_limit() {
    const std::size_t wanted = limits.max_connections + kFdReserve;
    const std::size_t have = util::raise_open_files_limit(wanted);
    if (have >= wanted) return;
    limits.max_connections =
        have > 2 * kFdReserve ? have - kFdReserve : std::max<std::size_t>(have / 2, 1);
    util::log::warn("fewer web connections admitted than configured: the open files limit is low",
                    {{"open_files_limit", std::to_string(have)},
                     {"max_connections", std::to_string(limits.max_connections)}});
  }

  // --- the loop --------------------------------------------------------------------------

  void run() {
    if (stop_requested) return;
    for (unsigned i = 0; i < limits.workers; ++i) workers.emplace_back([this] { work(); });
    next_sweep = Clock::now() + std::chrono::seconds{1};
    std::vector<epoll_event> events(256);
    while (!stop_requested) {
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_sweep - Clock::now());
      const int timeout = static_cast<int>(std::clamp<std::int64_t>(wait.count() + 1, 0, 1000));
      const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout);
      refresh_date();
      for (int i = 0; i < n && !stop_requested; ++i) {
        const std::uint64_t id = events[i].data.u64;
        if (id == kWakeId) {
          std::uint64_t count = 0;
          while (read(wake_fd, &count, sizeof count) > 0) {
          }
          finish_jobs();
        } else if (id == kListenId) {
          accept_clients();
        } else if (auto it = conns.find(id); it != conns.end()) {
          on_event(*it->second, events[i].events);
        }
        reap();
      }
      if (Clock::now() >= next_sweep) sweep();
      reap();
    }
    {
      std::lock_guard lock(jobs_mutex);
      jobs.clear();
      workers_stop = true;
    }
    jobs_cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    for (auto& [id, conn] : conns) release(*conn);
    conns.clear();
    per_client.clear();
    open_count = 0;
  }

  // The Date of every answer, formatted once a second.
  void refresh_date() {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    if (now == date_second) return;
    date_second = now;
    date = http_date(now);
  }

  void stop() {
    stop_requested = true;
    if (wake_fd >= 0) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const auto n = write(wake_fd, &one, sizeof one);
    }
  }

  // --- accepting -------------------------------------------------------------------------

  void accept_clients() {
    for (int i = 0; i < 64; ++i) {  // then serve the others before accepting more
      sockaddr_storage address{};
      socklen_t len = sizeof address;
      const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
          // Out of descriptors: the waiting client is taken and closed at once, with the spare
          // descriptor freed for it, instead of being left in the queue (the listening socket
          // would stay readable and the loop would spin).
          close(spare_fd);
          const int shed = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
          refused_one("");  // counted before the client can see the close
          if (shed >= 0) close(shed);
          spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
          continue;
        }
        return;  // EAGAIN, or a transient shortage (ENOBUFS): the next event retries
      }
      int port = -1;
      std::string client = util::peer_address(address, port);
      const auto found = per_client.find(client);
      const std::size_t of_client = found == per_client.end() ? 0 : found->second;
      if (conns.size() >= limits.max_connections ||
          of_client >= limits.max_connections_per_client) {
        refused_one(client);
        close(fd);
        continue;
      }
      const int yes = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      auto conn = std::make_unique<Conn>(limits, date);
      conn->id = next_id++;
      conn->fd = fd;
      conn->client = std::move(client);
      conn->port = port;
      conn->deadline = Clock::now() + limits.request_timeout;
      if (auto ctx = tls_context()) {
        conn->ssl = SSL_new(ctx.get());
        if (conn->ssl == nullptr || SSL_set_fd(conn->ssl, fd) != 1) {
          if (conn->ssl != nullptr) SSL_free(conn->ssl);
          ERR_clear_error();
          refused_one(conn->client);
          close(fd);
          continue;
        }
        SSL_set_accept_state(conn->ssl);
        SSL_set_mode(conn->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
        SSL_set_options(conn->ssl, SSL_OP_NO_RENEGOTIATION);
        conn->handshaking = true;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = conn->id;
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        release(*conn);
        continue;
      }
      conn->events = EPOLLIN;
      ++per_client[conn->client];
      ++accepted;
      ++open_count;
      note_deadline(conn->deadline);
      conns.emplace(conn->id, std::move(conn));
    }
  }

  void refused_one(const std::string& client) {
    ++refused;
    std::uint64_t count = 0;
    if (!refusal_log.due(count)) return;
    util::log::warn(
        "web connections refused: over the connection limit",
        {{"client", client.empty() ? "(out of descriptors)" : client},
         {"max_connections", std::to_string(limits.max_connections)},
         {"max_connections_per_client", std::to_string(limits.max_connections_per_client)},
         {"refused_since_last_report", std::to_string(count)}});
  }

  std::shared_ptr<SSL_CTX> tls_context() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }

  // --- one connection --------------------------------------------------------------------

  void on_event(Conn& c, std::uint32_t events) {
    if (c.closed) return;
    if (c.lingering) {
      drain(c);  // a hang-up too: what came before it is read first
      return;
    }
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      close_conn(c);
      return;
    }
    if (c.handshaking) {
      handshake(c);
      return;
    }
    switch (c.http.phase()) {
      case Phase::idle:
      case Phase::reading:
        read_request(c);
        return;
      case Phase::writing:
        write_answer(c);
        return;
      case Phase::processing:
      case Phase::closing:
        return;
    }
  }

  void handshake(Conn& c) {
    const int rc = SSL_do_handshake(c.ssl);
    if (rc == 1) {
      c.handshaking = false;
      read_request(c);  // the request may have come with the handshake's last flight
      return;
    }
    if (!tls_would_block(c, rc)) {
      close_conn(c);
      return;
    }
    update_interest(c);
  }

  // After an SSL call that did not succeed: true when it waits for the socket (and which way).
  bool tls_would_block(Conn& c, int rc) {
    const int err = SSL_get_error(c.ssl, rc);
    c.tls_wants_read = err == SSL_ERROR_WANT_READ;
    c.tls_wants_write = err == SSL_ERROR_WANT_WRITE;
    if (!c.tls_wants_read && !c.tls_wants_write) ERR_clear_error();
    return c.tls_wants_read || c.tls_wants_write;
  }

  // > 0 bytes read, 0 the peer closed or failed, -1 would block.
  long read_some(Conn& c, char* buf, std::size_t size) {
    c.tls_wants_read = c.tls_wants_write = false;
    if (c.ssl != nullptr) {
      std::size_t n = 0;
      const int rc = SSL_read_ex(c.ssl, buf, size, &n);
      if (rc == 1) return static_cast<long>(n);
      return tls_would_block(c, rc) ? -1 : 0;
    }
    const auto n = recv(c.fd, buf, size, 0);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
    return 0;
  }

  // > 0 bytes written, 0 failed, -1 would block.
  long write_some(Conn& c, const char* buf, std::size_t size, bool more) {
    c.tls_wants_read = c.tls_wants_write = false;
    if (c.ssl != nullptr) {
      std::size_t n = 0;
      const int rc = SSL_write_ex(c.ssl, buf, size, &n);
      if (rc == 1) return static_cast<long>(n);
      return tls_would_block(c, rc) ? -1 : 0;
    }
    const auto n = send(c.fd, buf, size, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
    return 0;
  }

  // Reads what is there, up to what the connection keeps: a half-close right behind a request
  // is seen with it, so its answer can say it is the last.
  void read_request(Conn& c) {
    char buf[kReadSize];
    const Phase before = c.http.phase();
    while (!c.http.received_end() && c.http.room() > 0) {
      const long n = read_some(c, buf, std::min(sizeof buf, c.http.room()));
      if (n < 0) break;
      if (n == 0) {
        c.http.receive_end();
      } else {
        c.http.receive({buf, static_cast<std::size_t>(n)});
      }
    }
    if (c.http.phase() != before) {
      entered(c);
    } else {
      update_interest(c);
    }
  }

  // The connection's protocol moved to another phase: its deadline, and what the loop does.
  void entered(Conn& c) {
    switch (c.http.phase()) {
      case Phase::idle:
        set_deadline(c, limits.idle_timeout);
        update_interest(c);
        return;
      case Phase::reading:
        // The first request's deadline runs from the accept (a silent client gains nothing).
        if (c.kept_alive) set_deadline(c, limits.request_timeout);
        update_interest(c);
        return;
      case Phase::processing:
        dispatch(c);
        return;
      case Phase::writing:
        set_deadline(c, limits.response_timeout);
        write_answer(c);
        return;
      case Phase::closing:
        linger(c);
        return;
    }
  }

  void dispatch(Conn& c) {
    auto req = c.http.take_request();
    if (!req) return;
    req->remote_addr = c.client;
    req->remote_port = c.port;
    c.path = req->path;
    set_deadline(c, limits.handler_timeout);
    update_interest(c);
    ++requests;
    {
      std::lock_guard lock(jobs_mutex);
      jobs.push_back({c.id, std::move(*req)});
    }
    jobs_cv.notify_one();
  }

  // The handler did not answer in time: 503 and close, whatever it answers later is dropped.
  void handler_too_slow(Conn& c) {
    ++timed_out;
    ++handler_timed_out;
    {
      std::lock_guard lock(jobs_mutex);
      std::erase_if(jobs, [&c](const Job& job) { return job.id == c.id; });  // not started yet
    }
    std::uint64_t count = 0;
    if (handler_timeout_log.due(count))
      util::log::warn("web handler not done in time: answered 503",
                      {{"path", c.path},
                       {"handler_timeout", std::to_string(limits.handler_timeout.count()) + "ms"},
                       {"timeouts_since_last_report", std::to_string(count)}});
    c.http.fail(503);
    entered(c);
  }

  void write_answer(Conn& c) {
    std::size_t turn = 0;
    while (!c.closed && turn < kWriteTurn) {
      std::string_view data;
      if (!c.http.output(data)) {
        close_conn(c);  // the body cannot be produced: a short answer, not a wrong one
        return;
      }
      const long n = write_some(c, data.data(), data.size(), c.http.output_continues());
      if (n == 0) {
        close_conn(c);
        return;
      }
      if (n < 0) {
        update_interest(c);
        return;
      }
      turn += static_cast<std::size_t>(n);
      if (c.http.sent(static_cast<std::size_t>(n))) {
        c.kept_alive = true;
        entered(c);
        // A pipelined request, or bytes OpenSSL already holds (epoll cannot tell of those).
        if (!c.closed && (c.http.phase() == Phase::idle || c.http.phase() == Phase::reading))
          read_request(c);
        return;
      }
    }
    if (!c.closed) update_interest(c);  // more to write: others first, then the next event
  }

  // After the last answer: stop sending and drop what the client still sends until it closes,
  // for a bounded time and size. Closing with unread input would reset the connection, and a
  // reset can destroy the answer before the client has read it (RFC 9112 9.6).
  void linger(Conn& c) {
    if (c.http.received_end()) {
      close_conn(c);  // nothing unread can come
      return;
    }
    shutdown(c.fd, SHUT_WR);
    c.lingering = true;
    set_deadline(c, limits.linger_timeout);
    drain(c);
  }

  void drain(Conn& c) {
    char buf[kReadSize];
    for (;;) {
      const auto n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.drained += static_cast<std::size_t>(n);
        if (c.drained <= kMaxLingerBytes) continue;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        update_interest(c);
        return;
      }
      close_conn(c);  // the client closed too, failed, or sends more than is worth waiting for
      return;
    }
  }

  void update_interest(Conn& c) {
    if (c.closed) return;
    std::uint32_t want = 0;
    if (c.lingering) {
      want = EPOLLIN;
    } else if (c.handshaking) {
      want = c.tls_wants_write ? EPOLLOUT : EPOLLIN;
    } else {
      switch (c.http.phase()) {
        case Phase::idle:
        case Phase::reading:
          want = c.tls_wants_write ? EPOLLOUT : EPOLLIN;
          break;
        case Phase::writing:
          want = c.tls_wants_read ? EPOLLIN : EPOLLOUT;
          break;
        case Phase::processing:
        case Phase::closing:
          want = 0;  // a pipelined request waits in the socket; hang-ups still arrive
          break;
      }
    }
    if (want == c.events) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = c.id;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
    c.events = want;
  }

  void set_deadline(Conn& c, std::chrono::milliseconds timeout) {
    c.deadline = Clock::now() + timeout;
    note_deadline(c.deadline);
  }

  void note_deadline(Clock::time_point t) { next_sweep = std::min(next_sweep, t); }

  void sweep() {
    const auto now = Clock::now();
    next_sweep = now + std::chrono::seconds{1};
    std::vector<std::uint64_t> expired;
    for (auto& [id, conn] : conns) {
      if (conn->closed) continue;
      if (conn->deadline <= now) {
        expired.push_back(id);
      } else {
        next_sweep = std::min(next_sweep, conn->deadline);
      }
    }
    for (const auto id : expired) {
      Conn& c = *conns.at(id);
      if (c.closed) continue;
      if (c.lingering) {
        close_conn(c);  // the answer had its time to be read: an end, not a failure
      } else if (!c.handshaking && c.http.phase() == Phase::processing) {
        handler_too_slow(c);
      } else {
        ++timed_out;
        close_conn(c);
      }
    }
  }

  // Marks the connection closed; reap() frees it once no caller holds it any more.
  void close_conn(Conn& c) {
    if (c.closed) return;
    c.closed = true;
    closing.push_back(c.id);
  }

  void reap() {
    for (const auto id : closing) {
      const auto it = conns.find(id);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      release(c);
      if (auto pc = per_client.find(c.client); pc != per_client.end() && --pc->second == 0)
        per_client.erase(pc);
      --open_count;
      conns.erase(it);
    }
    closing.clear();
  }

  // Frees what a connection holds (not its bookkeeping).
  static void release(Conn& c) {
    if (c.ssl != nullptr) {
      SSL_free(c.ssl);  // no close_notify: it could block on a client that does not read
      c.ssl = nullptr;
      ERR_clear_error();
    }
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }

  // --- workers ---------------------------------------------------------------------------

  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(jobs_mutex);
        jobs_cv.wait(lock, [this] { return !jobs.empty() || workers_stop; });
        if (workers_stop) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      HttpResponse res;
      try {
        res = handler(job.request);
      } catch (const std::exception& e) {
        util::log::error("web handler failed", {{"path", job.request.path}, {"err", e.what()}});
        res = HttpResponse{};
        res.status = 500;
        res.set_content("500 Internal Server Error\n", "text/plain; charset=utf-8");
      }
      {
        std::lock_guard lock(done_mutex);
        done.push_back({job.id, std::move(res)});
      }
      const std::uint64_t one = 1;
      [[maybe_unused]] const auto n = write(wake_fd, &one, sizeof one);
    }
  }

  void finish_jobs() {
    std::vector<Done> finished;
    {
      std::lock_guard lock(done_mutex);
      finished.swap(done);
    }
    for (auto& d : finished) {
      const auto it = conns.find(d.id);
      // The client hung up meanwhile, or was answered 503 at the handler's deadline.
      if (it == conns.end() || it->second->closed || it->second->http.phase() != Phase::processing)
        continue;
      Conn& c = *it->second;
      c.http.answer(std::move(d.response), !stop_requested);
      entered(c);
    }
  }

  HttpLimits limits;
  HttpHandler handler;
  int epoll_fd = -1, wake_fd = -1, listen_fd = -1;
  int spare_fd = -1;  // given up when out of descriptors, to refuse a client at once
  std::atomic<bool> stop_requested{false};
  // Read by every connection's answers; declared before them, so it outlives them.
  std::string date;
  std::chrono::sys_seconds date_second{};

  std::mutex tls_mutex;
  std::shared_ptr<SSL_CTX> tls;

  // The loop thread's own.
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns;
  std::unordered_map<std::string, std::size_t> per_client;
  std::vector<std::uint64_t> closing;  // closed this turn, not yet released
  std::uint64_t next_id = kFirstConnId;
  Clock::time_point next_sweep = Clock::now();
  ThrottledLog refusal_log, handler_timeout_log;

  std::mutex jobs_mutex;
  std::condition_variable jobs_cv;
  std::deque<Job> jobs;
  bool workers_stop = false;
  std::vector<std::thread> workers;
  std::mutex done_mutex;
  std::vector<Done> done;

  std::atomic<std::uint64_t> accepted{0}, refused{0}, timed_out{0}, requests{0},
      handler_timed_out{0}, open_count{0};
};

HttpServer::HttpServer(HttpLimits limits, HttpHandler handler)
    : loop_(std::make_unique<Loop>(limits, std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

util::Result<int> HttpServer::bind(const util::ListenAddress& listen) {
  return loop_->bind(listen);
}

void HttpServer::set_tls(std::shared_ptr<SSL_CTX> context) {
  std::lock_guard lock(loop_->tls_mutex);
  loop_->tls = std::move(context);
}

void HttpServer::run() { loop_->run(); }

void HttpServer::stop() { loop_->stop(); }

HttpStats HttpServer::stats() const {
  return {loop_->accepted, loop_->refused,           loop_->timed_out,
          loop_->requests, loop_->handler_timed_out, loop_->open_count};
}

}  // namespace web
