#include "system/health.hpp"

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "system/pg/url.hpp"

namespace rtmon {

health_monitor::health_monitor(std::function<bool()> kafka_probe, std::string pg_url,
                               int interval_ms)
    : kafka_probe_(std::move(kafka_probe)), pg_url_(std::move(pg_url)), interval_ms_(interval_ms) {
  kafka_ok_ = !kafka_probe_;
  pg_ok_ = pg_url_.empty();
}

health_monitor::~health_monitor() { stop(); }

void health_monitor::start() {
  thread_ = std::thread{[this] {
    std::unique_lock<std::mutex> lock{mx_};
    while (!stop_) {
      lock.unlock();
      check_now();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds{interval_ms_}, [this] { return stop_; });
    }
  }};
}

void health_monitor::stop() {
  {
    std::lock_guard<std::mutex> guard{mx_};
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void health_monitor::check_now() {
  if (kafka_probe_) {
    bool ok = kafka_probe_();
    if (ok != kafka_ok_.exchange(ok))
      spdlog::info("health: kafka {}", ok ? "reachable" : "unreachable");
  }
  if (!pg_url_.empty()) {
    bool ok = false;
    try {
      // connect_timeout bounds a dead host; statement_timeout a hung server.
      pqxx::connection c{with_connect_timeout(pg_url_, 2)};
      pqxx::nontransaction{c}.exec("set statement_timeout = 2000; select 1");
      ok = true;
    } catch (const std::exception& e) {
      spdlog::debug("health: postgres check failed: {}", e.what());
    }
    if (ok != pg_ok_.exchange(ok))
      spdlog::info("health: postgres {}", ok ? "reachable" : "unreachable");
  }
}

std::string health_monitor::json() const {
  auto word = [](bool ok) { return ok ? "\"ok\"" : "\"unreachable\""; };
  std::string out = R"({"status":")";
  out += ready() ? "ready" : "not ready";
  out += "\"";
  if (kafka_probe_) out += std::string{",\"kafka\":"} + word(kafka_ok());
  if (!pg_url_.empty()) out += std::string{",\"postgres\":"} + word(postgres_ok());
  return out + "}";
}

}  // namespace rtmon
