// Every typed actor interface of rtmon. A role comment in capitals, then one line per handler.
#pragma once

#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/batches.hpp"
#include "messages/fwd.hpp"

namespace rtmon {

// clang-format off

/// STORE: persists decoded rows in PostgreSQL. Requests that arrive while a transaction runs
/// are written together in the next one (group commit); rows already present are skipped by
/// event_id, so replays and client retries change nothing.
using store_actor = caf::typed_actor<
  // Write the batch; answers once the transaction holding it committed.
  caf::replies_to<atom::store, store_batch_ptr>::with<store_result>,
  // Internal: write everything queued since the last transaction.
  caf::reacts_to<caf::flush_atom>,
  // Periodic upkeep: create the coming days' partitions, drop the ones past retention.
  caf::reacts_to<atom::maintain>>;

/// PARTITION: owns one assigned topic-partition. Decodes polled batches into rows, hands them
/// to STORE in offset order (merging what queued up meanwhile), retries failures with back-off
/// and reports durable offsets to the consumer's offset_sink.
using partition_actor = caf::typed_actor<
  // A polled batch (the consumer bounds how many are in flight per partition).
  caf::reacts_to<atom::batch, consumed_batch_ptr>,
  // Retry the failed store request with this attempt number.
  caf::reacts_to<atom::retry, uint64_t>,
  // Bookkeeping snapshot.
  caf::replies_to<atom::status>::with<partition_status>>;

/// SHARD: supervisor of the partition actors of this process. Routes batches to the actor of
/// their partition (spawning it on first use), restarts a crashed one after asking the consumer
/// to rewind to the last durable offset, and stops actors of revoked partitions.
using shard_actor = caf::typed_actor<
  // A polled batch for one of the assigned partitions.
  caf::reacts_to<atom::batch, consumed_batch_ptr>,
  // The partition left this process (rebalance): stop its actor.
  caf::reacts_to<atom::revoke, topic_partition>,
  // Internal: respawn the actor of a partition after its back-off.
  caf::reacts_to<atom::restart, topic_partition>,
  // The partitions that currently have an actor.
  caf::replies_to<atom::status>::with<std::vector<topic_partition>>>;

// clang-format on

}  // namespace rtmon
