#include "web/http_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "util/ascii.hpp"
#include "util/log.hpp"
#include "util/socket.hpp"

namespace web {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxChunkLine = 1024;                   // chunk size line with extensions
constexpr std::size_t kReadSize = std::size_t{16} * 1024;     // one read from a socket
constexpr std::size_t kStreamChunk = std::size_t{64} * 1024;  // one piece of a streamed body
// Bytes written to one client before the others get their turn.
constexpr std::size_t kWriteTurn = std::size_t{4} * 1024 * 1024;
constexpr std::size_t kFdReserve = 128;  // descriptors kept for everything but the clients
constexpr std::uint64_t kWakeId = 0, kListenId = 1, kFirstConnId = 2;

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

using util::iequals;
using util::trim;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;  // %00 never names a path
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

// The request target's path and query; false for a target that is none of the forms a server
// takes ("/path?q", "http://host/path?q", "*").
bool split_target(std::string_view target, HttpRequest& req) {
  std::string_view rest = target;
  if (target == "*") {
    req.path = "*";
    return true;
  }
  if (rest.empty() || rest.front() != '/') {
    const auto scheme = rest.find("://");
    if (scheme == std::string_view::npos ||
        !(iequals(rest.substr(0, scheme), "http") || iequals(rest.substr(0, scheme), "https")))
      return false;
    rest.remove_prefix(scheme + 3);
    const auto slash = rest.find_first_of("/?");
    rest = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    if (rest.front() == '?') return false;
  }
  const auto question = rest.find('?');
  req.query = question == std::string_view::npos ? "" : std::string(rest.substr(question + 1));
  return percent_decode(rest.substr(0, question), req.path);
}

// A chunked body from `pos`: complete (body appended, `end` after the last CRLF), incomplete, or
// an error status.
ParseStatus parse_chunked(std::string_view buf, std::size_t pos, std::size_t max_body,
                          std::string& body, std::size_t& end) {
  body.clear();
  for (;;) {
    const auto nl = buf.find('\n', pos);
    if (nl == std::string_view::npos)
      return buf.size() - pos > kMaxChunkLine ? ParseStatus::bad : ParseStatus::incomplete;
    if (nl - pos > kMaxChunkLine) return ParseStatus::bad;
    std::string_view line = buf.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view digits = trim(line.substr(0, line.find(';')));
    std::size_t size = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size())
      return ec == std::errc::result_out_of_range ? ParseStatus::body_too_large : ParseStatus::bad;
    pos = nl + 1;
    if (size == 0) break;
    if (size > max_body - std::min(max_body, body.size())) return ParseStatus::body_too_large;
    if (buf.size() < pos + size + 1) return ParseStatus::incomplete;
    body.append(buf.substr(pos, size));
    pos += size;
    if (buf[pos] == '\r') {
      if (buf.size() < pos + 2) return ParseStatus::incomplete;
      ++pos;
    }
    if (buf[pos] != '\n') return ParseStatus::bad;
    ++pos;
  }
  // Trailer fields, ignored, up to an empty line.
  for (std::size_t count = 0;; ++count) {
    const auto nl = buf.find('\n', pos);
    if (nl == std::string_view::npos)
      return buf.size() - pos > kMaxChunkLine ? ParseStatus::bad : ParseStatus::incomplete;
    if (nl - pos > kMaxChunkLine || count > kMaxHeaders) return ParseStatus::bad;
    std::string_view line = buf.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
  }
  end = pos;
  return ParseStatus::complete;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

void HttpResponse::set_header(std::string name, std::string value) {
  for (auto& [n, v] : headers) {
    if (iequals(n, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

void HttpResponse::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  stream.reset();
  set_header("Content-Type", std::move(content_type));
}

std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = item.find('=');
    if (item.substr(0, eq) != name) continue;
    const auto raw = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const int hi = i + 2 < raw.size() && raw[i] == '%' ? hex_value(raw[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(raw[i + 2]) : -1;
      if (lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        out.push_back(raw[i] == '+' ? ' ' : raw[i]);  // a stray '%' stays as sent
      }
    }
    return out;
  }
  return {};
}

ParseResult parse_request(std::string_view buf, const HttpLimits& limits, HttpRequest& req) {
  ParseResult result;
  // Empty lines before the request line are ignored (RFC 9112 2.2); they count towards the limit.
  std::size_t pos = 0;
  while (pos < buf.size() && (buf[pos] == '\r' || buf[pos] == '\n')) ++pos;
  std::vector<std::string_view> lines;
  std::size_t header_end = 0;
  for (std::size_t start = pos;;) {
    const auto nl = buf.find('\n', start);
    if (nl == std::string_view::npos || nl + 1 > limits.max_header_bytes) {
      result.status = std::min(buf.size(), nl) >= limits.max_header_bytes ? ParseStatus::too_large
                                                                          : ParseStatus::incomplete;
      return result;
    }
    std::string_view line = buf.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;
    if (line.empty()) {
      header_end = start;
      break;
    }
    if (lines.size() > kMaxHeaders) {
      result.status = ParseStatus::too_large;
      return result;
    }
    lines.push_back(line);
  }
  result.status = ParseStatus::bad;
  for (const auto line : lines)
    for (const char c : line)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return result;

  // Request line: method SP target SP HTTP/1.x
  const std::string_view request_line = lines.front();
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      request_line.find(' ', sp2 + 1) != std::string_view::npos)
    return result;
  const auto method = request_line.substr(0, sp1);
  const auto target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = request_line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || target.find('\t') != std::string_view::npos)
    return result;
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return result;
  if (version[5] != '1') {
    result.status = ParseStatus::bad_version;
    return result;
  }
  req = HttpRequest{};
  req.method = std::string(method);
  req.target = std::string(target);
  req.minor_version = version[7] - '0';
  if (!split_target(target, req)) return result;

  std::string_view content_length, transfer_encoding;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon == std::string_view::npos) return result;
    const auto name = lines[i].substr(0, colon);  // a space before ':' or a folded line: 400
    if (!is_token(name)) return result;
    const auto value = trim(lines[i].substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      if (!content_length.empty() && content_length != value) return result;
      content_length = value;
      if (value.empty()) return result;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (!transfer_encoding.empty()) return result;
      transfer_encoding = value;
    }
    req.headers.emplace_back(std::string(name), std::string(value));
  }

  std::size_t end = header_end;
  if (!transfer_encoding.empty()) {
    // Both framings at once is how requests are smuggled; HTTP/1.0 has no transfer codings.
    if (!content_length.empty() || req.minor_version == 0) return result;
    if (!iequals(transfer_encoding, "chunked")) {
      result.status = ParseStatus::not_implemented;
      return result;
    }
    result.status = parse_chunked(buf, header_end, limits.max_body_bytes, req.body, end);
    if (result.status != ParseStatus::complete) return result;
  } else if (!content_length.empty()) {
    std::size_t length = 0;
    const auto [ptr, ec] = std::from_chars(content_length.data(),
                                           content_length.data() + content_length.size(), length);
    if (ec == std::errc::result_out_of_range) {
      result.status = ParseStatus::body_too_large;
      return result;
    }
    if (ec != std::errc{} || ptr != content_length.data() + content_length.size()) return result;
    if (length > limits.max_body_bytes) {
      result.status = ParseStatus::body_too_large;
      return result;
    }
    if (buf.size() - header_end < length) {
      result.status = ParseStatus::incomplete;
      return result;
    }
    req.body = std::string(buf.substr(header_end, length));
    end = header_end + length;
  }
  result.status = ParseStatus::complete;
  result.consumed = end;
  return result;
}

// ---------------------------------------------------------------------------------------------

struct HttpServer::Loop {
  enum class State { handshake, reading, idle, processing, writing };

  struct Conn {
    std::uint64_t id = 0;
    int fd = -1;
    SSL* ssl = nullptr;
    std::string client;
    int port = -1;
    State state = State::reading;
    Clock::time_point deadline;
    std::uint32_t events = 0;  // registered with epoll
    bool tls_wants_write = false, tls_wants_read = false;
    std::string in;
    // The answer being written: status line, headers and a string body; then a streamed body.
    std::string out;
    std::size_t out_sent = 0;
    std::unique_ptr<BodySource> stream;
    std::size_t stream_left = 0;  // bytes the stream still owes
    std::string_view chunk;
    bool close_after = false;
    bool peer_done = false;  // the client shut its side: answer what came, then close
    bool closed = false;     // released at the end of the loop's turn (reap)
  };

  struct Job {
    std::uint64_t id;
    HttpRequest request;
    bool keep_alive;
  };
  struct Done {
    std::uint64_t id;
    HttpResponse response;
    bool keep_alive;
    bool head;
    int minor_version;
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
      auto conn = std::make_unique<Conn>();
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
        conn->state = State::handshake;
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
    ++refused_since_log;
    const auto now = Clock::now();
    if (now - last_refusal_log < std::chrono::minutes{1}) return;
    last_refusal_log = now;
    util::log::warn(
        "web connections refused: over the connection limit",
        {{"client", client.empty() ? "(out of descriptors)" : client},
         {"max_connections", std::to_string(limits.max_connections)},
         {"max_connections_per_client", std::to_string(limits.max_connections_per_client)},
         {"refused_since_last_report", std::to_string(refused_since_log)}});
    refused_since_log = 0;
  }

  std::shared_ptr<SSL_CTX> tls_context() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }

  // --- one connection --------------------------------------------------------------------

  void on_event(Conn& c, std::uint32_t events) {
    if (c.closed) return;
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      close_conn(c);
      return;
    }
    switch (c.state) {
      case State::handshake:
        handshake(c);
        return;
      case State::reading:
      case State::idle:
        read_request(c);
        return;
      case State::writing:
        write_answer(c);
        return;
      case State::processing:
        return;
    }
  }

  void handshake(Conn& c) {
    const int rc = SSL_do_handshake(c.ssl);
    if (rc == 1) {
      c.state = State::reading;
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

  std::size_t input_cap() const { return limits.max_header_bytes + limits.max_body_bytes + 4096; }

  void read_request(Conn& c) {
    char buf[kReadSize];
    while (!c.peer_done && c.in.size() < input_cap()) {
      const long n = read_some(c, buf, std::min(sizeof buf, input_cap() - c.in.size()));
      if (n == 0) c.peer_done = true;
      if (n <= 0) break;
      c.in.append(buf, static_cast<std::size_t>(n));
    }
    if (c.state == State::idle && !c.in.empty()) {
      c.state = State::reading;  // the next request's deadline runs from its first byte
      set_deadline(c, limits.request_timeout);
    }
    if (!c.in.empty()) parse(c);
    if (c.closed || !(c.state == State::reading || c.state == State::idle)) return;
    if (c.peer_done) {
      close_conn(c);  // nothing more will come, and what came is no whole request
      return;
    }
    update_interest(c);
  }

  void parse(Conn& c) {
    HttpRequest req;
    const auto result = parse_request(c.in, limits, req);
    switch (result.status) {
      case ParseStatus::incomplete:
        if (c.in.size() >= input_cap()) fail(c, 413);  // chunk framing beyond any sane body
        return;
      case ParseStatus::complete:
        break;
      case ParseStatus::bad:
        fail(c, 400);
        return;
      case ParseStatus::too_large:
        fail(c, 431);
        return;
      case ParseStatus::body_too_large:
        fail(c, 413);
        return;
      case ParseStatus::not_implemented:
        fail(c, 501);
        return;
      case ParseStatus::bad_version:
        fail(c, 505);
        return;
    }
    c.in.erase(0, result.consumed);
    req.remote_addr = c.client;
    req.remote_port = c.port;
    const auto connection = req.header("Connection");
    const bool keep_alive =
        !c.peer_done && (req.minor_version == 0 ? has_token(connection, "keep-alive")
                                                : !has_token(connection, "close"));
    c.state = State::processing;  // no deadline: the handler's time is not the client's
    update_interest(c);
    ++requests;
    {
      std::lock_guard lock(jobs_mutex);
      jobs.push_back({c.id, std::move(req), keep_alive});
    }
    jobs_cv.notify_one();
  }

  // An answer of the server's own to a request it cannot take; the connection closes after it.
  void fail(Conn& c, int status) {
    HttpResponse res;
    res.status = status;
    res.set_content(std::to_string(status) + " " + reason_phrase(status) + "\n",
                    "text/plain; charset=utf-8");
    c.in.clear();
    start_answer(c, std::move(res), false, false, 1);
  }

  void start_answer(Conn& c, HttpResponse res, bool keep_alive, bool head, int minor_version) {
    keep_alive = keep_alive && !stop_requested;
    const std::size_t length = res.stream ? res.stream->size() : res.body.size();
    std::string& out = c.out;
    out.clear();
    out.append("HTTP/1.1 ").append(std::to_string(res.status)).append(" ");
    out.append(reason_phrase(res.status)).append("\r\n");
    for (const auto& [name, value] : res.headers) {
      if (iequals(name, "Content-Length") || iequals(name, "Connection") ||
          iequals(name, "Transfer-Encoding"))
        continue;
      out.append(name).append(": ").append(value).append("\r\n");
    }
    out.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
    if (!keep_alive) {
      out.append("Connection: close\r\n");
    } else if (minor_version == 0) {
      out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
    c.stream.reset();
    c.chunk = {};
    c.stream_left = 0;
    if (!head) {
      if (res.stream) {
        c.stream = std::move(res.stream);
        c.stream_left = length;
      } else {
        out.append(res.body);
      }
    }
    c.out_sent = 0;
    c.close_after = !keep_alive;
    c.state = State::writing;
    set_deadline(c, limits.response_timeout);
    write_answer(c);
  }

  void write_answer(Conn& c) {
    std::size_t turn = 0;
    while (!c.closed && turn < kWriteTurn) {
      const char* data = nullptr;
      std::size_t size = 0;
      bool more = false;
      if (c.out_sent < c.out.size()) {
        data = c.out.data() + c.out_sent;
        size = c.out.size() - c.out_sent;
        more = c.stream != nullptr;
      } else if (c.stream) {
        if (c.chunk.empty()) {
          std::string_view next;
          if (!c.stream->next(std::min(kStreamChunk, c.stream_left), next) ||
              next.size() > c.stream_left || (next.empty() && c.stream_left != 0)) {
            close_conn(c);  // the body cannot be what Content-Length promised: cut, not lie
            return;
          }
          if (next.empty()) {
            c.stream.reset();
            continue;
          }
          c.chunk = next;
          c.stream_left -= next.size();
        }
        data = c.chunk.data();
        size = c.chunk.size();
      } else {
        answer_sent(c);
        return;
      }
      const long n = write_some(c, data, size, more);
      if (n == 0) {
        close_conn(c);
        return;
      }
      if (n < 0) {
        update_interest(c);
        return;
      }
      const auto written = static_cast<std::size_t>(n);
      turn += written;
      if (c.out_sent < c.out.size()) {
        c.out_sent += written;
      } else {
        c.chunk.remove_prefix(written);
      }
    }
    if (!c.closed) update_interest(c);  // more to write: others first, then the next event
  }

  void answer_sent(Conn& c) {
    if (c.close_after) {
      if (c.ssl == nullptr) shutdown(c.fd, SHUT_WR);
      close_conn(c);
      return;
    }
    c.out.clear();
    c.out.shrink_to_fit();
    c.out_sent = 0;
    c.state = c.in.empty() ? State::idle : State::reading;
    set_deadline(c, c.in.empty() ? limits.idle_timeout : limits.request_timeout);
    read_request(c);  // a pipelined request, or bytes OpenSSL already holds
  }

  void update_interest(Conn& c) {
    if (c.closed) return;
    std::uint32_t want = 0;
    switch (c.state) {
      case State::handshake:
      case State::reading:
      case State::idle:
        want = c.tls_wants_write ? EPOLLOUT : EPOLLIN;
        break;
      case State::writing:
        want = c.tls_wants_read ? EPOLLIN : EPOLLOUT;
        break;
      case State::processing:
        want = 0;  // a pipelined request waits in the socket; hang-ups still arrive
        break;
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
      if (conn->state == State::processing) continue;
      if (conn->deadline <= now) {
        expired.push_back(id);
      } else {
        next_sweep = std::min(next_sweep, conn->deadline);
      }
    }
    for (const auto id : expired) {
      ++timed_out;
      close_conn(*conns.at(id));
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
        done.push_back({job.id, std::move(res), job.keep_alive, job.request.method == "HEAD",
                        job.request.minor_version});
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
      if (it == conns.end() || it->second->closed) continue;  // the client hung up meanwhile
      start_answer(*it->second, std::move(d.response), d.keep_alive, d.head, d.minor_version);
    }
  }

  HttpLimits limits;
  HttpHandler handler;
  int epoll_fd = -1, wake_fd = -1, listen_fd = -1;
  int spare_fd = -1;  // given up when out of descriptors, to refuse a client at once
  std::atomic<bool> stop_requested{false};

  std::mutex tls_mutex;
  std::shared_ptr<SSL_CTX> tls;

  // The loop thread's own.
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns;
  std::unordered_map<std::string, std::size_t> per_client;
  std::vector<std::uint64_t> closing;  // closed this turn, not yet released
  std::uint64_t next_id = kFirstConnId;
  Clock::time_point next_sweep = Clock::now();
  Clock::time_point last_refusal_log{};
  std::uint64_t refused_since_log = 0;

  std::mutex jobs_mutex;
  std::condition_variable jobs_cv;
  std::deque<Job> jobs;
  bool workers_stop = false;
  std::vector<std::thread> workers;
  std::mutex done_mutex;
  std::vector<Done> done;

  std::atomic<std::uint64_t> accepted{0}, refused{0}, timed_out{0}, requests{0}, open_count{0};
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
  return {loop_->accepted, loop_->refused, loop_->timed_out, loop_->requests, loop_->open_count};
}

}  // namespace web
