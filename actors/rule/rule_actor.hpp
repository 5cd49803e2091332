#pragma once

#include "actors/rule/rules.hpp"
#include "messages/actors.hpp"

namespace rtmon {

struct rule_actor_state {
  rule_set_ptr rules;  // keeps `spec` alive
  const rule_spec* spec = nullptr;
  std::unique_ptr<rule_state> logic;
  // Event time runs with the data; between inputs it is extrapolated with processing time, so
  // keep_firing_for and event-match expiry are measured in event time, as the windows are.
  int64_t last_event_ms = 0;
  int64_t last_input_proc_ms = 0;
  static inline const char* name = "rule";
};

/// How a restarted or newly owned rule actor starts: from its open incident, if any.
struct rule_restore {
  alert_state state = alert_state::inactive;
  int64_t since_ms = 0;
  double value = 0;
};

/// RULE (messages/actors.hpp) for `spec`, which `rules` owns.
rule_actor::behavior_type rule_actor_fn(rule_actor::stateful_pointer<rule_actor_state> self,
                                        rule_set_ptr rules, const rule_spec* spec,
                                        rule_restore restore);

}  // namespace rtmon
