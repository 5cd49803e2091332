// What an incident is and what it persists: the state machine's vocabulary (statuses and
// timeline entries) and the records the incident actors hand to the incident store. Times are
// Unix milliseconds; 0 means "not set" where a column may be NULL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace rtmon {

enum class incident_status : uint8_t { pending, triggered, acknowledged, resolved, cancelled };
std::string to_string(incident_status);
/// "triggered" -> triggered; false for unknown text.
bool parse_incident_status(const std::string& text, incident_status& out);

/// One entry of the incident's timeline (incident_events) and, if `notify`, of the outbox.
struct incident_transition {
  uint32_t seq = 0;  // 1, 2, 3 ... per incident, no gaps (a repeat, no timeline entry, carries
                     // the seq of the latest entry)
  std::string kind;  // "pending", "triggered", "repeat", "acknowledged", "resolved",
                     // "cancelled", "silenced", "unsilenced", "flapping", "stable"
  incident_status from = incident_status::pending;
  incident_status to = incident_status::pending;
  int64_t at_ms = 0;
  std::string actor;   // "rtmon" for automatic transitions, else who acted
  std::string detail;  // human-readable, e.g. "value 0.12 > 0.05"
  double value = 0;
  bool notify = false;  // should channels be told (false while silenced or flapping-throttled)
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_transition& x) {
  return f(caf::meta::type_name("incident_transition"), x.seq, x.kind, x.from, x.to, x.at_ms,
           x.actor, x.detail, x.value, x.notify);
}

/// The `incidents` row: the incident as it stands after its latest transition.
struct incident_record {
  std::string id;  // UUID (v7, assigned when the incident opens)
  std::string fingerprint, rule, service, severity;
  incident_status status = incident_status::pending;
  std::string summary;
  std::string labels = "{}";  // JSON object: the rule's labels
  std::string group = "{}";   // JSON object: the group_by values of this incident
  double last_value = 0;
  uint64_t breach_count = 0;
  int64_t opened_ms = 0, last_seen_ms = 0, acknowledged_ms = 0, resolved_ms = 0;
  int64_t silenced_until_ms = 0;
  bool flapping = false;
  uint32_t last_seq = 0;  // seq of its latest timeline entry
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_record& x) {
  return f(caf::meta::type_name("incident_record"), x.id, x.fingerprint, x.rule, x.service,
           x.severity, x.status, x.summary, x.labels, x.group, x.last_value, x.breach_count,
           x.opened_ms, x.last_seen_ms, x.acknowledged_ms, x.resolved_ms, x.silenced_until_ms,
           x.flapping, x.last_seq);
}

/// A timeline entry as stored: the transition plus the message published to rtmon.incidents
/// (JSON text, built by the incident actor so Kafka, the live stream and the API agree).
struct timeline_entry {
  incident_transition transition;
  std::string message;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timeline_entry& x) {
  return f(caf::meta::type_name("timeline_entry"), x.transition, x.message);
}

/// One incident's change, written in one transaction: its row (inserted on the first entry,
/// updated after) and its new timeline entries (idempotent by (incident id, seq)). A change
/// without entries only updates the row (a repeat breach: count, last value, last seen).
struct incident_change {
  incident_record incident;
  std::vector<timeline_entry> entries;
  // The command (commands.id) this change carries out: marked done in the same transaction.
  std::string command_id;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_change& x) {
  return f(caf::meta::type_name("incident_change"), x.incident, x.entries, x.command_id);
}

/// A user's action on an open incident, from rtmon.commands (see command_row).
struct incident_command {
  std::string id;  // commands.id
  std::string incident_id;
  std::string action;  // acknowledge, resolve, note
  std::string actor, text;
  int64_t at_ms = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, incident_command& x) {
  return f(caf::meta::type_name("incident_command"), x.id, x.incident_id, x.action, x.actor, x.text,
           x.at_ms);
}

/// A timeline entry not yet published to Kafka (the store is the outbox for rtmon.incidents).
struct unpublished_entry {
  std::string incident_id;
  uint32_t seq = 0;
  std::string fingerprint;  // the Kafka key
  std::string message;      // timeline_entry::message
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unpublished_entry& x) {
  return f(caf::meta::type_name("unpublished_entry"), x.incident_id, x.seq, x.fingerprint,
           x.message);
}

}  // namespace rtmon
