#include "backfill/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace backfill {
namespace {

constexpr std::size_t kBufferBytes = 1 << 20;

util::Error os_error(std::string_view what, const std::string& path) {
  const int err = errno;
  return util::make_error(std::string(what) + " " + path + ": " + std::strerror(err));
}

}  // namespace

// A file written sequentially through a buffer and read back with pread.
class Spool::File {
 public:
  // mkstemp on `pattern` (ending in XXXXXX); unlinked at once when `anonymous`. Errors say
  // `what` was to be created.
  static util::Result<std::unique_ptr<File>> make(std::string pattern, bool anonymous,
                                                  const std::string& what) {
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) return os_error("cannot create", what);
    auto f = std::unique_ptr<File>(new File(fd, pattern));
    if (anonymous && ::unlink(pattern.c_str()) != 0) return os_error("cannot unlink", pattern);
    return f;
  }
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }

  std::optional<util::Error> append(std::string_view data) {
    size_ += data.size();
    if (pending_.size() + data.size() > kBufferBytes) {
      if (auto e = flush()) return e;
      if (data.size() >= kBufferBytes) return write_all(data);
    }
    pending_ += data;
    return std::nullopt;
  }

  std::optional<util::Error> flush() {
    auto e = write_all(pending_);
    pending_.clear();
    return e;
  }

  // Appends bytes [offset, offset + length) of this file to `to`.
  std::optional<util::Error> copy_to(File& to, std::uint64_t offset, std::uint64_t length,
                                     std::string& buffer) {
    if (auto e = flush()) return e;
    buffer.resize(std::min<std::uint64_t>(length, kBufferBytes));
    while (length > 0) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
      const ssize_t n = ::pread(fd_, buffer.data(), want, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return os_error("cannot read", path_);
      if (n == 0) return util::make_error("unexpected end of " + path_);
      if (auto e = to.append({buffer.data(), static_cast<std::size_t>(n)})) return e;
      offset += static_cast<std::uint64_t>(n);
      length -= static_cast<std::uint64_t>(n);
    }
    return std::nullopt;
  }

  std::optional<util::Error> truncate() {
    pending_.clear();
    size_ = 0;
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) < 0)
      return os_error("cannot truncate", path_);
    return std::nullopt;
  }

  std::optional<util::Error> sync_and_close(mode_t mode) {
    if (auto e = flush()) return e;
    // mkstemp makes 0600; the output holds no secret and promtool may run as another user.
    if (::fchmod(fd_, mode) != 0) return os_error("cannot chmod", path_);
    if (::fsync(fd_) != 0) return os_error("cannot sync", path_);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return os_error("cannot close", path_);
    return std::nullopt;
  }

 private:
  File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  std::optional<util::Error> write_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return os_error("cannot write", path_);
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return std::nullopt;
  }

  int fd_ = -1;
  std::string path_;
  std::string pending_;
  std::uint64_t size_ = 0;  // written and pending
};

util::Result<std::unique_ptr<Spool>> Spool::create(const std::string& output,
                                                   std::vector<Family> families) {
  namespace fs = std::filesystem;
  if (output.empty()) return util::make_error("no output file given");
  std::error_code ec;
  if (fs::is_directory(output, ec)) return util::make_error(output + " is a directory");
  const fs::path parent = fs::path(output).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();

  auto spool = std::unique_ptr<Spool>(new Spool());
  spool->output_ = output;
  spool->families_ = std::move(families);
  auto out = File::make(output + ".tmp-XXXXXX", false, "a temp file beside " + output);
  if (!out) return out.error();
  spool->out_ = std::move(*out);
  spool->temp_path_ = spool->out_->path();
  auto scratch = File::make(dir + "/.tigo-backfill-XXXXXX", true, "a scratch file in " + dir);
  if (!scratch) return scratch.error();
  spool->scratch_ = std::move(*scratch);
  for (std::size_t i = 0; i < spool->families_.size(); ++i) {
    auto f = File::make(dir + "/.tigo-backfill-XXXXXX", true, "a scratch file in " + dir);
    if (!f) return f.error();
    spool->family_files_.push_back(std::move(*f));
  }
  return spool;
}

Spool::~Spool() {
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

std::optional<util::Error> Spool::add(std::size_t family, std::uint32_t series,
                                      std::string_view lines) {
  if (lines.empty()) return std::nullopt;
  segments_.push_back({static_cast<std::uint32_t>(family), series, scratch_->size(), lines.size()});
  return scratch_->append(lines);
}

std::optional<util::Error> Spool::end_system() {
  // Stable: a series' segments keep the order they were added in, which is time order.
  std::stable_sort(segments_.begin(), segments_.end(), [](const Segment& a, const Segment& b) {
    return a.family != b.family ? a.family < b.family : a.series < b.series;
  });
  for (const auto& s : segments_) {
    if (auto e = scratch_->copy_to(*family_files_[s.family], s.offset, s.length, buffer_)) return e;
  }
  segments_.clear();
  segments_.shrink_to_fit();
  return scratch_->truncate();
}

std::optional<util::Error> Spool::commit() {
  if (!segments_.empty()) {
    if (auto e = end_system()) return e;
  }
  std::string header;
  for (std::size_t i = 0; i < families_.size(); ++i) {
    auto& file = *family_files_[i];
    if (file.size() == 0) continue;
    header.clear();
    append_family_header(header, families_[i]);
    if (auto e = out_->append(header)) return e;
    if (auto e = file.copy_to(*out_, 0, file.size(), buffer_)) return e;
  }
  if (auto e = out_->append(kEof)) return e;
  output_bytes_ = out_->size();
  if (auto e = out_->sync_and_close(0644)) return e;
  if (std::rename(temp_path_.c_str(), output_.c_str()) != 0)
    return os_error("cannot rename " + temp_path_ + " to", output_);
  committed_ = true;
  // The rename itself is durable once the directory is synced.
  const auto parent = std::filesystem::path(output_).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

}  // namespace backfill
