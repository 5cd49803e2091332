// The root of the supervision tree. It monitors the long-lived components (STORE, SHARD);
// SHARD in turn restarts crashed partition actors. If a component itself dies, restarting it
// in place would not help (its state is a connection or the partition map), so the guardian
// fails fast: the process shuts down in order and its supervisor (systemd, Kubernetes, the
// start script) restarts it; Kafka offsets and idempotent inserts make that lossless.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

namespace rtmon {

struct guardian_state {
  std::vector<std::pair<std::string, caf::actor>> components;
  std::function<void(const std::string&)> on_failure;
  static inline const char* name = "guardian";
};

/// `on_failure` runs (on an actor thread) when a component dies for any reason other than an
/// orderly shutdown. An exit message to the guardian shuts the components down with it.
caf::behavior guardian(caf::stateful_actor<guardian_state>* self,
                       std::vector<std::pair<std::string, caf::actor>> components,
                       std::function<void(const std::string&)> on_failure);

}  // namespace rtmon
