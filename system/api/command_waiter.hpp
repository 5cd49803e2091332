// Waits for incident commands to be settled by the process that owns the incident: a listener
// thread wakes on NOTIFY rtmon_commands (payload: the command id), and polls every 200 ms in
// case a notification was missed, then reads the settled rows and answers their waiters.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "system/api/pg_listener.hpp"

namespace rtmon::api {

struct command_outcome {
  enum kind_t { done, rejected, timed_out } kind = timed_out;
  int64_t seq = 0;
  std::string error;
  boost::json::value incident;  // done: the incident after the transition
};

class command_waiter {
 public:
  using done_fn = std::function<void(command_outcome)>;

  explicit command_waiter(std::string url);
  void start();
  void stop();

  /// Calls `done` once (on the listener thread) when the command is done or rejected, or when
  /// `timeout` passed first.
  void wait(const std::string& command_id, std::chrono::milliseconds timeout, done_fn done);

 private:
  struct waiter {
    std::chrono::steady_clock::time_point deadline;
    done_fn done;
  };
  void tick(pqxx::connection& conn);
  /// Answers the waiters whose time is up (also while the database is unreachable).
  void expire();

  pg_listener listener_;
  std::mutex mx_;
  std::multimap<std::string, waiter> waiters_;
};

}  // namespace rtmon::api
