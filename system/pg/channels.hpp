// Names shared by every writer and reader of the incident timeline and the notification outbox
// (sql/003_notifications.sql), whatever process they run in.
#pragma once

#include <cstdint>

namespace rtmon::pg {

/// Every transaction that inserts incident_events rows takes this transaction-level advisory
/// lock (`select pg_advisory_xact_lock($1)`) right before the insert, so the rows' stream_id
/// (an identity column) grows in commit order: a live-stream reader that saw N has seen every
/// row below N. Transitions are rare next to data, so the serialisation costs nothing visible.
constexpr int64_t stream_lock_key = 0x72746d6f6e73;  // "rtmons"

/// NOTIFY channel raised (pg_notify, payload: the highest stream_id written) by every such
/// transaction: the live stream (/api/stream) wakes on it.
constexpr const char* stream_channel = "rtmon_stream";

/// NOTIFY channel raised when notifications are inserted (payload empty) and when commands are
/// done (payload: the command id): dispatchers and waiting API requests wake on it.
constexpr const char* outbox_channel = "rtmon_outbox";
constexpr const char* commands_channel = "rtmon_commands";

}  // namespace rtmon::pg
