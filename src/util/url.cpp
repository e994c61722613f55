#include "util/url.hpp"

namespace util {

Result<BaseUrl> parse_base_url(std::string_view url) {
  BaseUrl b;
  std::string_view rest;
  if (url.starts_with("https://")) {
    b.https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return make_error("API URL must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return make_error("API URL needs a host (and no user info)");
  }
  b.host = std::string(authority.substr(0, authority.rfind(':')));
  if (authority.front() == '[') b.host = std::string(authority.substr(1, authority.find(']') - 1));
  b.scheme_host_port =
      std::string(url.substr(0, url.size() - rest.size())) + std::string(authority);
  b.path_prefix = std::string(path);
  if (b.path_prefix.back() != '/') b.path_prefix += '/';
  return b;
}

}  // namespace util
