#include "local/line_source.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>

#include "util/listen_address.hpp"
#include "util/log.hpp"

namespace local {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
constexpr std::size_t kMaxStderrLine = std::size_t{4} * 1024;
constexpr std::size_t kMaxBackoffHistory = 32;
constexpr int kStderrLogsPerMinute = 30;
// Without a pidfd (kernels before 5.3), how often a running command's exit is looked for.
constexpr milliseconds kExitPoll{100};
// A command that closed its stdout gets this long to exit by itself before it is stopped.
constexpr milliseconds kExitAfterEof{1'000};

std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

std::string ms_text(milliseconds d) { return std::to_string(d.count()) + "ms"; }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// argv[0] as execv needs it: a path as given, a bare name looked up in PATH.
std::optional<std::string> find_program(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string dir = end > start ? path.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

// A waitid() status as the stats keep it: the exit code, or minus the signal.
int decode_exit(const siginfo_t& info) {
  return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
}

// Exited and not reaped yet; also true when it is no child of ours any more (SIGCHLD ignored
// reaps children by itself), so nobody waits for what cannot be waited for.
bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD;
  return info.si_pid == pid;
}

// Stops a command and what it started (its process group): SIGTERM, SIGKILL after `grace`,
// then reaps it. A command that already exited is only reaped. Returns its status.
int stop_and_reap(pid_t pid, milliseconds grace) {
  if (!has_exited(pid)) {
    kill(-pid, SIGTERM);
    const auto deadline = Clock::now() + grace;
    while (!has_exited(pid) && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds{10});
  }
  // The exited leader is not reaped yet (WNOWAIT), so its group id cannot have been reused:
  // whatever of the group is left (a shell's children holding the pipe) goes too.
  kill(-pid, SIGKILL);
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) != 0 && errno == EINTR) {
  }
  return decode_exit(info);
}

struct Session {
  Fd data;            // stdout, the socket
  int borrowed = -1;  // SourceSpec::fd, not ours to close
  Fd errors;          // a command's stderr
  Fd exit_fd;         // a command's pidfd (readable once it exited)
  pid_t pid = -1;
  int data_fd() const { return data ? data.get() : borrowed; }
};

}  // namespace

SourceSpec SourceSpec::command(std::vector<std::string> argv) {
  SourceSpec s;
  s.kind = Kind::command;
  s.argv = std::move(argv);
  return s;
}

SourceSpec SourceSpec::tcp(std::string host, int port) {
  SourceSpec s;
  s.kind = Kind::tcp;
  s.host = std::move(host);
  s.port = port;
  return s;
}

SourceSpec SourceSpec::unix_socket(std::string path) {
  SourceSpec s;
  s.kind = Kind::unix_socket;
  s.path = std::move(path);
  return s;
}

SourceSpec SourceSpec::stdin_fd(int fd) {
  SourceSpec s;
  s.kind = Kind::fd;
  s.fd = fd;
  return s;
}

std::string SourceSpec::display_name() const {
  if (!name.empty()) return name;
  switch (kind) {
    case Kind::command: {
      if (argv.empty()) return "command";
      const auto slash = argv[0].rfind('/');
      return slash == std::string::npos ? argv[0] : argv[0].substr(slash + 1);
    }
    case Kind::tcp:
      return "tcp:" + util::host_port(host, port);
    case Kind::unix_socket:
      return "unix:" + path;
    case Kind::fd:
      return fd == 0 ? "stdin" : "fd:" + std::to_string(fd);
  }
  return "source";
}

struct LineSource::Impl {
  Impl(SourceSpec s, SourceOptions o, LineHandlers h)
      : spec(std::move(s)),
        options(o),
        handlers(std::move(h)),
        name(spec.display_name()),
        splitter(options.max_line_bytes),
        stderr_splitter(kMaxStderrLine) {
    wake.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }

  SourceSpec spec;
  SourceOptions options;
  LineHandlers handlers;
  std::string name;
  Fd wake;
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::once_flag start_once;
  std::mutex stop_mutex;

  mutable std::mutex stats_mutex;
  SourceStats stats;

  LineSplitter splitter;
  LineSplitter stderr_splitter;
  Clock::time_point last_line{};
  Clock::time_point stderr_window{};
  int stderr_logged_in_window = 0;

  template <class F>
  void update(F&& f) {
    std::lock_guard lock(stats_mutex);
    f(stats);
  }

  // Sleeps `d` unless stop() comes first; false when stopping.
  bool wait(milliseconds d) {
    pollfd p{wake.get(), POLLIN, 0};
    const auto deadline = Clock::now() + d;
    while (!stopping) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return true;
      poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    }
    return false;
  }

  void on_line(std::string_view line, ReceiveTime received) {
    last_line = received.steady;
    update([](SourceStats& s) { ++s.lines; });
    if (handlers.line) handlers.line(line, received);
  }

  void on_oversized() {
    last_line = Clock::now();
    update([](SourceStats& s) { ++s.oversized_lines; });
    if (handlers.oversized) handlers.oversized();
  }

  void on_stderr_line(std::string_view line) {
    update([](SourceStats& s) { ++s.stderr_lines; });
    const auto now = Clock::now();
    if (now - stderr_window >= std::chrono::minutes{1}) {
      stderr_window = now;
      stderr_logged_in_window = 0;
    }
    if (stderr_logged_in_window++ < kStderrLogsPerMinute)
      util::log::warn("bus source stderr", {{"source", name}, {"line", std::string(line)}});
  }

  // Reads what is there; false at the end of the stream or on an error.
  bool read_data(int fd) {
    char buf[kReadChunk];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) return false;
    const ReceiveTime received = ReceiveTime::now();
    splitter.feed(
        std::string_view(buf, static_cast<std::size_t>(n)),
        [&](std::string_view line) { on_line(line, received); }, [&] { on_oversized(); });
    return true;
  }

  bool read_stderr(int fd) {
    char buf[kReadChunk];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) return false;
    stderr_splitter.feed(
        std::string_view(buf, static_cast<std::size_t>(n)),
        [&](std::string_view line) { on_stderr_line(line); },
        [&] { update([](SourceStats& s) { ++s.stderr_lines; }); });
    return true;
  }

  // What is left in a dead command's pipes (non-blocking: a grandchild may hold them open).
  void drain(Session& s) {
    for (int k = 0; k < 64 && s.data && read_data(s.data.get()); ++k) {
    }
    for (int k = 0; k < 64 && s.errors && read_stderr(s.errors.get()); ++k) {
    }
  }

  util::Result<Session> spawn() {
    const auto program = find_program(spec.argv.empty() ? std::string() : spec.argv[0]);
    if (!program) return util::make_error("program not found");
    int out[2], err[2], status[2];
    if (pipe2(out, O_CLOEXEC) != 0) return util::make_error("pipe: " + errno_text(errno));
    Fd out_read(out[0]), out_write(out[1]);
    if (pipe2(err, O_CLOEXEC) != 0) return util::make_error("pipe: " + errno_text(errno));
    Fd err_read(err[0]), err_write(err[1]);
    if (pipe2(status, O_CLOEXEC) != 0) return util::make_error("pipe: " + errno_text(errno));
    Fd status_read(status[0]), status_write(status[1]);
    Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_in) return util::make_error("/dev/null: " + errno_text(errno));

    // Everything the child needs is made before fork: after it, only async-signal-safe calls.
    std::vector<char*> args;
    for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = getpid();
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);  // no handler of ours runs in the child
    const pid_t pid = fork();
    if (pid == 0) {
      struct sigaction default_action {};
      default_action.sa_handler = SIG_DFL;
      for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      setpgid(0, 0);                     // its own group, so stopping it stops what it started
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // an exporter killed outright leaves no orphan reading
      if (getppid() != parent) _exit(127);
      dup2(null_in.get(), STDIN_FILENO);
      dup2(out_write.get(), STDOUT_FILENO);
      dup2(err_write.get(), STDERR_FILENO);
      close_range(3, UINT_MAX, CLOSE_RANGE_CLOEXEC);  // no descriptor of the exporter leaks
      execv(program->c_str(), args.data());
      const int e = errno;
      (void)!write(status_write.get(), &e, sizeof e);
      _exit(127);
    }
    const int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0) return util::make_error("fork: " + errno_text(fork_errno));
    setpgid(pid, pid);  // also here, so a stop right away reaches the group
    out_write.reset();
    err_write.reset();
    status_write.reset();
    // The status pipe closes on a successful exec; an errno arrives when it failed.
    int exec_errno = 0;
    ssize_t n = 0;
    do {
      n = ::read(status_read.get(), &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof exec_errno)) {
      stop_and_reap(pid, milliseconds{0});
      return util::make_error(*program + ": " + errno_text(exec_errno));
    }
    set_nonblocking(out_read.get());
    set_nonblocking(err_read.get());
    Session s;
    s.data = std::move(out_read);
    s.errors = std::move(err_read);
    s.exit_fd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));  // -1 before Linux 5.3
    s.pid = pid;
    return s;
  }

  // A non-blocking connect that stop() can interrupt.
  util::Result<Fd> finish_connect(Fd fd, int connect_result) {
    if (connect_result != 0 && errno != EINPROGRESS && errno != EAGAIN)
      return util::make_error(errno_text(errno));
    if (connect_result != 0) {
      pollfd p[2] = {{fd.get(), POLLOUT, 0}, {wake.get(), POLLIN, 0}};
      const int ready = poll(p, 2, static_cast<int>(options.connect_timeout.count()));
      if (stopping) return util::make_error("stopping");
      if (ready == 0) return util::make_error("connect timed out");
      int error = 0;
      socklen_t len = sizeof error;
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) return util::make_error(errno_text(error));
    }
    return fd;
  }

  util::Result<Session> connect_tcp() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(spec.port);
    if (const int rc = getaddrinfo(spec.host.c_str(), service.c_str(), &hints, &found); rc != 0)
      return util::make_error(gai_strerror(rc));
    std::string last_error = "no address";
    std::optional<Fd> connected;
    for (const addrinfo* a = found; a != nullptr && !connected && !stopping; a = a->ai_next) {
      Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
      if (!fd) {
        last_error = errno_text(errno);
        continue;
      }
      const int rc = ::connect(fd.get(), a->ai_addr, a->ai_addrlen);
      auto result = finish_connect(std::move(fd), rc);
      if (result) {
        connected = std::move(*result);
      } else {
        last_error = result.error().message;
      }
    }
    freeaddrinfo(found);
    if (!connected) return util::make_error(last_error);
    const int on = 1;  // a peer that vanished without a word is noticed
    setsockopt(connected->get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    Session s;
    s.data = std::move(*connected);
    return s;
  }

  util::Result<Session> connect_unix() {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (spec.path.empty() || spec.path.size() >= sizeof address.sun_path)
      return util::make_error("bad socket path");
    std::copy(spec.path.begin(), spec.path.end(), address.sun_path);
    Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return util::make_error(errno_text(errno));
    const int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    auto result = finish_connect(std::move(fd), rc);
    if (!result) return result.error();
    Session s;
    s.data = std::move(*result);
    return s;
  }

  util::Result<Session> open() {
    switch (spec.kind) {
      case SourceSpec::Kind::command:
        return spawn();
      case SourceSpec::Kind::tcp:
        return connect_tcp();
      case SourceSpec::Kind::unix_socket:
        return connect_unix();
      case SourceSpec::Kind::fd: {
        Session s;
        s.borrowed = spec.fd;
        return s;
      }
    }
    return util::make_error("unknown source kind");
  }

  enum class End { eof, exited, silent, stopped };

  // Reads until the stream ends, the command exits, the source falls silent or stop().
  End read_session(Session& s) {
    last_line = Clock::now();
    bool data_open = true;
    std::optional<Clock::time_point> eof_at;
    while (true) {
      if (stopping) return End::stopped;
      pollfd p[4];
      nfds_t count = 0;
      p[count++] = {wake.get(), POLLIN, 0};
      const nfds_t data_index = count;
      if (data_open) p[count++] = {s.data_fd(), POLLIN, 0};
      const nfds_t errors_index = count;
      if (s.errors) p[count++] = {s.errors.get(), POLLIN, 0};
      if (s.exit_fd) p[count++] = {s.exit_fd.get(), POLLIN, 0};

      auto timeout = milliseconds{-1};
      const auto now = Clock::now();
      if (s.pid > 0 && !s.exit_fd) timeout = kExitPoll;
      if (eof_at) timeout = milliseconds{20};
      if (options.silence_restart.count() > 0) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(last_line + options.silence_restart - now);
        const auto until_silent = std::max(left, milliseconds{0}) + milliseconds{1};
        timeout = timeout.count() < 0 ? until_silent : std::min(timeout, until_silent);
      }
      const int ready =
          poll(p, count, timeout.count() < 0 ? -1 : static_cast<int>(timeout.count()));
      if (ready < 0 && errno != EINTR) return End::eof;
      if (stopping) return End::stopped;

      if (data_open && (p[data_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
          !read_data(s.data_fd())) {
        data_open = false;
        if (s.pid <= 0) return End::eof;
        eof_at = Clock::now();
      }
      if (s.errors && (p[errors_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
          !read_stderr(s.errors.get()))
        s.errors.reset();
      if (s.pid > 0 && has_exited(s.pid)) {
        drain(s);
        return End::exited;
      }
      // A command that closed its output is done for: it has a moment to exit by itself.
      if (eof_at && Clock::now() - *eof_at >= kExitAfterEof) return End::exited;
      if (options.silence_restart.count() > 0 &&
          Clock::now() - last_line >= options.silence_restart)
        return End::silent;
    }
  }

  void finish_session(Session& s, End end, Clock::time_point started) {
    const auto ran = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    std::optional<int> status;
    if (s.pid > 0) status = stop_and_reap(s.pid, options.stop_grace);
    switch (splitter.finish()) {
      case LineSplitter::Dropped::partial:
        update([](SourceStats& st) { ++st.partial_lines; });
        if (handlers.partial) handlers.partial();
        break;
      case LineSplitter::Dropped::oversized:
        update([](SourceStats& st) { ++st.oversized_lines; });
        if (handlers.oversized) handlers.oversized();
        break;
      case LineSplitter::Dropped::nothing:
        break;
    }
    if (stderr_splitter.finish() == LineSplitter::Dropped::partial)
      update([](SourceStats& st) { ++st.stderr_lines; });
    update([&](SourceStats& st) {
      ++st.ends;
      st.connected = false;
      st.pid = 0;
      if (status) st.last_exit_status = status;
      if (end == End::silent) ++st.silence_restarts;
    });
    if (handlers.connection) handlers.connection(false);
    if (end == End::stopped) return;
    const char* what = end == End::silent ? "bus source silent, restarting"
                       : s.pid > 0        ? "bus source exited"
                                          : "bus source disconnected";
    util::log::warn(what, {{"source", name},
                           {"status", status ? std::to_string(*status) : std::string("-")},
                           {"ran_for", ms_text(ran)}});
  }

  void run() {
    auto backoff = options.backoff_initial;
    while (!stopping) {
      const auto started = Clock::now();
      auto session = open();
      if (stopping) break;
      if (!session) {
        update([](SourceStats& st) { ++st.failures; });
        util::log::warn("bus source failed to start",
                        {{"source", name}, {"reason", session.error().message}});
      } else {
        update([&](SourceStats& st) {
          ++st.starts;
          st.connected = true;
          st.pid = session->pid > 0 ? session->pid : 0;
        });
        if (handlers.connection) handlers.connection(true);
        util::log::info(
            "bus source started",
            {{"source", name}, {"pid", session->pid > 0 ? std::to_string(session->pid) : "-"}});
        const End end = read_session(*session);
        finish_session(*session, end, started);
        if (end == End::stopped) break;
        if (Clock::now() - started >= options.healthy_after) backoff = options.backoff_initial;
      }
      if (spec.kind == SourceSpec::Kind::fd) break;  // the end of stdin is the end
      update([&](SourceStats& st) {
        st.backoffs.push_back(backoff);
        if (st.backoffs.size() > kMaxBackoffHistory) st.backoffs.erase(st.backoffs.begin());
      });
      util::log::info("bus source retrying", {{"source", name}, {"in", ms_text(backoff)}});
      if (!wait(backoff)) break;
      backoff = std::min(backoff * 2, options.backoff_max);
    }
  }
};

LineSource::LineSource(SourceSpec spec, SourceOptions options, LineHandlers handlers)
    : impl_(std::make_unique<Impl>(std::move(spec), options, std::move(handlers))) {}

LineSource::~LineSource() { stop(); }

void LineSource::start() {
  std::call_once(impl_->start_once,
                 [this] { impl_->thread = std::thread([this] { impl_->run(); }); });
}

void LineSource::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  impl_->stopping = true;
  const std::uint64_t one = 1;
  (void)!::write(impl_->wake.get(), &one, sizeof one);
  if (impl_->thread.joinable()) impl_->thread.join();
}

SourceStats LineSource::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

const std::string& LineSource::name() const { return impl_->name; }

}  // namespace local
