// The logic of a partition actor, free of CAF so it is tested directly: decoding polled Kafka
// records into rows, merging queued batches into one store request, and offset bookkeeping that
// never reports an offset past a row that is not yet committed in Postgres.
#pragma once

#include <chrono>
#include <deque>

#include "messages/batches.hpp"

namespace rtmon {

class partition_state {
 public:
  explicit partition_state(size_t max_rows_per_request = 20000) : max_rows_(max_rows_per_request) {}

  /// Queues a polled batch. Records at offsets this actor already saw are skipped; returns
  /// false if nothing of the batch was new (the caller must still release its credit).
  bool enqueue(consumed_batch_ptr batch);

  /// True while a store request is outstanding.
  bool busy() const { return inflight_ != nullptr; }
  bool has_queued() const { return !queued_.empty(); }

  /// Moves queued batches (up to the row limit, at least one) into a new store request and
  /// returns it; null if nothing is queued or a request is already outstanding.
  store_batch_ptr begin_store();
  /// The outstanding request (for retries).
  store_batch_ptr inflight() const { return inflight_; }
  /// Rows of warm-up records (offsets before their batch's warmup_until) decoded by the last
  /// begin_store, to rebuild processing state; null if none. They are not stored again.
  store_batch_ptr take_warm() { return std::move(warm_); }

  struct durable_mark {
    uint64_t generation = 0;
    int64_t next_offset = -1;
    size_t batches = 0;
  };
  /// The outstanding request committed: returns what became durable (next_offset -1 when it
  /// held only warm-up records: those offsets were committed before, storing them again would
  /// move the committed offset back).
  durable_mark store_succeeded(const store_result& r);
  /// The outstanding request failed; it stays outstanding for a retry. Returns the delay.
  std::chrono::milliseconds store_failed();
  uint64_t attempt() const { return attempt_; }

  partition_status status() const;

  /// Decodes one record of `batch` into `out` (a row, or a dead letter with the reason).
  static void decode(const consumed_batch& batch, const kafka_record& rec, store_batch& out);

 private:
  size_t max_rows_;
  std::deque<consumed_batch_ptr> queued_;
  std::vector<consumed_batch_ptr> inflight_batches_;
  store_batch_ptr inflight_;
  store_batch_ptr warm_;
  int64_t next_expected_ = -1;  // first offset not yet queued
  int64_t durable_ = -1;        // first offset not yet durable
  uint64_t attempt_ = 0;
  uint64_t rows_stored_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace rtmon
