#pragma once

#include "actors/window/window_set.hpp"
#include "messages/actors.hpp"
#include "system/metrics.hpp"

namespace rtmon {

struct window_actor_state {
  std::unique_ptr<window_set> windows;
  rule_set_ptr rules;
  metrics_registry* metrics = nullptr;
  uint64_t reported_late = 0, reported_future = 0, reported_overflow = 0;
  static inline const char* name = "window";
};

/// WINDOW (messages/actors.hpp) of one service and signal.
window_actor::behavior_type window(window_actor::stateful_pointer<window_actor_state> self,
                                   signal_kind kind, std::string service, window_options opts,
                                   rule_set_ptr rules, metrics_registry* metrics);

}  // namespace rtmon
