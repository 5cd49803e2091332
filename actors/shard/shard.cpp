#include "actors/shard/shard.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/partition/partition.hpp"

namespace rtmon {

namespace {

using self_ptr = shard_actor::stateful_pointer<shard_state>;

partition_actor spawn_child(self_ptr self, const topic_partition& tp) {
  auto& st = self->state;
  auto child =
      self->spawn<caf::monitored>(partition, tp, st.stores[store_index(tp, st.stores.size())],
                                  st.offsets, st.max_rows_per_request);
  st.children[tp].handle = child;
  st.by_addr[child.address()] = tp;
  return child;
}

}  // namespace

namespace {
constexpr int max_restarts = 10;
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
                                 offset_sink_ptr offsets, size_t max_rows_per_request) {
  auto& st = self->state;
  st.stores = std::move(stores);
  st.offsets = std::move(offsets);
  st.max_rows_per_request = max_rows_per_request;
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.by_addr.find(dm.source);
    if (i == st.by_addr.end()) return;
    auto tp = i->second;
    st.by_addr.erase(i);
    auto c = st.children.find(tp);
    // Revoked children were forgotten already; a re-assigned partition may have a new child.
    if (c == st.children.end() || !c->second.handle || c->second.handle.address() != dm.source)
      return;
    if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown) {
      st.children.erase(c);
      return;
    }
    // A crash loses the batches in the child's mailbox: drop what is still on its way (the
    // consumer pauses the partition once its in-flight budget is used up) and, after the
    // back-off, ask the consumer to re-deliver from the last durable offset. A partition that
    // keeps crashing takes the shard down: the guardian then stops the process (fail fast).
    auto& child = c->second;
    child.handle = nullptr;
    child.stale_up_to = child.last_generation;
    if (++child.restarts > max_restarts) {
      spdlog::critical("shard: partition actor {} crashed {} times; giving up", to_string(tp),
                       child.restarts);
      self->quit(dm.reason);
      return;
    }
    spdlog::error("shard: partition actor {} crashed ({}); restart #{} after back-off",
                  to_string(tp), self->system().render(dm.reason), child.restarts);
    self->delayed_send(self, restart_backoff(child.restarts), atom::restart_v, tp);
  });
  // Orderly shutdown: take the children down with the shard.
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& kv : self->state.children)
      if (kv.second.handle) self->send_exit(kv.second.handle, em.reason);
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
