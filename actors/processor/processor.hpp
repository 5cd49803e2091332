#pragma once

#include <map>
#include <string>

#include "actors/aggregator/aggregator.hpp"
#include "messages/actors.hpp"

namespace rtmon {

struct processor_state {
  int32_t partition = 0;
  rule_set_ptr rules;
  incident_store_actor store;
  processing_options opts;
  metrics_registry* metrics = nullptr;
  std::map<std::string, aggregator_actor> aggregators;
  std::map<caf::actor_addr, std::string> by_addr;
  static inline const char* name = "processor";
};

/// PROCESSOR (messages/actors.hpp) of partition number `partition`.
processor_actor::behavior_type processor(processor_actor::stateful_pointer<processor_state> self,
                                         int32_t partition, rule_set_ptr rules,
                                         incident_store_actor store, processing_options opts,
                                         metrics_registry* metrics);

}  // namespace rtmon
