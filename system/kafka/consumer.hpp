// The Kafka consumer adapter: one poll thread in one consumer group, subscribed to the raw
// topics of its pipeline. It batches polled records per partition and hands them to the SHARD,
// at most `max_inflight_batches` per partition (beyond that the partition is paused and later
// re-read from the first record not handed over, so memory stays bounded). Offsets are stored
// only when the partition actor reports the records' effects durable
// (enable.auto.offset.store=false).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "messages/actors.hpp"
#include "messages/offsets.hpp"
#include "system/config.hpp"
#include "system/metrics.hpp"

struct rd_kafka_s;
struct rd_kafka_topic_partition_list_s;

namespace rtmon::kafka {

/// What one consumer group reads and does. The process role runs two (a deviation from
/// design.md's single group): `process` (windows, rules, incidents: cheap per record, and
/// latency-critical) and `store` (raw rows into Postgres: the costliest work per record). In
/// one group, alerting could only see a record once Postgres had taken its raw row, so a store
/// backlog delayed every alert by its age; in two groups alerting reads at the head of the log
/// while the raw rows drain at Postgres's pace, and each group commits its own offsets after
/// its own effects are durable. Kafka is the buffer between them.
struct pipeline {
  std::string name;                // "process" or "store": client.id and metric label
  std::string group;               // consumer group id
  std::vector<std::string> kinds;  // topics without the prefix: logs, metrics, events, commands
  bool warmup = false;             // replay the window span before the committed offsets
  // How long records wait to form a batch, and the fetch wait / minimum size (fetch.wait.max.ms,
  // fetch.min.bytes): short and 1 byte on the alerting path, long and big for the store.
  std::chrono::milliseconds linger{5};
  int fetch_wait_ms = 100;
  int fetch_min_bytes = 1;
  bool dispatch_when_idle = true;  // a poll that returns nothing sends partial batches at once
  int nice = 0;                    // nice value of the poll thread
};

/// The two pipelines of the process role, from the configuration.
pipeline processing_pipeline(const config& cfg);
pipeline store_pipeline(const config& cfg);

class consumer : public offset_sink {
 public:
  consumer(const config& cfg, metrics_registry& metrics, pipeline what);
  ~consumer() override;

  /// Subscribes and starts the poll thread, handing batches to `shard`.
  void start(shard_actor shard);
  /// Leaves the group: revoked partitions flush (bounded wait), offsets are committed.
  void stop();
  /// A real metadata round trip with the brokers (for /readyz of process-only instances).
  bool probe(int timeout_ms);

  // offset_sink, called from actor threads
  void durable(const topic_partition& tp, uint64_t gen, int64_t next, size_t batches) override;
  void rewind(const topic_partition& tp) override;

  /// The librdkafka rebalance callback lands here (poll thread).
  void on_rebalance(int err, rd_kafka_topic_partition_list_s* parts);

 private:
  struct part_state {
    signal_kind kind = signal_kind::log;
    uint64_t generation = 0;
    size_t inflight = 0;        // batches handed to the shard, not yet durable
    int64_t durable = -1;       // next offset after the last durable row
    int64_t first_seen = -1;    // first offset polled in this assignment (rewind target)
    int64_t resume_at = -1;     // paused: re-read from here
    int64_t warmup_until = -1;  // records before it are replayed for state only
    std::vector<kafka_record> pending;
    std::chrono::steady_clock::time_point pending_since;
    std::chrono::steady_clock::time_point next_seek;  // paused: earliest retry of a failed seek
  };
  struct mark {
    topic_partition tp;
    uint64_t gen;
    int64_t next;
    size_t batches;
  };

  void loop();
  void take(const topic_partition& tp, int64_t offset, std::string key, std::string payload);
  void dispatch(const topic_partition& tp, part_state& p);
  void dispatch_due(bool force);
  void drain_control();
  void apply(const mark& m);
  void pause(const topic_partition& tp, part_state& p);
  /// False if the seek failed: the partition then stays paused and is retried later.
  bool seek_and_resume(const topic_partition& tp, part_state& p, int64_t offset);
  void revoke_all(rd_kafka_topic_partition_list_s* parts);
  /// Where to start reading so the warm-up span before `target` is replayed (one broker round
  /// trip; `target` itself when there is nothing to replay or warm-up is off).
  int64_t warmup_start(const topic_partition& tp, int64_t target);
  /// Moves the start offsets of newly assigned partitions back by the warm-up span.
  void plan_warmup(rd_kafka_topic_partition_list_s* parts);

  shard_actor shard_;
  const config& cfg_;
  const pipeline pipeline_;
  metrics_registry& metrics_;
  counter& consumed_;
  counter& paused_;
  rd_kafka_s* rk_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::map<topic_partition, part_state> parts_;  // poll thread only
  uint64_t next_generation_ = 1;
  // Reports from actors, applied by the poll thread.
  std::mutex mx_;
  std::condition_variable cv_;
  std::vector<mark> marks_;
  std::vector<topic_partition> rewinds_;
  std::atomic<size_t> assigned_{0};
};

/// Creates the topics if missing (exact partition count), treating "already exists" as success.
void ensure_topics(const kafka_settings& settings, const std::vector<std::string>& topics,
                   int timeout_ms);

}  // namespace rtmon::kafka
