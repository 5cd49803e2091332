// The vocabulary of rtmon's actors: atoms and forward declarations. Every message type and every
// typed interface lives under messages/, so the system's contracts read on a few screens.
#pragma once

#include <memory>

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

namespace rtmon {

struct consumed_batch;
struct store_batch;
struct topic_partition;

/// Zero-copy payloads. They never cross a process boundary, so they are whitelisted with
/// CAF_ALLOW_UNSAFE_MESSAGE_TYPE in messages/batches.hpp instead of being serialized.
using consumed_batch_ptr = std::shared_ptr<const consumed_batch>;
using store_batch_ptr = std::shared_ptr<const store_batch>;

/// Project atoms (text at most 10 characters, caf-0.17.md §3). CAF's own atoms are reused where
/// their meaning fits (caf::flush_atom, caf::get_atom, caf::tick_atom).
namespace atom {
using batch = caf::atom_constant<caf::atom("batch")>;          // a polled Kafka batch
using store = caf::atom_constant<caf::atom("store")>;          // persist rows
using stored = caf::atom_constant<caf::atom("stored")>;        // a store request finished
using retry = caf::atom_constant<caf::atom("retry")>;          // retry a failed store request
using restart = caf::atom_constant<caf::atom("restart")>;      // supervisor: restart a child
using revoke = caf::atom_constant<caf::atom("revoke")>;        // a partition left this process
using status = caf::atom_constant<caf::atom("status")>;        // introspection for tests/metrics
using maintain = caf::atom_constant<caf::atom("maintain")>;    // periodic partition upkeep
using observe = caf::atom_constant<caf::atom("observe")>;      // durable rows to process
using evaluate = caf::atom_constant<caf::atom("evaluate")>;    // a rule input
using advance = caf::atom_constant<caf::atom("advance")>;      // processing time passed
using seen = caf::atom_constant<caf::atom("seen")>;            // a service sent data
using alert = caf::atom_constant<caf::atom("alert")>;          // an alert change for an incident
using persist = caf::atom_constant<caf::atom("persist")>;      // write an incident change
using load = caf::atom_constant<caf::atom("load")>;            // read open incidents
using aggregate = caf::atom_constant<caf::atom("aggregate")>;  // upsert aggregate buckets
using publish = caf::atom_constant<caf::atom("publish")>;      // publish / broadcast
using published = caf::atom_constant<caf::atom("published")>;  // Kafka acknowledged a publish
using command = caf::atom_constant<caf::atom("command")>;      // an incident action
using reject = caf::atom_constant<caf::atom("reject")>;        // refuse a command
using claim = caf::atom_constant<caf::atom("claim")>;          // take due outbox rows
using deliver = caf::atom_constant<caf::atom("deliver")>;      // deliver a notification
using record = caf::atom_constant<caf::atom("record")>;        // record a delivery attempt
using wake = caf::atom_constant<caf::atom("wake")>;            // new work may be waiting
using renotify = caf::atom_constant<caf::atom("renotify")>;    // re-notification sweep
using pace = caf::atom_constant<caf::atom("pace")>;            // reserve a destination's slot
using hold = caf::atom_constant<caf::atom("hold")>;            // a destination asked for a pause
constexpr batch batch_v{};
constexpr store store_v{};
constexpr stored stored_v{};
constexpr retry retry_v{};
constexpr restart restart_v{};
constexpr revoke revoke_v{};
constexpr status status_v{};
constexpr maintain maintain_v{};
constexpr observe observe_v{};
constexpr evaluate evaluate_v{};
constexpr advance advance_v{};
constexpr seen seen_v{};
constexpr alert alert_v{};
constexpr persist persist_v{};
constexpr load load_v{};
constexpr aggregate aggregate_v{};
constexpr publish publish_v{};
constexpr published published_v{};
constexpr command command_v{};
constexpr reject reject_v{};
constexpr claim claim_v{};
constexpr deliver deliver_v{};
constexpr record record_v{};
constexpr wake wake_v{};
constexpr renotify renotify_v{};
constexpr pace pace_v{};
constexpr hold hold_v{};
}  // namespace atom

}  // namespace rtmon
