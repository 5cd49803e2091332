#include "system/kafka/producer.hpp"

#include <chrono>
#include <mutex>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "system/kafka/settings.hpp"

namespace rtmon::kafka {

struct producer::request {
  std::atomic<size_t> remaining{0};
  std::atomic<int> worst{static_cast<int>(produce_status::ok)};
  std::mutex mx;
  std::string error;
  callback done;
  size_t bytes = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  // The messages' keys and payloads: librdkafka points into them (no copy) until the last
  // delivery report, after which finish() deletes the request.
  std::vector<ingest::item> items;

  void note(produce_status s, std::string what) {
    int v = static_cast<int>(s);
    int cur = worst.load();
    while (v > cur && !worst.compare_exchange_weak(cur, v)) {
    }
    std::lock_guard<std::mutex> guard{mx};
    if (error.empty()) error = std::move(what);
  }
};

// C callbacks of librdkafka, forwarding to the producer object.
struct delivery_bridge {
  static void on_message(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto self = static_cast<producer*>(opaque);
    self->on_delivery(static_cast<producer::request*>(m->_private), m->err,
                      rd_kafka_message_status(m), m->len + m->key_len);
  }
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto self = static_cast<producer*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      if (self->broker_up_.exchange(false))
        spdlog::warn("kafka producer: all brokers down: {}", reason);
    } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
      spdlog::critical("kafka producer: fatal error: {}", reason);
      self->broker_up_ = false;
    } else {
      spdlog::debug("kafka producer: {}", reason);
    }
  }
};

namespace {

produce_status classify(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return produce_status::ok;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return produce_status::overloaded;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return produce_status::failed;
    default:
      return produce_status::unavailable;  // timeouts, transport, not enough replicas, ...
  }
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

producer::producer(const kafka_settings& settings, metrics_registry& metrics)
    : settings_(settings),
      metrics_(metrics),
      refused_budget_(metrics.get_counter(
          "rtmon_ingest_refused_total", "Requests refused before producing", "reason=\"budget\"")),
      refused_down_(metrics.get_counter("rtmon_ingest_refused_total",
                                        "Requests refused before producing",
                                        "reason=\"broker_down\"")),
      latency_(metrics.get_histogram("rtmon_kafka_produce_seconds",
                                     "From produce to the last delivery report of a request")) {
  config_builder conf;
  conf.set("bootstrap.servers", settings.brokers);
  conf.set("client.id", "rtmon-edge");
  // Ack means durable: every in-sync replica has the message, and retries add no duplicates.
  conf.set("enable.idempotence", "true");
  conf.set("acks", "all");
  conf.set("linger.ms", std::to_string(settings.linger_ms));
  conf.set("message.timeout.ms", std::to_string(settings.message_timeout_ms));
  // In-flight requests must time out well within message.timeout.ms, or a broker that stops
  // answering delays the 503 beyond the documented bound (default 30 s).
  conf.set("request.timeout.ms", std::to_string(std::max(1000, settings.message_timeout_ms / 2)));
  conf.set("queue.buffering.max.kbytes", std::to_string(settings.max_inflight_bytes / 1024 + 1024));
  conf.set("queue.buffering.max.messages", "1000000");
  conf.set("message.max.bytes", "1048576");
  conf.set("compression.codec", "none");
  conf.set_all(settings.properties);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &delivery_bridge::on_message);
  rd_kafka_conf_set_error_cb(conf.get(), &delivery_bridge::on_error);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rk_ = conf.create(RD_KAFKA_PRODUCER);
  poller_ = std::thread{[this] { poll_loop(); }};
}

producer::~producer() {
  shutdown(0);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

void producer::produce(const std::string& topic, std::vector<ingest::item> items, callback done) {
  if (!broker_up_) {
    refused_down_.inc();
    done({produce_status::unavailable, "Kafka brokers are unreachable"});
    return;
  }
  size_t bytes = 0;
  for (const auto& it : items) bytes += it.payload.size() + it.service.size();
  if (inflight_bytes_.fetch_add(bytes) + bytes > settings_.max_inflight_bytes) {
    inflight_bytes_.fetch_sub(bytes);
    refused_budget_.inc();
    done({produce_status::overloaded, "too much data in flight to Kafka"});
    return;
  }
  auto req = new request;
  req->done = std::move(done);
  req->bytes = bytes;
  req->remaining = items.size();
  req->items = std::move(items);
  const auto& owned = req->items;
  // One call for the whole request: librdkafka looks the topic up and takes its lock once, not
  // once per message. Keys still pick each message's partition.
  std::vector<rd_kafka_message_t> msgs(owned.size());
  for (size_t i = 0; i < owned.size(); ++i) {
    auto& m = msgs[i];
    m.payload = const_cast<char*>(owned[i].payload.data());
    m.len = owned[i].payload.size();
    m.key = const_cast<char*>(owned[i].service.data());
    m.key_len = owned[i].service.size();
    m._private = req;
  }
  const size_t count = owned.size();
  size_t produced = 0;
  if (auto rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr)) {
    // No RD_KAFKA_MSG_F_COPY: the request owns the bytes until its last delivery report.
    produced = static_cast<size_t>(rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, 0,
                                                          msgs.data(), static_cast<int>(count)));
    rd_kafka_topic_destroy(rkt);
    for (const auto& m : msgs)
      if (m.err != RD_KAFKA_RESP_ERR_NO_ERROR) req->note(classify(m.err), rd_kafka_err2str(m.err));
  } else {
    auto err = rd_kafka_last_error();
    req->note(classify(err), rd_kafka_err2str(err));
  }
  if (produced < count) {
    // Messages never enqueued will get no delivery report: account for them here.
    auto missing = count - produced;
    if (req->remaining.fetch_sub(missing) == missing) finish(req);  // nothing left in flight
  }
}

void producer::on_delivery(request* req, int err, int status, size_t) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {  // every non-zero code is a failure, -1 included
    auto e = static_cast<rd_kafka_resp_err_t>(err);
    std::string what = rd_kafka_err2str(e);
    if (status == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
      what += " (possibly persisted: retry with the same event_id)";
    req->note(classify(e), what);
  }
  if (req->remaining.fetch_sub(1) == 1) finish(req);
}

void producer::finish(request* req) {
  // Last message of the request: report once.
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - req->start);
  latency_.observe(secs.count());
  inflight_bytes_.fetch_sub(req->bytes);
  produce_outcome out{static_cast<produce_status>(req->worst.load()), {}};
  if (out.status != produce_status::ok)
    out.error = req->error;
  else
    broker_up_ = true;
  auto done = std::move(req->done);
  delete req;
  done(std::move(out));
}

bool producer::probe(int timeout_ms) { return metadata_round_trip(rk_, timeout_ms); }

void producer::poll_loop() {
  int64_t last_probe = 0;
  while (!stop_) {
    rd_kafka_poll(rk_, 50);
    // While flagged down, look for a broker once a second so ingest resumes on its own.
    if (!broker_up_ && now_ms() - last_probe > 1000) {
      last_probe = now_ms();
      if (probe(200)) {  // short: delivery reports wait while this blocks
        spdlog::info("kafka producer: brokers reachable again");
        broker_up_ = true;
      }
    }
  }
}

void producer::shutdown(int timeout_ms) {
  if (stop_.exchange(true)) return;
  if (poller_.joinable()) poller_.join();
  if (timeout_ms > 0 && rd_kafka_flush(rk_, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
    spdlog::warn("kafka producer: {} messages still undelivered at shutdown",
                 rd_kafka_outq_len(rk_));
  // Remaining requests get their reports from the final poll/purge.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);
}

}  // namespace rtmon::kafka
