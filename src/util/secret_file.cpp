#include "util/secret_file.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace util {

Result<std::string> read_secret_file(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return make_error("cannot read " + path +
                      (err ? ": " + std::error_code(err, std::generic_category()).message() : ""));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error("cannot read " + path + ": read error");
  std::string out = ss.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace util
