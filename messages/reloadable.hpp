// A configuration that SIGHUP replaces while many threads read it (the rules, the notification
// routing; system/serve.cpp). Readers take a snapshot per use, so whatever they began (a batch,
// a transaction, an attempt) finishes with the version it began with.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace rtmon {

template <class T>
class reloadable {
 public:
  using ptr = std::shared_ptr<const T>;
  explicit reloadable(ptr v) : v_(std::move(v)) {}
  ptr current() const {
    std::lock_guard<std::mutex> guard{mx_};
    return v_;
  }
  void replace(ptr v) {
    std::lock_guard<std::mutex> guard{mx_};
    v_ = std::move(v);
  }

 private:
  mutable std::mutex mx_;
  ptr v_;
};

}  // namespace rtmon
