#include "actors/partition/partition.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

namespace rtmon {

namespace {

using self_ptr = partition_actor::stateful_pointer<partition_actor_state>;

// Generous: a store request waits behind other partitions' group commits.
constexpr auto store_timeout = std::chrono::seconds{60};

void send_store(self_ptr self) {
  auto& st = self->state;
  auto batch = st.logic.inflight();
  auto attempt = st.logic.attempt();
  self->request(st.store, store_timeout, atom::store_v, batch)
      .then(
          [=](const store_result& r) {
            auto& st = self->state;
            if (st.logic.inflight() != batch || st.logic.attempt() != attempt)
              return;  // a reply to an attempt that was already given up on
            auto mark = st.logic.store_succeeded(r);
            if (st.offsets)
              st.offsets->durable(st.tp, mark.generation, mark.next_offset, mark.batches);
            if (st.logic.begin_store()) send_store(self);
          },
          [=](caf::error& err) {
            auto& st = self->state;
            if (st.logic.inflight() != batch || st.logic.attempt() != attempt) return;
            auto delay = st.logic.store_failed();
            spdlog::warn("partition {}: store failed (attempt {}): {}; retrying in {} ms",
                         to_string(st.tp), st.logic.attempt(), self->system().render(err),
                         delay.count());
            self->delayed_send(self, delay, atom::retry_v, st.logic.attempt());
          });
}

}  // namespace

partition_actor::behavior_type partition(self_ptr self, topic_partition tp, store_actor store,
                                         offset_sink_ptr offsets, size_t max_rows_per_request) {
  auto& st = self->state;
  st.logic = partition_state{max_rows_per_request};
  st.tp = std::move(tp);
  st.store = std::move(store);
  st.offsets = std::move(offsets);
  return {
      [=](atom::batch, const consumed_batch_ptr& batch) {
        auto& st = self->state;
        if (!st.logic.enqueue(batch) && st.offsets)
          // Nothing new in it: release its credit without moving the offset (-1: no offset).
          st.offsets->durable(st.tp, batch->generation, -1, 1);
        if (st.logic.begin_store()) send_store(self);
      },
      [=](atom::retry, uint64_t attempt) {
        auto& st = self->state;
        if (st.logic.busy() && st.logic.attempt() == attempt) send_store(self);
      },
      [=](atom::status) { return self->state.logic.status(); },
  };
}

}  // namespace rtmon
