#include "actors/store/store.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <pqxx/except>

namespace rtmon {

namespace {

using self_ptr = store_actor::stateful_pointer<store_state>;

using pending_list =
    std::vector<std::pair<store_batch_ptr, caf::typed_response_promise<store_result>>>;

void count(store_state& st, const pg::write_stats& stats, double seconds) {
  if (!st.metrics) return;
  auto& m = *st.metrics;
  const char* help = "Rows handed to the store";
  m.get_counter("rtmon_store_rows_total", help, "outcome=\"inserted\"").inc(stats.inserted);
  m.get_counter("rtmon_store_rows_total", help, "outcome=\"duplicate\"")
      .inc(stats.staged - stats.inserted);
  m.get_counter("rtmon_store_rows_total", help, "outcome=\"dead_letter\"").inc(stats.dead);
  m.get_counter("rtmon_store_replayed_batches_total",
                "Direct COPYs that met already stored rows (a replay) and fell back to INSERT")
      .inc(stats.replays);
  m.get_histogram("rtmon_store_commit_seconds", "Duration of one store transaction")
      .observe(seconds);
}

// Writes the requests in one transaction and answers them. Returns the error text, or "" on
// success; `connection_lost` tells whether retrying them one by one could help.
std::string write_group(store_state& st, pending_list& group, bool& connection_lost) {
  std::vector<store_batch_ptr> batches;
  batches.reserve(group.size());
  for (auto& p : group) batches.push_back(p.first);
  auto start = std::chrono::steady_clock::now();
  try {
    auto stats = st.writer->write(batches);
    count(st, stats,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    for (auto& p : group) p.second.deliver(store_result{p.first->rows()});
    return {};
  } catch (const pqxx::broken_connection& e) {
    connection_lost = true;
    return e.what();
  } catch (const std::exception& e) {
    return e.what();
  }
}

void fail(store_state& st, pending_list& group, const std::string& what) {
  if (st.metrics)
    st.metrics->get_counter("rtmon_store_failures_total", "Failed store requests")
        .inc(group.size());
  for (auto& p : group) p.second.deliver(caf::make_error(caf::sec::runtime_error, what));
}

// Writes everything that queued up while the previous transaction ran, in one transaction. If
// the database refuses it for a reason other than a lost connection, each request is retried
// alone, so one bad request cannot hold back the partitions it was grouped with.
void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto pending = std::move(st.pending);
  st.pending.clear();
  if (pending.empty()) return;
  bool connection_lost = false;
  auto what = write_group(st, pending, connection_lost);
  if (what.empty()) return;
  spdlog::warn("store: transaction of {} requests failed: {}", pending.size(), what);
  if (connection_lost || pending.size() == 1) {
    fail(st, pending, what);
    return;
  }
  for (auto& p : pending) {
    pending_list one{p};
    auto why = write_group(st, one, connection_lost);
    if (!why.empty()) fail(st, one, why);
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
