#pragma once

#include <map>

#include "messages/actors.hpp"
#include "messages/offsets.hpp"

namespace rtmon {

struct shard_child {
  partition_actor handle;        // invalid while waiting for a restart
  uint64_t last_generation = 0;  // generation of the last batch routed to it
  uint64_t stale_up_to = 0;      // batches of this generation or older are dropped
  int restarts = 0;
};

struct shard_state {
  std::map<topic_partition, shard_child> children;
  std::map<caf::actor_addr, topic_partition> by_addr;
  std::vector<store_actor> stores;  // writers; a partition always uses the same one
  offset_sink_ptr offsets;
  size_t max_rows_per_request = 20000;
  static inline const char* name = "shard";
};

/// SHARD (messages/actors.hpp): supervises this process's partition actors.
shard_actor::behavior_type shard(shard_actor::stateful_pointer<shard_state> self,
                                 std::vector<store_actor> stores, offset_sink_ptr offsets,
                                 size_t max_rows_per_request);

/// The writer of a partition: spreads partitions over writers, stable for a partition.
size_t store_index(const topic_partition& tp, size_t writers);

/// Back-off before the n-th restart of a partition actor: 100 ms doubling, at most 10 s.
caf::timespan restart_backoff(int restarts);

}  // namespace rtmon
