#include "system/kafka/consumer.hpp"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "system/kafka/settings.hpp"
#include "system/pg/backend_priority.hpp"

namespace rtmon::kafka {

namespace {

using clock = std::chrono::steady_clock;

// How long a revoked partition may take to make its in-flight rows durable.
constexpr auto revoke_grace = std::chrono::seconds{15};

void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  static_cast<consumer*>(opaque)->on_rebalance(err, parts);
}

struct tp_list {
  rd_kafka_topic_partition_list_t* list;
  tp_list() : list(rd_kafka_topic_partition_list_new(1)) {}
  ~tp_list() { rd_kafka_topic_partition_list_destroy(list); }
  rd_kafka_topic_partition_t* add(const topic_partition& tp) {
    return rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition);
  }
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string label(const pipeline& p) { return "pipeline=\"" + p.name + "\""; }

}  // namespace

pipeline processing_pipeline(const config& cfg) {
  // Commands share the data's key (service) and partition count, and the range assignor gives
  // one process the same partition number of every topic: a service's commands reach the
  // process that owns its incidents.
  // Alerts ride on this path: the pipeline defaults (5 ms batches, fetches that return with
  // the first byte, partial batches sent on an idle poll) are what it needs.
  pipeline p{
      "process", cfg.kafka.group, {"logs", "metrics", "events", "commands"}, cfg.warmup_ms() > 0};
  p.fetch_wait_ms = cfg.consumer.process_fetch_wait_ms;
  p.fetch_min_bytes = cfg.consumer.process_fetch_min_bytes;
  return p;
}

pipeline store_pipeline(const config& cfg) {
  pipeline p{"store", cfg.kafka.store_group(), {"logs", "metrics", "events"}, false};
  p.linger = std::chrono::milliseconds{cfg.consumer.store_linger_ms};
  p.fetch_wait_ms = cfg.consumer.store_linger_ms;
  p.fetch_min_bytes = 1 << 20;
  p.dispatch_when_idle = false;
  p.nice = cfg.store.nice;
  return p;
}

consumer::consumer(const config& cfg, metrics_registry& metrics, pipeline what)
    : cfg_(cfg),
      pipeline_(std::move(what)),
      metrics_(metrics),
      consumed_(metrics.get_counter("rtmon_consumer_records_total", "Records polled from Kafka",
                                    label(pipeline_))),
      paused_(metrics.get_counter("rtmon_consumer_pauses_total",
                                  "Partitions paused for backpressure", label(pipeline_))) {
  config_builder conf;
  const auto& k = cfg.kafka;
  conf.set("bootstrap.servers", k.brokers);
  conf.set("group.id", pipeline_.group);
  conf.set("client.id", "rtmon-" + pipeline_.name);
  // At-least-once with an idempotent sink: offsets are stored by hand after the DB commit and
  // committed in the background; a new group starts at the beginning of the backlog.
  conf.set("enable.auto.offset.store", "false");
  conf.set("enable.auto.commit", "true");
  conf.set("auto.commit.interval.ms", "1000");
  conf.set("auto.offset.reset", "earliest");
  conf.set("enable.partition.eof", "false");
  conf.set("partition.assignment.strategy", "range");
  conf.set("session.timeout.ms", std::to_string(k.session_timeout_ms));
  conf.set("heartbeat.interval.ms", std::to_string(std::max(100, k.session_timeout_ms / 3)));
  conf.set("queued.max.messages.kbytes", std::to_string(cfg.consumer.queued_max_kbytes));
  conf.set("fetch.wait.max.ms", std::to_string(pipeline_.fetch_wait_ms));
  conf.set("fetch.min.bytes", std::to_string(pipeline_.fetch_min_bytes));
  conf.set_all(k.properties);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &rebalance_cb);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rk_ = conf.create(RD_KAFKA_CONSUMER);
  rd_kafka_poll_set_consumer(rk_);
  metrics_.add_gauge(
      "rtmon_consumer_assigned_partitions", "Partitions owned by this process",
      [this] { return static_cast<double>(assigned_.load()); }, label(pipeline_));
}

consumer::~consumer() {
  stop();
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

void consumer::start(shard_actor shard) {
  shard_ = std::move(shard);
  tp_list topics;
  for (const auto& kind : pipeline_.kinds)
    rd_kafka_topic_partition_list_add(topics.list, cfg_.kafka.topic(kind).c_str(),
                                      RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(rk_, topics.list); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(std::string{"kafka subscribe: "} + rd_kafka_err2str(err));
  thread_ = std::thread{[this] { loop(); }};
}

void consumer::stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool consumer::probe(int timeout_ms) { return metadata_round_trip(rk_, timeout_ms); }

void consumer::durable(const topic_partition& tp, uint64_t gen, int64_t next, size_t batches) {
  {
    std::lock_guard<std::mutex> guard{mx_};
    marks_.push_back({tp, gen, next, batches});
  }
  cv_.notify_all();
}

void consumer::rewind(const topic_partition& tp) {
  {
    std::lock_guard<std::mutex> guard{mx_};
    rewinds_.push_back(tp);
  }
  cv_.notify_all();
}

void consumer::loop() {
  pg::lower_thread_priority(pipeline_.nice);
  while (!stop_) {
    drain_control();
    // Wake up in time for the first pending batch that falls due (at least every 100 ms; on
    // the alerting path within 1 ms, since an empty poll sends what is pending).
    auto now = clock::now();
    auto wait = std::chrono::milliseconds{100};
    for (const auto& kv : parts_)
      if (!kv.second.pending.empty())
        wait =
            std::min(wait, pipeline_.dispatch_when_idle
                               ? std::chrono::milliseconds{1}
                               : std::max(std::chrono::milliseconds{1},
                                          std::chrono::duration_cast<std::chrono::milliseconds>(
                                              kv.second.pending_since + pipeline_.linger - now)));
    auto* msg = rd_kafka_consumer_poll(rk_, static_cast<int>(wait.count()));
    if (msg == nullptr) {
      // Nothing more arrived: on the alerting path a partial batch leaves at once; the store
      // waits for its linger (fuller batches).
      dispatch_due(pipeline_.dispatch_when_idle);
      continue;
    }
    if (msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("kafka consumer: {}", rd_kafka_message_errstr(msg));
    } else {
      consumed_.inc();
      topic_partition tp{rd_kafka_topic_name(msg->rkt), msg->partition};
      take(tp, msg->offset,
           std::string{static_cast<const char*>(msg->key), msg->key ? msg->key_len : 0},
           std::string{static_cast<const char*>(msg->payload), msg->payload ? msg->len : 0});
    }
    rd_kafka_message_destroy(msg);
    dispatch_due(false);
  }
  // Leaving the group runs the revoke callback (flush, commit) from inside close.
  rd_kafka_consumer_close(rk_);
}

void consumer::take(const topic_partition& tp, int64_t offset, std::string key,
                    std::string payload) {
  auto i = parts_.find(tp);
  if (i == parts_.end()) return;  // not (or no longer) ours
  auto& p = i->second;
  if (p.resume_at >= 0 || (p.durable >= 0 && offset < p.durable && offset >= p.warmup_until))
    return;  // paused (will be re-read after the seek) or already durable (not a warm-up)
  if (p.first_seen < 0) p.first_seen = offset;
  if (p.pending.empty()) p.pending_since = clock::now();
  p.pending.push_back({offset, std::move(key), std::move(payload)});
  if (p.pending.size() >= cfg_.consumer.max_batch_records) dispatch(tp, p);
}

void consumer::dispatch_due(bool force) {
  auto now = clock::now();
  // Paused partitions whose seek failed earlier: try again.
  for (auto& [tp, p] : parts_)
    if (p.resume_at >= 0 && p.inflight < cfg_.consumer.max_inflight_batches && now >= p.next_seek)
      seek_and_resume(tp, p, p.resume_at);
  // Without a free credit, due records keep waiting in `pending` (which grows into a bigger
  // batch) instead of pausing: a pause drops what librdkafka prefetched and costs a seek and
  // a re-fetch, so pausing is for when `pending` is full (take()).
  for (auto& [tp, p] : parts_)
    if (!p.pending.empty() && p.inflight < cfg_.consumer.max_inflight_batches &&
        (force || now - p.pending_since >= pipeline_.linger))
      dispatch(tp, p);
}

void consumer::dispatch(const topic_partition& tp, part_state& p) {
  if (p.pending.empty()) return;
  if (p.inflight >= cfg_.consumer.max_inflight_batches) {
    pause(tp, p);
    return;
  }
  auto batch = std::make_shared<consumed_batch>();
  batch->tp = tp;
  batch->kind = p.kind;
  batch->generation = p.generation;
  batch->warmup_until = p.warmup_until;
  batch->records = std::move(p.pending);
  p.pending.clear();
  ++p.inflight;
  caf::anon_send(shard_, atom::batch_v, consumed_batch_ptr{std::move(batch)});
}

void consumer::pause(const topic_partition& tp, part_state& p) {
  // Backpressure: stop fetching and forget what was not handed over; it is re-read later.
  p.resume_at = p.pending.front().offset;
  p.pending.clear();
  tp_list l;
  l.add(tp);
  rd_kafka_pause_partitions(rk_, l.list);
  paused_.inc();
}

bool consumer::seek_and_resume(const topic_partition& tp, part_state& p, int64_t offset) {
  // Until the seek succeeds the partition stays paused with resume_at set: resuming without it
  // would continue after records that were polled and dropped, and store offsets past them.
  p.resume_at = offset;
  p.next_seek = clock::now() + std::chrono::seconds{1};
  tp_list l;
  l.add(tp)->offset = offset;
  std::string failure;
  if (auto* err = rd_kafka_seek_partitions(rk_, l.list, 5000)) {
    failure = rd_kafka_error_string(err);
    rd_kafka_error_destroy(err);
  } else if (l.list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    failure = rd_kafka_err2str(l.list->elems[0].err);
  }
  if (!failure.empty()) {
    spdlog::warn("kafka consumer: seek {} to {} failed ({}); retrying", to_string(tp), offset,
                 failure);
    return false;
  }
  rd_kafka_resume_partitions(rk_, l.list);
  p.resume_at = -1;
  return true;
}

void consumer::apply(const mark& m) {
  auto i = parts_.find(m.tp);
  if (i == parts_.end() || i->second.generation != m.gen)
    return;  // stale: revoked or rewound since
  auto& p = i->second;
  p.inflight -= std::min(p.inflight, m.batches);
  if (m.next >= 0) {
    p.durable = std::max(p.durable, m.next);
    tp_list l;
    l.add(m.tp)->offset = m.next;
    if (auto err = rd_kafka_offsets_store(rk_, l.list); err != RD_KAFKA_RESP_ERR_NO_ERROR)
      spdlog::warn("kafka consumer: store offset {} of {}: {}", m.next, to_string(m.tp),
                   rd_kafka_err2str(err));
  }
  if (p.resume_at >= 0 && p.inflight < cfg_.consumer.max_inflight_batches)
    seek_and_resume(m.tp, p, p.resume_at);
}

void consumer::drain_control() {
  std::vector<mark> marks;
  std::vector<topic_partition> rewinds;
  {
    std::lock_guard<std::mutex> guard{mx_};
    marks.swap(marks_);
    rewinds.swap(rewinds_);
  }
  for (const auto& m : marks) apply(m);
  for (const auto& tp : rewinds) {
    auto i = parts_.find(tp);
    if (i == parts_.end()) continue;
    auto& p = i->second;
    auto target = p.durable >= 0 ? p.durable : std::max(p.first_seen, p.warmup_until);
    p.generation = next_generation_++;
    p.inflight = 0;
    p.pending.clear();
    spdlog::warn("kafka consumer: rewinding {} to offset {} after a crashed partition actor",
                 to_string(tp), target);
    if (target >= 0) {
      tp_list l;
      l.add(tp);
      rd_kafka_pause_partitions(rk_, l.list);
      // The crashed group's windows are gone: re-read the warm-up span before the target.
      auto from = warmup_start(tp, target);
      p.warmup_until = from < target ? target : -1;
      seek_and_resume(tp, p, from);
    }
  }
}

int64_t consumer::warmup_start(const topic_partition& tp, int64_t target) {
  auto span = cfg_.warmup_ms();
  if (!pipeline_.warmup || span <= 0 || target <= 0) return target;
  tp_list l;
  l.add(tp)->offset = now_ms() - span;  // offsets_for_times takes a timestamp here
  auto err = rd_kafka_offsets_for_times(rk_, l.list, 10000);
  auto found = l.list->elems[0].offset;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || l.list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::warn("kafka consumer: no warm-up for {}: {}", to_string(tp),
                 rd_kafka_err2str(err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : l.list->elems[0].err));
    return target;
  }
  // -1: no record at or after that time, nothing to replay.
  return found >= 0 && found < target ? found : target;
}

void consumer::plan_warmup(rd_kafka_topic_partition_list_t* parts) {
  // Newly owned partitions start at their committed offsets; the window span before that is
  // replayed first (state only), so windows are exact from the first live record on.
  if (!pipeline_.warmup || cfg_.warmup_ms() <= 0 || parts->cnt == 0) return;
  auto* committed = rd_kafka_topic_partition_list_copy(parts);
  if (auto err = rd_kafka_committed(rk_, committed, 10000); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::warn("kafka consumer: committed offsets unknown ({}); no warm-up",
                 rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(committed);
    return;
  }
  for (int i = 0; i < parts->cnt; ++i) {
    auto c = committed->elems[i].offset;
    if (c <= 0) continue;  // nothing committed: read from the start, all of it live
    topic_partition tp{parts->elems[i].topic, parts->elems[i].partition};
    auto from = warmup_start(tp, c);
    if (from < c) {
      parts->elems[i].offset = from;
      parts_[tp].warmup_until = c;
      spdlog::info("kafka consumer: {} warms up from offset {} to {}", to_string(tp), from, c);
    }
  }
  rd_kafka_topic_partition_list_destroy(committed);
}

void consumer::on_rebalance(int err, rd_kafka_topic_partition_list_t* parts) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; ++i) {
      topic_partition tp{parts->elems[i].topic, parts->elems[i].partition};
      auto& p = parts_[tp];
      p = part_state{};
      p.generation = next_generation_++;
      auto name = tp.topic.substr(cfg_.kafka.topic_prefix.size());
      p.kind = name == "metrics"    ? signal_kind::metric
               : name == "events"   ? signal_kind::event
               : name == "commands" ? signal_kind::command
                                    : signal_kind::log;
    }
    plan_warmup(parts);
    spdlog::info("kafka consumer: assigned {} partitions", parts->cnt);
    rd_kafka_assign(rk_, parts);
  } else {
    revoke_all(parts);
    rd_kafka_assign(rk_, nullptr);
  }
  assigned_ = parts_.size();
}

void consumer::revoke_all(rd_kafka_topic_partition_list_t* parts) {
  // Hand nothing new over, wait until what is in flight is durable (bounded), store and commit
  // those offsets, then stop the partition actors.
  std::vector<topic_partition> revoked;
  for (int i = 0; i < parts->cnt; ++i) {
    topic_partition tp{parts->elems[i].topic, parts->elems[i].partition};
    if (auto it = parts_.find(tp); it != parts_.end()) {
      it->second.pending.clear();
      revoked.push_back(tp);
    }
  }
  auto deadline = clock::now() + revoke_grace;
  auto busy = [&] {
    for (const auto& tp : revoked)
      if (auto it = parts_.find(tp); it != parts_.end() && it->second.inflight > 0) return true;
    return false;
  };
  while (busy() && clock::now() < deadline) {
    {
      std::unique_lock<std::mutex> lock{mx_};
      cv_.wait_for(lock, std::chrono::milliseconds{50},
                   [this] { return !marks_.empty() || !rewinds_.empty(); });
    }
    drain_control();
  }
  if (busy())
    spdlog::warn(
        "kafka consumer: revoking with rows still in flight; the next owner re-reads "
        "them (the store ignores duplicates)");
  if (auto e = rd_kafka_commit(rk_, nullptr, 0);
      e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
    spdlog::warn("kafka consumer: commit on revoke: {}", rd_kafka_err2str(e));
  for (const auto& tp : revoked) {
    caf::anon_send(shard_, atom::revoke_v, tp);
    parts_.erase(tp);
  }
  spdlog::info("kafka consumer: revoked {} partitions", revoked.size());
}

void ensure_topics(const kafka_settings& settings, const std::vector<std::string>& topics,
                   int timeout_ms) {
  config_builder conf;
  conf.set("bootstrap.servers", settings.brokers);
  auto* rk = conf.create(RD_KAFKA_PRODUCER);
  auto* queue = rd_kafka_queue_new(rk);
  std::vector<rd_kafka_NewTopic_t*> news;
  char err[512];
  for (const auto& t : topics)
    news.push_back(rd_kafka_NewTopic_new(t.c_str(), settings.partitions,
                                         settings.replication_factor, err, sizeof(err)));
  auto* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof(err));
  rd_kafka_CreateTopics(rk, news.data(), news.size(), opts, queue);
  auto* ev = rd_kafka_queue_poll(queue, timeout_ms + 2000);
  std::string failure;
  if (ev == nullptr) {
    failure = "no answer from the broker within " + std::to_string(timeout_ms) + " ms";
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    failure = rd_kafka_event_error_string(ev);
  } else {
    size_t n = 0;
    auto* res = rd_kafka_event_CreateTopics_result(ev);
    auto** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(results[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        failure += std::string{rd_kafka_topic_result_name(results[i])} + ": " +
                   rd_kafka_topic_result_error_string(results[i]) + "; ";
      else if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        spdlog::info("kafka: created topic {} ({} partitions)",
                     rd_kafka_topic_result_name(results[i]), settings.partitions);
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy_array(news.data(), news.size());
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
  if (!failure.empty()) throw std::runtime_error("creating Kafka topics: " + failure);
}

}  // namespace rtmon::kafka
