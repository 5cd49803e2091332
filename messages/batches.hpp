// Data that flows from the Kafka consumer through partition actors into the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/fwd.hpp"

namespace rtmon {

/// Which raw table a Kafka topic feeds.
/// What a topic carries: the three signals, and incident commands (rtmon.commands: actions
/// from the API, keyed by service like the data so they reach the incident's owner in order).
enum class signal_kind : uint8_t { log, metric, event, command };
std::string to_string(signal_kind k);

/// A Kafka topic and partition number: the unit of ownership in a consumer group.
struct topic_partition {
  std::string topic;
  int32_t partition = 0;
  friend bool operator<(const topic_partition& a, const topic_partition& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.topic < b.topic;
  }
  friend bool operator==(const topic_partition& a, const topic_partition& b) {
    return a.partition == b.partition && a.topic == b.topic;
  }
};
std::string to_string(const topic_partition& tp);
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_partition& x) {
  return f(caf::meta::type_name("topic_partition"), x.topic, x.partition);
}

/// One Kafka message as the consumer polled it.
struct kafka_record {
  int64_t offset = 0;
  std::string key;
  std::string payload;
};

/// Consecutive records of one partition, handed from the poll thread to the partition's actor.
/// `generation` changes whenever the poll thread (re)positions the partition (assignment or a
/// seek after a crashed partition actor): batches of an older generation are stale.
struct consumed_batch {
  topic_partition tp;
  signal_kind kind = signal_kind::log;
  uint64_t generation = 0;
  // Records before this offset were processed before (by this or another process): they are
  // replayed only to rebuild window and rule state (warm-up), not stored or acted on again.
  int64_t warmup_until = -1;
  std::vector<kafka_record> records;
  int64_t first_offset() const { return records.empty() ? -1 : records.front().offset; }
  int64_t next_offset() const { return records.empty() ? -1 : records.back().offset + 1; }
};

/// Rows for the raw tables. Timestamps are RFC 3339 UTC strings (normalized at the edge), JSON
/// columns are serialized JSON text that the edge already checked Postgres accepts.
/// `probe`: the event_id came from a client (or is of unknown origin), so a retry may repeat
/// it with another ts and the store must look it up by id; ids rtmon assigned never repeat.
struct log_row {
  std::string event_id, ts, service, host, level, message, attrs;
  bool probe = true;
  int64_t ts_ms = 0;  // ts as Unix ms, for the windows
};
struct metric_row {
  std::string event_id, ts, service, name;
  double value = 0;
  std::string tags;
  bool probe = true;
  int64_t ts_ms = 0;
};
struct event_row {
  std::string event_id, ts, service, type, attrs;
  bool probe = true;
  int64_t ts_ms = 0;
};
/// A record that could not be decoded: kept with its coordinates, never blocks its partition.
/// An incident action from rtmon.commands (docs/api.md "Command message").
struct command_row {
  std::string id;  // the commands row (UUID)
  std::string incident_id, fingerprint, service;
  std::string action;  // acknowledge, resolve, note
  std::string actor, text;
  int64_t at_ms = 0;
};
struct dead_letter {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string error, payload;
};

struct store_batch {
  std::vector<log_row> logs;
  std::vector<metric_row> metrics;
  std::vector<event_row> events;
  std::vector<dead_letter> dead;
  // Not stored (the commands table is written by the API and the incident store): they ride
  // along to the processor, so they are applied in offset order with the data.
  std::vector<command_row> commands;
  size_t rows() const { return logs.size() + metrics.size() + events.size() + dead.size(); }
};

/// A committed store request: how many of its rows are now in Postgres (new or already there;
/// the store counts duplicates from replays and retries in its own metrics).
struct store_result {
  uint64_t rows = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_result& x) {
  return f(caf::meta::type_name("store_result"), x.rows);
}

/// A partition actor's bookkeeping, for tests and /metrics.
struct partition_status {
  int64_t durable_offset = -1;  // next offset to consume after a restart (-1: none yet)
  uint64_t queued_batches = 0;
  uint64_t inflight_batches = 0;
  uint64_t rows_stored = 0;
  uint64_t store_failures = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_status& x) {
  return f(caf::meta::type_name("partition_status"), x.durable_offset, x.queued_batches,
           x.inflight_batches, x.rows_stored, x.store_failures);
}

}  // namespace rtmon

// Batches are moved between actors of one process by pointer and never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rtmon::consumed_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rtmon::store_batch_ptr)
