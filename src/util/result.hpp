// A value or a precise error, for every I/O and parsing path (no exceptions across threads).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace util {

struct Error {
  std::string message;
};

// E is util::Error by default; modules whose callers must tell failures apart (the Tigo client:
// transport, HTTP status, parse, payment required) use a richer error struct.
template <class T, class E = Error>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(E error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace util
