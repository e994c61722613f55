// One shared_ptr published by a writer and read by many: the snapshot and its rendered text.
// A mutex held only for the pointer copy; libstdc++ 12's std::atomic<std::shared_ptr> hides its
// lock from ThreadSanitizer, which then reports races that are not there.
#pragma once

#include <memory>
#include <mutex>

namespace util {

template <class T>
class SharedSlot {
 public:
  explicit SharedSlot(std::shared_ptr<const T> initial) : value_(std::move(initial)) {}

  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  void store(std::shared_ptr<const T> next) {
    std::lock_guard lock(mutex_);
    value_.swap(next);  // the old value is released outside the lock, below
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace util
