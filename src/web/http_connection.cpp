#include "web/http_connection.hpp"

#include <algorithm>
#include <utility>

namespace web {
namespace {

constexpr std::size_t kStreamChunk = std::size_t{64} * 1024;  // one piece of a streamed body

// What may wait unparsed: a whole request at its limits, with room for chunk framing.
std::size_t input_cap(const HttpLimits& limits) {
  return limits.max_header_bytes + limits.max_body_bytes + 4096;
}

}  // namespace

HttpConnection::HttpConnection(const HttpLimits& limits, const std::string& date)
    : limits_(limits), date_(date) {}

std::size_t HttpConnection::room() const {
  const std::size_t cap = input_cap(limits_);
  return phase_ == Phase::closing || in_.size() >= cap ? 0 : cap - in_.size();
}

std::size_t HttpConnection::receive(std::string_view bytes) {
  if (phase_ == Phase::closing) return bytes.size();
  const std::size_t taken = std::min(bytes.size(), room());
  in_.append(bytes.substr(0, taken));
  if (phase_ == Phase::idle || phase_ == Phase::reading) parse();
  return taken;
}

void HttpConnection::receive_end() {
  end_ = true;
  if (phase_ == Phase::idle || phase_ == Phase::reading) parse();
}

std::optional<HttpRequest> HttpConnection::take_request() {
  std::optional<HttpRequest> out = std::move(request_);
  request_.reset();
  return out;
}

void HttpConnection::parse() {
  if (in_.empty()) {
    phase_ = end_ ? Phase::closing : Phase::idle;
    return;
  }
  phase_ = Phase::reading;
  HttpRequest req;
  const auto result = parse_request(in_, limits_, req);
  if (result.status == ParseStatus::incomplete) {
    if (in_.size() >= input_cap(limits_)) {
      fail(413);  // chunk framing beyond any sane body
    } else if (end_) {
      in_.clear();
      phase_ = Phase::closing;  // nothing more will come, and what came is no whole request
    }
    return;
  }
  if (result.status != ParseStatus::complete) {
    fail(error_status(result.status));
    return;
  }
  in_.erase(0, result.consumed);
  request_keep_alive_ = req.keep_alive();
  request_head_ = req.method == "HEAD";
  request_minor_version_ = req.minor_version;
  request_ = std::move(req);
  phase_ = Phase::processing;
}

bool HttpConnection::more_to_answer() const {
  HttpRequest ignored;
  return !in_.empty() && parse_request(in_, limits_, ignored).status != ParseStatus::incomplete;
}

void HttpConnection::answer(HttpResponse response, bool may_keep_alive) {
  if (phase_ != Phase::processing) return;
  // After the client's half-close the connection ends with the last request it sent whole.
  close_after_ = !may_keep_alive || !request_keep_alive_ || (end_ && !more_to_answer());
  start_answer(std::move(response), request_head_, request_minor_version_);
}

void HttpConnection::fail(int status) {
  if (phase_ == Phase::closing) return;
  request_.reset();
  in_.clear();
  close_after_ = true;
  HttpResponse res;
  res.status = status;
  res.set_content(std::to_string(status) + " " + reason_phrase(status) + "\n",
                  "text/plain; charset=utf-8");
  start_answer(std::move(res), false, 1);
}

void HttpConnection::start_answer(HttpResponse res, bool head, int minor_version) {
  const std::size_t length = res.stream ? res.stream->size() : res.body.size();
  out_ = answer_head(res, length, close_after_, minor_version, date_);
  out_sent_ = 0;
  stream_.reset();
  chunk_ = {};
  stream_left_ = 0;
  if (!head) {
    if (res.stream) {
      stream_ = std::move(res.stream);
      stream_left_ = length;
    } else {
      out_.append(res.body);
    }
  }
  phase_ = Phase::writing;
}

bool HttpConnection::output(std::string_view& out) {
  if (phase_ != Phase::writing) return false;
  if (out_sent_ < out_.size()) {
    out = std::string_view(out_).substr(out_sent_);
    return true;
  }
  if (chunk_.empty()) {
    std::string_view next;
    // The body must be exactly what Content-Length promised: cut, not lie.
    if (!stream_ || !stream_->next(std::min(kStreamChunk, stream_left_), next) || next.empty() ||
        next.size() > stream_left_)
      return false;
    chunk_ = next;
    stream_left_ -= next.size();
  }
  out = chunk_;
  return true;
}

bool HttpConnection::output_continues() const {
  return out_sent_ < out_.size() && stream_left_ + chunk_.size() > 0;
}

bool HttpConnection::sent(std::size_t n) {
  if (phase_ != Phase::writing) return false;
  if (out_sent_ < out_.size()) {
    out_sent_ = std::min(out_.size(), out_sent_ + n);
  } else {
    chunk_.remove_prefix(std::min(n, chunk_.size()));
  }
  if (out_sent_ < out_.size() || !chunk_.empty() || stream_left_ > 0) return false;
  out_.clear();
  out_.shrink_to_fit();  // an answer's string body is not kept for the connection's life
  out_sent_ = 0;
  stream_.reset();
  if (close_after_) {
    in_.clear();
    phase_ = Phase::closing;
  } else {
    parse();
  }
  return true;
}

}  // namespace web
