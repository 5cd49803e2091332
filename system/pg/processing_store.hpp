// What the processing side persists in PostgreSQL (libpqxx, blocking: used only from the one
// detached actor thread that owns it): incidents with their timeline, the timeline doubling as
// the outbox of the rtmon.incidents Kafka topic, and the per-bucket aggregates. Tables:
// sql/002_processing.sql. Times cross this API as Unix milliseconds, 0 meaning NULL where the
// column may be NULL; they are stored exactly (to the millisecond, no float rounding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "messages/aggregates.hpp"
#include "messages/incidents.hpp"
#include "system/notify/routing.hpp"

#include <pqxx/connection>

namespace rtmon::pg {

/// apply() met the "one open incident per fingerprint" index: another incident with this
/// fingerprint is already open in the database (another hub process, or an actor whose state is
/// stale, opened it first). The caller should reload that fingerprint's open incident instead of
/// insisting. Nothing of the failed apply() call was committed.
class open_conflict : public std::runtime_error {
 public:
  open_conflict(std::string fingerprint, std::string incident_id, const std::string& what);
  /// The fingerprint that already has an open incident.
  const std::string& fingerprint() const noexcept { return fingerprint_; }
  /// The incident (of the change being applied) that the database refused.
  const std::string& incident_id() const noexcept { return incident_id_; }

 private:
  std::string fingerprint_;
  std::string incident_id_;
};

class processing_store {
 public:
  /// Connects lazily (on first use), so constructing it never blocks or fails.
  explicit processing_store(std::string url);
  ~processing_store();
  processing_store(const processing_store&) = delete;
  processing_store& operator=(const processing_store&) = delete;

  /// Writes all changes in ONE transaction (group commit), in order, so several changes of one
  /// incident in one call end with the last one. Per change: the incidents row is upserted by id
  /// (every column but the identity - id, fingerprint, rule, service, opened_at - is replaced),
  /// unless the stored row has a higher last_seq (a stale retry must not roll an incident back);
  /// then its entries go into incident_events, ON CONFLICT (incident_id, seq) DO NOTHING, so a
  /// replayed change adds nothing. Throws on failure, and then NOTHING of the call is committed:
  /// one bad change fails all the others, so after a failure of a group callers retry the
  /// changes one by one (as actors/store/store.cpp does) to isolate it - unless the connection
  /// was lost (pqxx::broken_connection), when that cannot help. Throws open_conflict when a
  /// change would open a second incident for a fingerprint that has one open.
  void apply(const std::vector<incident_change>& changes);

  /// Routes timeline entries to notification channels: apply() then inserts one outbox row per
  /// routed channel in the same transaction (null: no notifications). Set before first use.
  void set_routing(notify::routing_source_ptr r) { routing_ = std::move(r); }

  /// A command's status in the commands table (pending, done, rejected; "" if there is none).
  std::string command_status(const std::string& id);
  /// Marks a pending command rejected with the reason (and wakes the API waiting for it).
  void reject_command(const std::string& id, const std::string& why);

  /// The open incidents (pending, triggered, acknowledged) of one service, oldest first: what an
  /// incident actor restores when it (re)starts.
  std::vector<incident_record> open_incidents(const std::string& service);

  /// The latest incident (by opened_at, any status) of a fingerprint, for flapping history and
  /// restore. Returns false, leaving `out` alone, if the fingerprint never had one.
  bool latest_incident(const std::string& fingerprint, incident_record& out);

  /// Claims up to `limit` timeline entries not yet produced to Kafka and not claimed by another
  /// publisher within the last 30 s, oldest first (by at, then incident_id, seq): the outbox of
  /// rtmon.incidents, shared by every hub process (each row is produced by its claimer only). Note
  /// the message comes back as PostgreSQL prints the jsonb (keys reordered, shorter first;
  /// whitespace normalised), which may differ textually (not semantically) from the text handed to
  /// apply().
  std::vector<unpublished_entry> unpublished(size_t limit);

  /// Marks these (incident_id, seq) entries as produced to Kafka. Entries already marked keep
  /// their first published_at; unknown keys are ignored.
  void mark_published(const std::vector<std::pair<std::string, uint32_t>>& keys);

  /// Upserts the rows in ONE transaction, replacing every value of a bucket already stored (a
  /// bucket is always written whole). Rows with the same key within one call: the LAST one wins
  /// (coalesced in SQL, where jsonb equality decides whether two `series` texts are the same
  /// key). Non-metric rows store NULL sum/min/max/p50/p95/p99. Throws on failure (nothing is
  /// committed, e.g. for an unknown signal).
  void upsert_aggregates(const std::vector<aggregate_row>& rows);

  /// Drops the connection; the next call reconnects. Done by the calls themselves after a lost
  /// connection or a commit in doubt; callers may add it after other errors.
  void reset();

 private:
  pqxx::connection& connection();

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  notify::routing_source_ptr routing_;
};

}  // namespace rtmon::pg
