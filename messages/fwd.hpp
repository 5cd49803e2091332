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
using batch = caf::atom_constant<caf::atom("batch")>;        // a polled Kafka batch
using store = caf::atom_constant<caf::atom("store")>;        // persist rows
using stored = caf::atom_constant<caf::atom("stored")>;      // a store request finished
using retry = caf::atom_constant<caf::atom("retry")>;        // retry a failed store request
using restart = caf::atom_constant<caf::atom("restart")>;    // supervisor: restart a child
using revoke = caf::atom_constant<caf::atom("revoke")>;      // a partition left this process
using status = caf::atom_constant<caf::atom("status")>;      // introspection for tests/metrics
using maintain = caf::atom_constant<caf::atom("maintain")>;  // periodic partition upkeep
constexpr batch batch_v{};
constexpr store store_v{};
constexpr stored stored_v{};
constexpr retry retry_v{};
constexpr restart restart_v{};
constexpr revoke revoke_v{};
constexpr status status_v{};
constexpr maintain maintain_v{};
}  // namespace atom

}  // namespace rtmon
