// The live stream behind /api/stream: one listener thread wakes on NOTIFY rtmon_stream (and
// polls every second), reads the incident_events rows above the last stream_id it delivered, in
// stream_id order, and fans them out to every subscriber. Subscribing with `after` replays the
// missed rows first; replay and live delivery both happen on the listener thread, and each
// subscriber remembers the last stream_id it was sent, so nothing is missed or sent twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "system/api/pg_listener.hpp"
#include "system/http/server.hpp"

namespace rtmon::api {

class stream_hub {
 public:
  static constexpr size_t max_replay = 1000;
  static constexpr auto stats_every = std::chrono::seconds{5};

  explicit stream_hub(std::string url);
  ~stream_hub();
  void start();
  void stop();

  /// Registers a client: it gets hello, then (with `after`) the replay or a reset, then every
  /// new transition and the periodic service stats. Destroying the handle unregisters it.
  http::stream_handle subscribe(std::optional<int64_t> after, http::ws_send_fn send,
                                http::ws_close_fn close);

  size_t subscribers() const;

 private:
  struct subscriber {
    http::ws_send_fn send;
    http::ws_close_fn close;
    std::optional<int64_t> after;
    int64_t last_sent = 0;
    bool started = false;  // hello (and replay) sent: receives live rows
  };
  void tick(pqxx::connection& conn);
  void start_new(pqxx::connection& conn);
  void unsubscribe(uint64_t id);

  pg_listener listener_;
  mutable std::mutex mx_;  // guards subs_ (subscribe/unsubscribe run on I/O threads)
  std::map<uint64_t, std::shared_ptr<subscriber>> subs_;
  uint64_t next_id_ = 1;
  // Listener thread only:
  bool positioned_ = false;
  int64_t last_seen_ = 0;  // highest stream_id read and fanned out
  std::chrono::steady_clock::time_point next_stats_{};
};

}  // namespace rtmon::api
