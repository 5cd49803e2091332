// The contract between partition actors and the Kafka consumer adapter that owns offsets.
#pragma once

#include <cstdint>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>

#include "messages/batches.hpp"

namespace rtmon {

/// Implemented by the consumer adapter (system/kafka/consumer.cpp); called from actor threads.
/// Offsets are only ever reported here after the rows before them are committed in Postgres,
/// so the consumer never stores an offset past an unpersisted row.
class offset_sink {
 public:
  virtual ~offset_sink() = default;
  /// `batches` batches of `tp` (generation `gen`) are durable; consumption may resume at `next`
  /// (-1: nothing new became durable, only the batches' credit is released).
  virtual void durable(const topic_partition& tp, uint64_t gen, int64_t next, size_t batches) = 0;
  /// The partition's actor died with batches in flight: rewind to the last durable offset.
  virtual void rewind(const topic_partition& tp) = 0;
};
using offset_sink_ptr = std::shared_ptr<offset_sink>;

}  // namespace rtmon

// A thread-safe adapter object handed to actors at spawn time; never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rtmon::offset_sink_ptr)
