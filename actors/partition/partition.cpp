#include "actors/partition/partition.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

namespace rtmon {

namespace {

using self_ptr = partition_actor::stateful_pointer<partition_actor_state>;

// Generous: a store request waits behind other partitions' group commits.
constexpr auto store_timeout = std::chrono::seconds{60};

void report(partition_actor_state& st, const partition_state::durable_mark& mark) {
  if (st.offsets) st.offsets->durable(st.tp, mark.generation, mark.next_offset, mark.batches);
}

// Offsets are reported in order, each once its rows' effects are applied.
void effects_done(self_ptr self, uint64_t id) {
  auto& st = self->state;
  for (auto& a : st.awaiting)
    if (a.id == id) a.done = true;
  while (!st.awaiting.empty() && st.awaiting.front().done) {
    report(st, st.awaiting.front().mark);
    st.awaiting.pop_front();
  }
}

void observe(self_ptr self, const store_batch_ptr& rows, bool warmup, uint64_t id) {
  self->request(self->state.processor, caf::infinite, atom::observe_v, rows, warmup)
      .then(
          [=](uint64_t) {
            if (!warmup) effects_done(self, id);
          },
          [=](caf::error& err) {
            // The processor died: its shard restarts the whole partition group, and this actor
            // goes with it (its rows are re-read from the durable offset).
            self->quit(err);
          });
}

void send_store(self_ptr self);

void stored(self_ptr self, const store_batch_ptr& batch, const store_result& r) {
  auto& st = self->state;
  auto mark = st.logic.store_succeeded(r);
  if (!st.processor) {
    report(st, mark);
  } else {
    // The rows are durable; the offset waits until their effects (aggregates, incidents) are.
    auto id = st.next_id++;
    st.awaiting.push_back({id, mark, false});
    observe(self, batch, false, id);
  }
  if (st.logic.begin_store()) send_store(self);
}

void send_store(self_ptr self) {
  auto& st = self->state;
  auto batch = st.logic.inflight();
  if (auto warm = st.logic.take_warm(); warm && st.processor)
    observe(self, warm, true, 0);  // sent before the live rows: applied before them
  // Nothing to write: warm-up records only, or the processing pipeline, whose raw rows the
  // store pipeline writes (its own consumer group). The batch goes straight to the processor.
  if (batch->rows() == 0 || !st.store) {
    stored(self, batch, store_result{});
    return;
  }
  auto attempt = st.logic.attempt();
  self->request(st.store, store_timeout, atom::store_v, batch)
      .then(
          [=](const store_result& r) {
            auto& st = self->state;
            if (st.logic.inflight() != batch || st.logic.attempt() != attempt)
              return;  // a reply to an attempt that was already given up on
            stored(self, batch, r);
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
                                         offset_sink_ptr offsets, size_t max_rows_per_request,
                                         processor_actor processor) {
  auto& st = self->state;
  st.logic = partition_state{max_rows_per_request};
  st.tp = std::move(tp);
  st.store = std::move(store);
  st.offsets = std::move(offsets);
  st.processor = std::move(processor);
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
