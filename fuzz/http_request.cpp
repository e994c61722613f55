// HTTP/1.1 requests as the exporter's web server reads them from a socket (web::parse_request),
// and the query values its pages take (web::query_value).
#include <string>

#include "targets.hpp"
#include "web/http_server.hpp"

namespace fuzz {

void run_http_request(std::string_view input) {
  const web::HttpLimits limits;
  web::HttpRequest req;
  const auto result = web::parse_request(input, limits, req);
  if (result.status != web::ParseStatus::complete) return;
  require(result.consumed > 0 && result.consumed <= input.size(),
          "a request consumed nothing or more than it was given");
  require(!req.method.empty() && req.method.find(' ') == std::string::npos,
          "a method that is not a token");
  require(req.path == "*" || (!req.path.empty() && req.path.front() == '/'),
          "a path that does not start with '/'");
  require(req.path.find('\0') == std::string::npos, "a NUL in the path");
  require(req.minor_version >= 0 && req.minor_version <= 9, "a version that is not HTTP/1.x");
  require(req.body.size() <= limits.max_body_bytes, "a body over the limit");
  require(req.headers.size() <= 100, "more headers than the limit");
  for (const auto& [name, value] : req.headers)
    require(!name.empty() && name.find_first_of(" \t:") == std::string::npos &&
                value.find_first_of("\r\n") == std::string::npos,
            "a header name or value with a separator in it");

  // A request does not depend on what follows it, and is not complete before its last byte
  // (the server would answer a request it has not read whole).
  web::HttpRequest alone;
  const auto again = web::parse_request(input.substr(0, result.consumed), limits, alone);
  require(again.status == web::ParseStatus::complete && again.consumed == result.consumed &&
              alone.path == req.path && alone.body == req.body && alone.headers == req.headers,
          "the request parses differently without the bytes after it");
  web::HttpRequest cut;
  require(web::parse_request(input.substr(0, result.consumed - 1), limits, cut).status !=
              web::ParseStatus::complete,
          "a request is complete before its last byte");

  // Query values decode to at most the bytes they were written in.
  const std::string value = web::query_value(req.query, "q");
  require(value.size() <= req.query.size(), "a decoded query value grew");
}

}  // namespace fuzz
