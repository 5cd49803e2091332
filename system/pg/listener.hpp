// A thread that LISTENs on a Postgres NOTIFY channel with its own connection and calls back on
// every notification (and once after each (re)connect, since notifications sent while it was
// away are lost: the callback must then look for missed work itself).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace rtmon::pg {

class listener {
 public:
  /// `on_notify(payload)` runs on the listener's thread; "" after a (re)connect.
  listener(std::string url, std::string channel, std::function<void(const std::string&)> on_notify);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  void stop();

 private:
  void loop();
  std::string url_, channel_;
  std::function<void(const std::string&)> on_notify_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rtmon::pg
