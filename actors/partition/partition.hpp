#pragma once

#include <deque>
#include <string>

#include "actors/partition/partition_state.hpp"
#include "messages/actors.hpp"
#include "messages/offsets.hpp"

namespace rtmon {

struct partition_actor_state {
  partition_state logic;
  topic_partition tp;
  store_actor store;  // null: no raw storage (the processing pipeline)
  offset_sink_ptr offsets;
  processor_actor processor;  // null: no processing (the store pipeline)
  struct awaiting_effects {
    uint64_t id;
    partition_state::durable_mark mark;
    bool done;
  };
  std::deque<awaiting_effects> awaiting;  // stored, effects not yet applied; in offset order
  uint64_t next_id = 1;
  static inline const char* name = "partition";
};

/// PARTITION (messages/actors.hpp): a thin behavior over partition_state.
partition_actor::behavior_type partition(
    partition_actor::stateful_pointer<partition_actor_state> self, topic_partition tp,
    store_actor store, offset_sink_ptr offsets, size_t max_rows_per_request,
    processor_actor processor = {});

}  // namespace rtmon
