// Notifications: what the dispatcher hands to a notifier (a claimed outbox row, sql/003) and what
// comes back (one delivery attempt, recorded in notification_attempts). Times are Unix ms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace rtmon {

enum class channel_kind : uint8_t { slack, email, webhook };
std::string to_string(channel_kind);
/// "slack" -> slack; false for unknown text.
bool parse_channel_kind(const std::string& text, channel_kind& out);

/// One notification to deliver: a claimed row of the `notifications` outbox.
struct notification {
  int64_t id = 0;
  std::string idem_key;  // "<incident>:<seq>:<channel>[:r<n>]": stable across retries
  std::string incident_id;
  uint32_t seq = 0;     // the timeline entry it tells about
  std::string channel;  // the channel's name in the routing config
  channel_kind kind = channel_kind::slack;
  std::string event;       // triggered, acknowledged, resolved, renotify, flapping, stable, ...
  std::string payload;     // the incident transition message (JSON, as on rtmon.incidents)
  uint32_t attempt = 1;    // the number of the attempt about to be made (1, 2, ...)
  int64_t created_ms = 0;  // when the row was written (retries give up past a maximum age)
  // Non-empty: do not send, record the attempt as muted with this reason (a silence matched,
  // or a re-notification whose incident was acknowledged meanwhile).
  std::string mute;
  // The row's group (sql/007_notify_groups.sql); empty: never grouped.
  std::string group_key;
  // The other rows of its group that go out in this same message (this row leads: it is the
  // oldest). Empty for a message about one incident. Every one gets the attempt recorded.
  std::vector<notification> grouped;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification& x) {
  return f(caf::meta::type_name("notification"), x.id, x.idem_key, x.incident_id, x.seq, x.channel,
           x.kind, x.event, x.payload, x.attempt, x.created_ms, x.mute, x.group_key, x.grouped);
}

/// How an attempt ended.
///  delivered: the receiver accepted it (2xx; SMTP 250 after DATA).
///  retry: it certainly did not arrive (refused connection, 429, 5xx, SMTP 4xx) - try again.
///  failed: a permanent refusal (400 invalid_payload, 404, 410, SMTP 5xx) - do not retry.
///  ambiguous: sent but no answer (timeout after the request went out) - it may have arrived;
///    retried, and a later success may be a duplicate (counted in notifications.ambiguous).
///  muted: not sent because a silence matched when it came due.
enum class delivery_outcome : uint8_t { delivered, retry, failed, ambiguous, muted };
std::string to_string(delivery_outcome);

/// One delivery attempt, as recorded in notification_attempts.
struct delivery_attempt {
  int64_t notification_id = 0;
  uint32_t attempt = 0;
  int64_t started_ms = 0;
  double latency_ms = 0;
  int status_code = 0;  // HTTP status or SMTP reply code; 0 = none came back
  delivery_outcome outcome = delivery_outcome::retry;
  int64_t retry_after_ms = -1;  // the receiver's Retry-After, -1 = none given
  std::string error;            // empty when delivered
  // False: the notifier did not try (its destination is rate-limited or held by a Retry-After
  // for longer than a claim lasts); the row goes back to the outbox, due after retry_after_ms,
  // and no attempt is recorded.
  bool attempted = true;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_attempt& x) {
  return f(caf::meta::type_name("delivery_attempt"), x.notification_id, x.attempt, x.started_ms,
           x.latency_ms, x.status_code, x.outcome, x.retry_after_ms, x.error, x.attempted);
}

}  // namespace rtmon
