#include "system/pg/listener.hpp"

#include <chrono>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "system/pg/session.hpp"

namespace rtmon::pg {

namespace {

class receiver : public pqxx::notification_receiver {
 public:
  receiver(pqxx::connection_base& c, const std::string& channel,
           const std::function<void(const std::string&)>& f)
      : pqxx::notification_receiver(c, channel), f_(f) {}
  void operator()(const std::string& payload, int) override { f_(payload); }

 private:
  const std::function<void(const std::string&)>& f_;
};

}  // namespace

listener::listener(std::string url, std::string channel,
                   std::function<void(const std::string&)> on_notify)
    : url_(std::move(url)), channel_(std::move(channel)), on_notify_(std::move(on_notify)) {
  thread_ = std::thread{[this] { loop(); }};
}

listener::~listener() { stop(); }

void listener::stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
}

void listener::loop() {
  int failures = 0;
  while (!stop_) {
    try {
      auto conn = open_session(url_);
      receiver r{*conn, channel_, on_notify_};
      conn->get_notifs();  // issues the LISTEN
      failures = 0;
      on_notify_("");  // anything sent while nobody listened
      // Short waits so stop() is prompt.
      while (!stop_) conn->await_notification(0, 200000);
    } catch (const std::exception& e) {
      if (stop_) break;
      ++failures;
      if (failures == 1) spdlog::warn("listener {}: {}; reconnecting", channel_, e.what());
      auto ms = std::min(5000, 100 << std::min(failures, 6));
      for (int waited = 0; waited < ms && !stop_; waited += 50)
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
  }
}

}  // namespace rtmon::pg
