#include "actors/store/store.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

namespace rtmon {

namespace {

using self_ptr = store_actor::stateful_pointer<store_state>;

// Writes everything that queued up while the previous transaction ran, in one transaction.
void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto pending = std::move(st.pending);
  st.pending.clear();
  if (pending.empty()) return;
  std::vector<store_batch_ptr> batches;
  batches.reserve(pending.size());
  for (auto& p : pending) batches.push_back(p.first);
  auto start = std::chrono::steady_clock::now();
  try {
    auto stats = st.writer->write(batches);
    if (st.metrics) {
      static auto& inserted = st.metrics->get_counter(
          "rtmon_store_rows_total", "Rows handed to the store", "outcome=\"inserted\"");
      static auto& dup = st.metrics->get_counter(
          "rtmon_store_rows_total", "Rows handed to the store", "outcome=\"duplicate\"");
      static auto& dead = st.metrics->get_counter(
          "rtmon_store_rows_total", "Rows handed to the store", "outcome=\"dead_letter\"");
      static auto& commit = st.metrics->get_histogram("rtmon_store_commit_seconds",
                                                      "Duration of one store transaction");
      inserted.inc(stats.inserted);
      dup.inc(stats.staged - stats.inserted);
      dead.inc(stats.dead);
      commit.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    for (auto& p : pending) p.second.deliver(store_result{p.first->rows()});
  } catch (const std::exception& e) {
    spdlog::warn("store: transaction of {} requests failed: {}", pending.size(), e.what());
    if (st.metrics)
      st.metrics->get_counter("rtmon_store_failures_total", "Failed store transactions").inc();
    for (auto& p : pending)
      p.second.deliver(caf::make_error(caf::sec::runtime_error, std::string{e.what()}));
  }
}

}  // namespace

store_actor::behavior_type store(self_ptr self, std::shared_ptr<pg::writer> writer,
                                 metrics_registry* metrics, bool upkeep) {
  auto& st = self->state;
  // Only this actor's thread uses the writer once spawned.
  st.writer = std::move(writer);
  st.metrics = metrics;
  if (upkeep) self->delayed_send(self, st.maintain_every, atom::maintain_v);
  return {
      [=](atom::store, const store_batch_ptr& batch) -> caf::result<store_result> {
        auto& st = self->state;
        auto rp = self->make_response_promise<store_result>();
        st.pending.emplace_back(batch, rp);
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          // Lands behind the requests already in the mailbox: they join this transaction.
          self->send(self, caf::flush_atom_v);
        }
        return rp;
      },
      [=](caf::flush_atom) { flush(self); },
      [=](atom::maintain) {
        try {
          self->state.writer->maintain();
        } catch (const std::exception& e) {
          spdlog::warn("store: partition maintenance failed: {}", e.what());
          self->state.writer->reset();
        }
        self->delayed_send(self, self->state.maintain_every, atom::maintain_v);
      },
  };
}

}  // namespace rtmon
