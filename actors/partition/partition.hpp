#pragma once

#include <string>

#include "actors/partition/partition_state.hpp"
#include "messages/actors.hpp"
#include "messages/offsets.hpp"

namespace rtmon {

struct partition_actor_state {
  partition_state logic;
  topic_partition tp;
  store_actor store;
  offset_sink_ptr offsets;
  static inline const char* name = "partition";
};

/// PARTITION (messages/actors.hpp): a thin behavior over partition_state.
partition_actor::behavior_type partition(
    partition_actor::stateful_pointer<partition_actor_state> self, topic_partition tp,
    store_actor store, offset_sink_ptr offsets, size_t max_rows_per_request);

}  // namespace rtmon
