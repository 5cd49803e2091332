#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "messages/actors.hpp"
#include "system/metrics.hpp"
#include "system/pg/processing_store.hpp"

namespace rtmon {
namespace kafka {
class producer;
}

struct incident_store_state {
  std::shared_ptr<pg::processing_store> db;
  kafka::producer* producer = nullptr;  // null: no Kafka publication (tests)
  std::string topic;                    // rtmon.incidents
  metrics_registry* metrics = nullptr;
  std::vector<std::pair<incident_change, caf::typed_response_promise<uint32_t>>> changes;
  std::vector<std::pair<std::vector<aggregate_row>, caf::typed_response_promise<uint64_t>>> aggs;
  bool flush_scheduled = false;
  int failures = 0;  // consecutive lost connections: back-off
  bool publishing = false;
  caf::timespan publish_every = std::chrono::seconds{5};
  static inline const char* name = "incident-store";
};

/// INCIDENT STORE (messages/actors.hpp). Spawn it detached: libpqxx blocks its thread only.
incident_store_actor::behavior_type incident_store(
    incident_store_actor::stateful_pointer<incident_store_state> self,
    std::shared_ptr<pg::processing_store> db, kafka::producer* producer, std::string topic,
    metrics_registry* metrics);

}  // namespace rtmon
