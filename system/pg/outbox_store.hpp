// The notification outbox in PostgreSQL (sql/003_notifications.sql), blocking: used only from
// the one detached actor that owns it (actors/notify/outbox_actor). Several hub processes share
// the outbox: rows are claimed with a lease (FOR UPDATE SKIP LOCKED), so each attempt is made by
// one process, and a crashed claimer's rows come due again when its lease runs out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/notifications.hpp"
#include "system/notify/routing.hpp"

#include <pqxx/connection>

namespace rtmon::pg {

class outbox_store {
 public:
  /// Connects lazily (on first use), so constructing it never blocks or fails.
  outbox_store(std::string url, notify::routing_source_ptr routing);
  ~outbox_store();
  outbox_store(const outbox_store&) = delete;
  outbox_store& operator=(const outbox_store&) = delete;

  /// Claims up to `limit` due pending rows (oldest due first) for `lease_s` seconds. A row
  /// whose incident an active silence matches comes back with `mute` set, as does a
  /// re-notification whose incident is no longer triggered; `attempt` is the attempt about to be
  /// made. Rows of channels this process does not know (a newer config elsewhere) are skipped.
  /// A grouped due row brings the pending mates of its group along (up to `limit` of them in
  /// all), due or not: the group goes out as one message (actors/notify/grouping.hpp).
  std::vector<notification> claim(size_t limit, int lease_s);

  /// Records each attempt and schedules its row, all in one transaction: pending again (due at
  /// `next_attempt_ms`), or finished (next_attempt_ms == 0: delivered, failed or muted as the
  /// outcome says). Not attempted (a.attempted false): only gives the row back, due then.
  void record(const std::vector<delivery_attempt>& attempts, int64_t next_attempt_ms);

  /// Inserts a re-notification for every triggered (not acknowledged) incident whose routed
  /// channel was last told longer ago than its route's interval. Idempotent by key, so two
  /// processes sweeping at once insert each one once. Returns how many were inserted.
  size_t renotify();

  /// Reserves the next slot of `channel` on the schedule every hub process shares
  /// (sql/006_notify_pacing.sql: `interval_ms` apart, bursts of `burst`). Answers how long to
  /// wait before sending (ms, 0: now). The slot is taken only if that wait is at most
  /// `max_wait_ms`: a caller that will not wait so long takes nothing from the others.
  int64_t reserve_slot(const std::string& channel, int64_t interval_ms, int burst,
                       int64_t max_wait_ms);

  /// The receiver asked for a pause (Retry-After): no process gets a slot of `channel` that
  /// starts within `for_ms` from now.
  void hold_slots(const std::string& channel, int64_t for_ms, int64_t interval_ms, int burst);

  void reset();

 private:
  pqxx::connection& connection();
  // The routing in force if it has channels, else null (nothing to claim or re-notify).
  notify::routing_ptr channels_in_force() const;
  std::string url_;
  notify::routing_source_ptr routing_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace rtmon::pg
