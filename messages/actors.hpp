// Every typed actor interface of rtmon. A role comment in capitals, then one line per handler.
#pragma once

#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/aggregates.hpp"
#include "messages/batches.hpp"
#include "messages/fwd.hpp"
#include "messages/incidents.hpp"
#include "messages/notifications.hpp"
#include "messages/processing.hpp"

namespace rtmon {

// clang-format off

/// STORE: persists decoded rows in PostgreSQL. Requests that arrive while a transaction runs
/// are written together in the next one (group commit); rows already present are skipped by
/// event_id, so replays and client retries change nothing.
using store_actor = caf::typed_actor<
  // Write the batch; answers once the transaction holding it committed.
  caf::replies_to<atom::store, store_batch_ptr>::with<store_result>,
  // Internal: write everything queued since the last transaction.
  caf::reacts_to<caf::flush_atom>,
  // Periodic upkeep: create the coming days' partitions, drop the ones past retention.
  caf::reacts_to<atom::maintain>>;

/// PARTITION: owns one assigned topic-partition of one pipeline. Decodes polled batches into
/// rows; in the store pipeline hands them to STORE in offset order (merging what queued up
/// meanwhile, retrying failures with back-off), in the processing pipeline to its PROCESSOR;
/// reports offsets to the consumer's offset_sink once their effects are durable.
using partition_actor = caf::typed_actor<
  // A polled batch (the consumer bounds how many are in flight per partition).
  caf::reacts_to<atom::batch, consumed_batch_ptr>,
  // Retry the failed store request with this attempt number.
  caf::reacts_to<atom::retry, uint64_t>,
  // Bookkeeping snapshot.
  caf::replies_to<atom::status>::with<partition_status>>;

/// SHARD: supervisor of the partition actors of this process. Routes batches to the actor of
/// their partition (spawning it on first use), restarts a crashed one after asking the consumer
/// to rewind to the last durable offset, and stops actors of revoked partitions.
using shard_actor = caf::typed_actor<
  // A polled batch for one of the assigned partitions.
  caf::reacts_to<atom::batch, consumed_batch_ptr>,
  // The partition left this process (rebalance): stop its actor.
  caf::reacts_to<atom::revoke, topic_partition>,
  // Internal: respawn the actor of a partition after its back-off.
  caf::reacts_to<atom::restart, topic_partition>,
  // The partitions that currently have an actor.
  caf::replies_to<atom::status>::with<std::vector<topic_partition>>>;

/// PROCESSOR: one per partition number (the three topics' partition p share it: keyed by
/// service, all of a service's data lands there). Splits durable rows by service, hands each
/// service's rows to its AGGREGATOR and answers once all of them applied their effects, so the
/// partition reports the offset only after. A crashed aggregator takes it down: its SHARD then
/// restarts the whole partition group from the durable offsets with a warm-up replay.
using processor_actor = caf::typed_actor<
  // Rows that are durable in Postgres (warm-up: replayed to rebuild state only). Answers the
  // number of rows applied.
  caf::replies_to<atom::observe, store_batch_ptr, bool>::with<uint64_t>,
  // The services that have an aggregator here.
  caf::replies_to<atom::status>::with<std::vector<std::string>>>;

/// AGGREGATOR: one per service; supervises its WINDOW, RULE and INCIDENT actors (restarting a
/// crashed one: a window refills, a rule takes over its open incident's state, an incident
/// reloads from Postgres). Routes window reports to rule actors and alert changes to incidents.
using aggregator_actor = caf::typed_actor<
  caf::replies_to<atom::observe, service_batch_ptr>::with<uint64_t>,
  // Processing time passed: absence, keep_firing_for and event-match expiry (1 s timer, off
  // the data path).
  caf::reacts_to<caf::tick_atom>,
  // Children by name, e.g. "window:metric", "rule:high-error-rate|{}", "incident:<fp>".
  caf::replies_to<atom::status>::with<std::vector<std::string>>>;

/// WINDOW: one per (service, signal). Event-time windows and the aggregate buckets; answers an
/// update with the input of every rule it feeds and the buckets it changed (the aggregator
/// persists them while the rules evaluate).
using window_actor = caf::typed_actor<
  caf::replies_to<atom::observe, service_batch_ptr>::with<window_report>>;

/// RULE: one per (rule, service[, group]). Holds the rule's alert state.
using rule_actor = caf::typed_actor<
  caf::replies_to<atom::evaluate, rule_input>::with<alert_change>,
  // Processing time (Unix ms) passed without input.
  caf::replies_to<atom::advance, int64_t>::with<alert_change>,
  // The service sent data at this processing time (absence rules).
  caf::replies_to<atom::seen, int64_t>::with<alert_change>>;

/// INCIDENT: one per fingerprint (rule + service + group). Holds the state machine; answers an
/// alert once its transitions are committed in Postgres.
using incident_actor = caf::typed_actor<
  caf::replies_to<atom::alert, alert>::with<incident_status>,
  // A user's action (acknowledge, resolve, note): answers true once its transition is
  // committed (or was already, for a replayed command), false when refused (the refusal is
  // recorded in the commands row).
  caf::replies_to<atom::command, incident_command>::with<bool>,
  // Internal: write a repeat that was held back (repeats are written at most once a second).
  caf::reacts_to<caf::flush_atom>,
  caf::replies_to<atom::status>::with<incident_record>>;

/// INCIDENT STORE: the processing tree's Postgres adapter (detached, own connection). Group
/// commit; connection failures are retried with back-off (the data path waits: backpressure),
/// data errors are answered as errors. After a commit it publishes the new timeline entries to
/// rtmon.incidents (the table is the outbox: unpublished entries survive a crash). The UI's live
/// stream reads the committed timeline from Postgres (LISTEN rtmon_stream, system/api), so it
/// sees every process's transitions, not only this one's.
using incident_store_actor = caf::typed_actor<
  caf::replies_to<atom::persist, incident_change>::with<uint32_t>,
  caf::replies_to<atom::load, std::string>::with<std::vector<incident_record>>,
  // A command's status in the commands table: pending, done, rejected ("" if unknown).
  caf::replies_to<atom::command, std::string>::with<std::string>,
  // Refuse a pending command with a reason (nothing else changes).
  caf::replies_to<atom::reject, std::string, std::string>::with<bool>,
  caf::replies_to<atom::aggregate, std::vector<aggregate_row>>::with<uint64_t>,
  caf::reacts_to<caf::flush_atom>,
  // Publish what is unpublished: after commits (false) and from a periodic timer (true).
  caf::reacts_to<atom::publish, bool>,
  // The producer's verdict on a publish (true: acknowledged by Kafka).
  caf::reacts_to<atom::published, std::vector<unpublished_entry>, bool>>;

/// OUTBOX: the notification outbox's Postgres adapter (detached, own connection). Rows are
/// claimed with a lease (FOR UPDATE SKIP LOCKED: several hub processes share the outbox).
using outbox_actor = caf::typed_actor<
  // Claim up to n due rows for a lease of so many seconds (muted ones come back with `mute`).
  caf::replies_to<atom::claim, uint32_t, int>::with<std::vector<notification>>,
  // Record attempts (or, if not attempted, just give the rows back) and schedule their rows, in
  // one transaction (a grouped message's members): next_attempt_ms > 0 = pending again then;
  // 0 = finished (delivered, failed or muted).
  caf::replies_to<atom::record, std::vector<delivery_attempt>, int64_t>::with<bool>,
  // Insert the re-notifications that are due; answers how many.
  caf::replies_to<atom::renotify>::with<uint32_t>,
  // Reserve the next slot of a channel (interval ms, burst, longest wait ms) on the schedule all
  // hub processes share; answers the wait in ms before sending (a longer one takes no slot).
  caf::replies_to<atom::pace, std::string, int64_t, int32_t, int64_t>::with<int64_t>,
  // The channel's receiver asked for a pause of so many ms (interval ms, burst): no process
  // sends to it before.
  caf::reacts_to<atom::hold, std::string, int64_t, int64_t, int32_t>>;

/// NOTIFIER: one per channel kind. Keeps each destination's rate limit (token bucket) and
/// Retry-After hold, queues what must wait, and hands attempts to its SENDERs, each after its
/// slot on the destination's schedule shared by all hub processes (OUTBOX, atom::pace).
using notifier_actor = caf::typed_actor<
  caf::replies_to<atom::deliver, notification>::with<delivery_attempt>,
  // Internal: a destination may send again.
  caf::reacts_to<atom::wake, std::string>,
  // Internal: the shared slot of a held-back attempt (by id) has come.
  caf::reacts_to<atom::pace, uint64_t>>;

/// SENDER: one blocking delivery attempt at a time (detached; libcurl).
using sender_actor = caf::typed_actor<
  caf::replies_to<atom::deliver, notification>::with<delivery_attempt>>;

/// DISPATCHER: the notifier supervisor. Claims due outbox rows (woken by LISTEN/NOTIFY, and a
/// 1 s timer), hands them to the NOTIFIER of their kind, records each attempt and schedules the
/// retry (exponential back-off with jitter, Retry-After honoured); sweeps re-notifications.
using dispatcher_actor = caf::typed_actor<
  caf::reacts_to<atom::wake>,
  caf::reacts_to<caf::tick_atom>,
  caf::reacts_to<atom::renotify>,
  // Notifications being delivered now.
  caf::replies_to<atom::status>::with<uint32_t>>;

// clang-format on

}  // namespace rtmon
