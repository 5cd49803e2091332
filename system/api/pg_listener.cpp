#include "system/api/pg_listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <pqxx/nontransaction>
#include <pqxx/notification>

#include "system/pg/session.hpp"

namespace rtmon::api {

namespace {

// Only wakes the loop: the tick reads the state itself, so payloads are not needed.
class receiver : public pqxx::notification_receiver {
 public:
  receiver(pqxx::connection_base& c, const std::string& channel)
      : pqxx::notification_receiver(c, channel) {}
  void operator()(const std::string&, int) override {}
};

}  // namespace

pg_listener::pg_listener(std::string name, std::string url, std::string channel,
                         std::chrono::milliseconds poll, tick_fn tick,
                         std::function<void()> offline)
    : name_(std::move(name)),
      url_(std::move(url)),
      channel_(std::move(channel)),
      poll_(poll),
      tick_(std::move(tick)),
      offline_(std::move(offline)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

pg_listener::~pg_listener() {
  stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void pg_listener::start() {
  stop_ = false;
  thread_ = std::thread{[this] { loop(); }};
}

void pg_listener::stop() {
  stop_ = true;
  kick();
  if (thread_.joinable()) thread_.join();
}

void pg_listener::kick() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
}

void pg_listener::loop() {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<receiver> rx;
  int failures = 0;
  while (!stop_) {
    try {
      if (!conn) {
        conn = pg::open_session(url_);
        rx = std::make_unique<receiver>(*conn, channel_);  // issues LISTEN
        if (failures > 0) spdlog::info("{}: Postgres connection restored", name_);
        failures = 0;
      }
      tick_(*conn);
      pollfd fds[2] = {{conn->sock(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      ::poll(fds, 2, static_cast<int>(poll_.count()));
      if (fds[1].revents & POLLIN) {
        uint64_t n;
        (void)!read(wake_fd_, &n, sizeof n);
      }
      conn->get_notifs();  // consumes what arrived; throws if the connection broke
    } catch (const std::exception& e) {
      if (failures++ == 0) spdlog::warn("{}: {} (reconnecting)", name_, e.what());
      rx.reset();
      conn.reset();
      if (offline_) offline_();
      for (int i = 0; i < 10 && !stop_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{std::min(100 * failures, 1000) / 10});
    }
  }
  rx.reset();
}

}  // namespace rtmon::api
