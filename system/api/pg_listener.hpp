// A thread with its own Postgres connection that LISTENs on one channel and runs `tick` when a
// NOTIFY arrives, when kicked, and at least every `poll` (a NOTIFY sent while the connection
// was being re-opened is lost: the poll catches up). Reconnects with a pause after failures.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <pqxx/connection>

namespace rtmon::api {

class pg_listener {
 public:
  /// `tick` runs on the listener thread, outside any transaction; exceptions from it drop the
  /// connection (a new one is opened after a pause).
  using tick_fn = std::function<void(pqxx::connection&)>;

  /// `offline` (optional) runs about every `poll` while no connection can be opened, for
  /// work that must not wait for the database (e.g. timing out waiters).
  pg_listener(std::string name, std::string url, std::string channel,
              std::chrono::milliseconds poll, tick_fn tick,
              std::function<void()> offline = nullptr);
  ~pg_listener();
  pg_listener(const pg_listener&) = delete;
  pg_listener& operator=(const pg_listener&) = delete;

  void start();
  void stop();
  /// Runs a tick soon (thread-safe).
  void kick();

 private:
  void loop();

  std::string name_, url_, channel_;
  std::chrono::milliseconds poll_;
  tick_fn tick_;
  std::function<void()> offline_;
  int wake_fd_ = -1;  // eventfd: kick() wakes the poll() the thread sleeps in
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rtmon::api
