// The API's Postgres adapter: N worker threads, each with its own connection (opened on first
// use, reopened after it broke), fed by a bounded job queue. HTTP I/O threads only enqueue; a
// full queue is refused at once (the caller answers 503) instead of queueing without bound.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection>

namespace rtmon::api {

class db_pool {
 public:
  /// A job runs on a worker with that worker's connection. Throwing pqxx::broken_connection
  /// (or leaving the connection closed) makes the worker reconnect for the next job.
  using job = std::function<void(pqxx::connection&)>;
  /// Runs instead of the job when no connection can be opened.
  using fail_fn = std::function<void(const std::string& why)>;

  db_pool(std::string url, int threads, size_t queue_capacity);
  ~db_pool();
  db_pool(const db_pool&) = delete;
  db_pool& operator=(const db_pool&) = delete;

  /// False (and nothing runs) when the queue is full or the pool is stopping.
  bool submit(job j, fail_fn on_fail);
  void stop();
  size_t queued() const;

 private:
  struct entry {
    job j;
    fail_fn on_fail;
  };
  void work();

  std::string url_;
  size_t capacity_;
  mutable std::mutex mx_;
  std::condition_variable cv_;
  std::deque<entry> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace rtmon::api
