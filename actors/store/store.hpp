#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "messages/actors.hpp"
#include "system/metrics.hpp"
#include "system/pg/writer.hpp"

namespace rtmon {

struct store_state {
  std::shared_ptr<pg::writer> writer;
  metrics_registry* metrics = nullptr;
  std::vector<std::pair<store_batch_ptr, caf::typed_response_promise<store_result>>> pending;
  bool flush_scheduled = false;
  caf::timespan maintain_every = std::chrono::hours{1};
  static inline const char* name = "store";
};

/// STORE (messages/actors.hpp). Spawn it detached: libpqxx calls block its own thread only.
/// `upkeep`: this writer also creates and drops day partitions, hourly.
store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::shared_ptr<pg::writer> writer, metrics_registry* metrics,
                                 bool upkeep);

}  // namespace rtmon
