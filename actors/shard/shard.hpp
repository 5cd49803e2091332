#pragma once

#include <map>

#include "actors/aggregator/aggregator.hpp"
#include "messages/actors.hpp"
#include "messages/offsets.hpp"

namespace rtmon {

/// What the processing tree under the shard needs; without it the shard only stores raw rows.
struct processing_setup {
  rule_set_ptr rules;
  incident_store_actor store;
  processing_options opts;
  metrics_registry* metrics = nullptr;
};
using processing_setup_ptr = std::shared_ptr<const processing_setup>;

struct shard_child {
  partition_actor handle;        // invalid while waiting for a restart
  uint64_t last_generation = 0;  // generation of the last batch routed to it
  uint64_t stale_up_to = 0;      // batches of this generation or older are dropped
};

/// Partition p of every topic and the PROCESSOR they feed: restarted together, since the
/// processor's state is built from all of them.
struct shard_group {
  processor_actor processor;
  int restarts = 0;
};

struct shard_state {
  std::map<topic_partition, shard_child> children;
  std::map<int32_t, shard_group> groups;
  std::map<caf::actor_addr, topic_partition> by_addr;  // partition actors
  std::map<caf::actor_addr, int32_t> processors;       // processor -> partition number
  std::vector<store_actor> stores;  // writers (a partition always uses the same one); none in
                                    // the processing pipeline
  offset_sink_ptr offsets;
  processing_setup_ptr processing;
  size_t max_rows_per_request = 20000;
  static inline const char* name = "shard";
};

/// SHARD (messages/actors.hpp): supervises this process's partition actors and processors.
shard_actor::behavior_type shard(shard_actor::stateful_pointer<shard_state> self,
                                 std::vector<store_actor> stores, offset_sink_ptr offsets,
                                 size_t max_rows_per_request, processing_setup_ptr processing);

/// The writer of a partition: spreads partitions over writers, stable for a partition.
size_t store_index(const topic_partition& tp, size_t writers);

/// Back-off before the n-th restart of a partition group: 100 ms doubling, at most 10 s.
caf::timespan restart_backoff(int restarts);

}  // namespace rtmon

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rtmon::processing_setup_ptr)
