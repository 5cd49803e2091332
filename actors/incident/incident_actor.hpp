#pragma once

#include <memory>

#include "actors/incident/incident_machine.hpp"
#include "messages/actors.hpp"

namespace rtmon {

/// Who an incident is: fixed for the lifetime of a fingerprint.
struct incident_identity {
  std::string fingerprint, rule, service, severity;
  std::string labels = "{}", group = "{}";  // JSON objects
};

struct incident_actor_state {
  incident_store_actor store;
  incident_identity who;
  flapping_policy policy;
  std::unique_ptr<incident_machine> machine;  // null until the first alert (or restored)
  incident_record record;                     // the row as last handed to the store
  int64_t last_persist_ms = 0;                // repeats are persisted at most once a second
  bool held_back = false;                     // a repeat not yet persisted (a flush is scheduled)
  static inline const char* name = "incident";
};

/// INCIDENT (messages/actors.hpp). `open`: the fingerprint's open incident loaded from Postgres
/// (id empty: none).
incident_actor::behavior_type incident(incident_actor::stateful_pointer<incident_actor_state> self,
                                       incident_store_actor store, incident_identity who,
                                       incident_record open, flapping_policy policy);

/// The JSON published to rtmon.incidents and the live stream for one transition.
std::string incident_message(const incident_record& r, const incident_transition& t);

}  // namespace rtmon
