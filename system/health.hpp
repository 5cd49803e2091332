// Readiness of the hub's dependencies, checked on a background thread so /readyz never blocks
// an I/O thread: Postgres by a real query, Kafka by a real metadata round trip.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace rtmon {

class health_monitor {
 public:
  /// `kafka_probe` and `pg_url` may be empty/null when this process has no use for them.
  health_monitor(std::function<bool()> kafka_probe, std::string pg_url, int interval_ms = 2000);
  ~health_monitor();
  void start();
  void stop();
  bool kafka_ok() const { return kafka_ok_.load(); }
  bool postgres_ok() const { return pg_ok_.load(); }
  bool ready() const { return kafka_ok() && postgres_ok(); }
  /// {"status": "ready"|"not ready", "kafka": "ok"|"unreachable", "postgres": ...}
  std::string json() const;
  /// Runs one round of checks now (also used by the thread).
  void check_now();

 private:
  std::function<bool()> kafka_probe_;
  std::string pg_url_;
  int interval_ms_;
  std::atomic<bool> kafka_ok_{false}, pg_ok_{false};
  std::mutex mx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rtmon
