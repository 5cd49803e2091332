#include "actors/shard/shard.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/partition/partition.hpp"
#include "actors/processor/processor.hpp"

namespace rtmon {

namespace {

using self_ptr = shard_actor::stateful_pointer<shard_state>;

constexpr int max_restarts = 10;

processor_actor processor_of(self_ptr self, int32_t p) {
  auto& st = self->state;
  if (!st.processing) return {};
  auto& g = st.groups[p];
  if (!g.processor) {
    const auto& s = *st.processing;
    g.processor = self->spawn<caf::monitored>(processor, p, s.rules, s.store, s.opts, s.metrics);
    st.processors[g.processor.address()] = p;
  }
  return g.processor;
}

partition_actor spawn_child(self_ptr self, const topic_partition& tp) {
  auto& st = self->state;
  auto store = st.stores.empty() ? store_actor{} : st.stores[store_index(tp, st.stores.size())];
  auto child = self->spawn<caf::monitored>(
      partition, tp, store, st.offsets, st.max_rows_per_request, processor_of(self, tp.partition));
  st.children[tp].handle = child;
  st.by_addr[child.address()] = tp;
  return child;
}

// A crash in partition group p loses state that sits past the durable offsets (batches in a
// mailbox, windows fed by rows whose offsets are not reported yet): stop the whole group and,
// after the back-off, re-read every partition of it from its durable offset, with a warm-up
// replay that rebuilds the processor's windows. A group that keeps crashing takes the shard
// down: the guardian then stops the process (fail fast).
void restart_group(self_ptr self, int32_t p, const caf::error& reason) {
  auto& st = self->state;
  auto& g = st.groups[p];
  if (g.processor) {
    st.processors.erase(g.processor.address());
    self->send_exit(g.processor, caf::exit_reason::kill);
    g.processor = nullptr;
  }
  std::vector<topic_partition> tps;
  for (auto& [tp, child] : st.children) {
    if (tp.partition != p) continue;
    tps.push_back(tp);
    if (child.handle) {
      st.by_addr.erase(child.handle.address());
      self->send_exit(child.handle, caf::exit_reason::kill);
      child.handle = nullptr;
    }
    child.stale_up_to = child.last_generation;
  }
  if (++g.restarts > max_restarts) {
    spdlog::critical("shard: partition group {} crashed {} times; giving up", p, g.restarts);
    self->quit(reason);
    return;
  }
  spdlog::error("shard: partition group {} crashed ({}); restart #{} after back-off", p,
                self->system().render(reason), g.restarts);
  for (const auto& tp : tps)
    self->delayed_send(self, restart_backoff(g.restarts), atom::restart_v, tp);
}

}  // namespace

caf::timespan restart_backoff(int restarts) {
  auto ms = std::min<int64_t>(10000, 100ll << std::min(std::max(restarts - 1, 0), 7));
  return std::chrono::milliseconds{ms};
}

size_t store_index(const topic_partition& tp, size_t writers) {
  // Partition p of the three topics goes to different writers, so one busy topic still uses
  // every writer.
  size_t topic_salt = std::hash<std::string>{}(tp.topic);
  return (static_cast<size_t>(tp.partition) + topic_salt) % writers;
}

shard_actor::behavior_type shard(self_ptr self, std::vector<store_actor> stores,
                                 offset_sink_ptr offsets, size_t max_rows_per_request,
                                 processing_setup_ptr processing) {
  auto& st = self->state;
  st.stores = std::move(stores);
  st.offsets = std::move(offsets);
  st.max_rows_per_request = max_rows_per_request;
  st.processing = std::move(processing);
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    bool crashed = dm.reason && dm.reason != caf::exit_reason::user_shutdown;
    if (auto i = st.processors.find(dm.source); i != st.processors.end()) {
      auto p = i->second;
      st.processors.erase(i);
      st.groups[p].processor = nullptr;
      if (crashed) restart_group(self, p, dm.reason);
      return;
    }
    auto i = st.by_addr.find(dm.source);
    if (i == st.by_addr.end()) return;  // forgotten: revoked, or stopped by a group restart
    auto tp = i->second;
    st.by_addr.erase(i);
    auto c = st.children.find(tp);
    if (c == st.children.end() || !c->second.handle || c->second.handle.address() != dm.source)
      return;
    if (!crashed) {
      st.children.erase(c);
      return;
    }
    c->second.handle = nullptr;
    restart_group(self, tp.partition, dm.reason);
  });
  // Orderly shutdown: take the children down with the shard.
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& kv : self->state.children)
      if (kv.second.handle) self->send_exit(kv.second.handle, em.reason);
    for (auto& kv : self->state.groups)
      if (kv.second.processor) self->send_exit(kv.second.processor, em.reason);
    self->quit(em.reason);
  });
  return {
      [=](atom::batch, const consumed_batch_ptr& batch) {
        auto& st = self->state;
        auto& child = st.children[batch->tp];
        if (batch->generation <= child.stale_up_to)
          return;  // polled before the rewind the crash asked for: it will come again
        child.last_generation = std::max(child.last_generation, batch->generation);
        auto handle = child.handle ? child.handle : spawn_child(self, batch->tp);
        self->send(handle, atom::batch_v, batch);
      },
      [=](atom::revoke, const topic_partition& tp) {
        auto& st = self->state;
        auto c = st.children.find(tp);
        if (c == st.children.end()) return;
        // The consumer drained this partition's batches before revoking it: the child is idle.
        if (c->second.handle) self->send_exit(c->second.handle, caf::exit_reason::user_shutdown);
        st.children.erase(c);
        // The last partition of the group gone: its processor goes too (the new owner loads
        // the open incidents from Postgres).
        for (const auto& kv : st.children)
          if (kv.first.partition == tp.partition) return;
        if (auto g = st.groups.find(tp.partition); g != st.groups.end()) {
          if (g->second.processor) {
            st.processors.erase(g->second.processor.address());
            self->send_exit(g->second.processor, caf::exit_reason::user_shutdown);
          }
          st.groups.erase(g);
        }
      },
      [=](atom::restart, const topic_partition& tp) {
        auto& st = self->state;
        auto c = st.children.find(tp);
        if (c == st.children.end() || c->second.handle) return;
        // Rewind first: batches of the old generation are dropped, the new ones go to the
        // new child.
        if (st.offsets) st.offsets->rewind(tp);
        spawn_child(self, tp);
      },
      [=](atom::status) {
        std::vector<topic_partition> out;
        for (const auto& kv : self->state.children)
          if (kv.second.handle) out.push_back(kv.first);
        return out;
      },
  };
}

}  // namespace rtmon
