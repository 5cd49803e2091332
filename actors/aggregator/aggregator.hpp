#pragma once

#include <map>
#include <memory>
#include <string>

#include "actors/incident/incident_machine.hpp"
#include "actors/window/window_set.hpp"
#include "messages/actors.hpp"
#include "system/metrics.hpp"

namespace rtmon {

/// What the processing tree is configured with (system/config.hpp fills it).
struct processing_options {
  window_options windows;
  flapping_policy flapping;
  caf::timespan tick = std::chrono::seconds{1};  // absence and expiry checks
  rules_source_ptr source;  // reloadable rules (null: the rules given at spawn, for good)
  // Where aggregate buckets are written: an incident store of their own (own connection), so
  // a transition never queues behind them. Null: the incident store.
  incident_store_actor aggregates;
};

struct aggregator_state {
  std::string service;
  rule_set_ptr rules;
  incident_store_actor store;
  processing_options opts;
  metrics_registry* metrics = nullptr;
  std::map<signal_kind, window_actor> windows;
  struct rule_child {
    rule_actor handle;
    std::string rule, group;
  };
  std::map<std::string, rule_child> rules_by_key;   // "rule\ngroup"
  std::map<std::string, incident_actor> incidents;  // by fingerprint
  // The last known state of each fingerprint's incident: a restarted rule takes it over.
  std::map<std::string, incident_record> known;
  std::map<caf::actor_addr, std::string> names;  // child -> "window:..", "rule:..", "incident:.."
  static inline const char* name = "aggregator";
};

/// AGGREGATOR (messages/actors.hpp) of one service.
aggregator_actor::behavior_type aggregator(
    aggregator_actor::stateful_pointer<aggregator_state> self, std::string service,
    rule_set_ptr rules, incident_store_actor store, processing_options opts,
    metrics_registry* metrics);

}  // namespace rtmon
