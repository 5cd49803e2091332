#include "system/api/db_pool.hpp"

#include <spdlog/spdlog.h>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "system/pg/session.hpp"

namespace rtmon::api {

db_pool::db_pool(std::string url, int threads, size_t queue_capacity)
    : url_(std::move(url)), capacity_(queue_capacity) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

db_pool::~db_pool() { stop(); }

bool db_pool::submit(job j, fail_fn on_fail) {
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (stopping_ || queue_.size() >= capacity_) return false;
    queue_.push_back({std::move(j), std::move(on_fail)});
  }
  cv_.notify_one();
  return true;
}

size_t db_pool::queued() const {
  std::lock_guard<std::mutex> guard{mx_};
  return queue_.size();
}

void db_pool::stop() {
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // Jobs still queued get an answer: their clients are waiting.
  for (auto& e : queue_) e.on_fail("the API is shutting down");
  queue_.clear();
}

void db_pool::work() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    entry e;
    {
      std::unique_lock<std::mutex> lock{mx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      e = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!conn || !conn->is_open()) {
      try {
        conn = pg::open_session(url_);
      } catch (const std::exception& ex) {
        conn.reset();
        spdlog::warn("api: cannot connect to Postgres: {}", ex.what());
        e.on_fail(std::string{"database unavailable: "} + ex.what());
        continue;
      }
    }
    try {
      e.j(*conn);
    } catch (const pqxx::broken_connection& ex) {
      spdlog::warn("api: Postgres connection lost: {}", ex.what());
      conn.reset();
    } catch (const std::exception& ex) {
      // Jobs answer their own errors; anything escaping is a bug, but must not kill the worker.
      spdlog::error("api: query job failed: {}", ex.what());
    }
  }
}

}  // namespace rtmon::api
