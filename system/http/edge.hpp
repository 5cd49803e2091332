// The HTTP/WebSocket edge: ingest endpoints (POST /logs, /metrics, /events; WebSocket /ingest),
// health (/healthz, /readyz), the hub's own metrics (/metrics) and, with the api role, the query
// API under /api (system/api) and the built UI at every other GET path. Validated items go to
// Kafka; the client hears 202 only after Kafka acknowledged every item of its request.
#pragma once

#include <atomic>

#include "system/config.hpp"
#include "system/health.hpp"
#include "system/http/server.hpp"
#include "system/kafka/producer.hpp"
#include "system/metrics.hpp"

namespace rtmon::api {
class service;
}

namespace rtmon::http {

class edge : public http_handler {
 public:
  /// `producer` may be null when this process has no ingest role, `api` when it has no api
  /// role.
  edge(const config& cfg, kafka::producer* producer, health_monitor& health,
       metrics_registry& metrics, api::service* api = nullptr);

  void handle(request&& req, respond_fn respond) override;
  bool accepts_websocket(const std::string& target) const override;
  void handle_frame(const std::string& target, uint64_t frame, std::string text,
                    ws_send_fn send) override;
  stream_handle open_stream(const std::string& target, ws_send_fn send, ws_close_fn close) override;

  /// Requests and frames still waiting for Kafka (graceful shutdown waits for zero).
  size_t inflight() const { return inflight_.load(); }

 private:
  void ingest(signal_kind kind, request&& req, respond_fn respond);
  /// Counts acknowledged items per signal (HTTP and WebSocket alike).
  void count_items(const size_t (&by_kind)[3]);

  const config& cfg_;
  kafka::producer* producer_;
  api::service* api_;
  health_monitor& health_;
  metrics_registry& metrics_;
  counter& rejected_;
  counter* items_[3] = {nullptr, nullptr,
                        nullptr};  // rtmon_ingest_items_total per signal kind, looked up once
  std::atomic<size_t> inflight_{0};
};

}  // namespace rtmon::http
