// The edge's Kafka producer: idempotent, acks=all, one poll thread serving delivery reports.
// A request's callback fires once, after every one of its messages was acknowledged by the
// broker or failed, so the HTTP edge answers 2xx only for data Kafka has durably.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "system/config.hpp"
#include "system/ingest/items.hpp"
#include "system/metrics.hpp"

struct rd_kafka_s;

namespace rtmon::kafka {

enum class produce_status {
  ok,           // every message acknowledged (acks=all)
  overloaded,   // in-flight budget or local queue full: retry soon (429/503)
  unavailable,  // broker unreachable or messages timed out: retry later (503)
  failed,       // permanent error (e.g. message too large): do not retry as is (500)
};

struct produce_outcome {
  produce_status status = produce_status::ok;
  std::string error;  // librdkafka's text for the first failure
};

class producer {
 public:
  using callback = std::function<void(produce_outcome)>;

  producer(const kafka_settings& settings, metrics_registry& metrics);
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  /// Produces all items to `topic` keyed by service. `done` runs exactly once, on the producer's
  /// poll thread (or inline when refused up front). Never blocks.
  void produce(const std::string& topic, std::vector<ingest::item> items, callback done);

  /// False while every broker is known to be down: ingest refuses at once instead of queueing.
  bool broker_up() const { return broker_up_.load(); }
  /// A real metadata round trip with the broker (for /readyz).
  bool probe(int timeout_ms);
  size_t inflight_bytes() const { return inflight_bytes_.load(); }
  /// The librdkafka handle (diagnostics; tests reach librdkafka's mock cluster through it).
  rd_kafka_s* handle() const { return rk_; }
  /// Waits up to timeout for outstanding deliveries, then stops the poll thread.
  void shutdown(int timeout_ms);

  struct request;  // per produce() call: remaining messages, outcome, callback

 private:
  void poll_loop();
  void on_delivery(request* req, int err, int status, size_t bytes);
  /// Reports the request's outcome once, after its last message; deletes it.
  void finish(request* req);

  kafka_settings settings_;
  metrics_registry& metrics_;
  counter& refused_budget_;
  counter& refused_down_;
  histogram& latency_;
  rd_kafka_s* rk_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> broker_up_{true};
  std::atomic<size_t> inflight_bytes_{0};
  std::atomic<int64_t> down_since_ms_{0};

  friend struct delivery_bridge;
};

}  // namespace rtmon::kafka
