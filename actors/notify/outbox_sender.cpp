// OUTBOX and SENDER: the two blocking adapters of the notification tree.
#include <chrono>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <pqxx/except>

#include "actors/notify/notify_actors.hpp"

namespace rtmon {

namespace {

// One try; a lost connection is reset by the store and reported, so the dispatcher retries on
// its next tick (claimed rows stay leased and come due again if their record never lands).
template <class F>
auto once(outbox_state& st, const char* what, F f) -> caf::result<decltype(f())> {
  try {
    return f();
  } catch (const std::exception& e) {
    spdlog::warn("outbox: {}: {}", what, e.what());
    st.db->reset();
    return caf::make_error(caf::sec::runtime_error, std::string{what} + ": " + e.what());
  }
}

}  // namespace

outbox_actor::behavior_type outbox(outbox_actor::stateful_pointer<outbox_state> self,
                                   std::shared_ptr<pg::outbox_store> db) {
  self->state.db = std::move(db);
  return {
      [=](atom::claim, uint32_t n, int lease_s) -> caf::result<std::vector<notification>> {
        return once(self->state, "claiming", [&] { return self->state.db->claim(n, lease_s); });
      },
      [=](atom::record, const std::vector<delivery_attempt>& attempts,
          int64_t next) -> caf::result<bool> {
        return once(self->state, "recording attempts", [&] {
          self->state.db->record(attempts, next);
          return true;
        });
      },
      [=](atom::renotify) -> caf::result<uint32_t> {
        return once(self->state, "re-notifying",
                    [&] { return static_cast<uint32_t>(self->state.db->renotify()); });
      },
      [=](atom::pace, const std::string& channel, int64_t interval_ms, int32_t burst,
          int64_t max_wait_ms) -> caf::result<int64_t> {
        return once(self->state, "reserving a slot", [&] {
          return self->state.db->reserve_slot(channel, interval_ms, burst, max_wait_ms);
        });
      },
      [=](atom::hold, const std::string& channel, int64_t for_ms, int64_t interval_ms,
          int32_t burst) {
        try {
          self->state.db->hold_slots(channel, for_ms, interval_ms, burst);
        } catch (const std::exception& e) {
          // The local hold still applies; other processes learn it from their own 429.
          spdlog::warn("outbox: holding {}: {}", channel, e.what());
          self->state.db->reset();
        }
      },
  };
}

sender_actor::behavior_type sender(sender_actor::stateful_pointer<sender_state> self,
                                   notify::routing_source_ptr routing, send_fn send) {
  self->state.routing = std::move(routing);
  self->state.send = std::move(send);
  return {
      [=](atom::deliver, const notification& n) {
        // The snapshot keeps `ch` alive through the attempt, whatever a reload does.
        auto routing = self->state.routing->current();
        const auto* ch = routing->find(n.channel);
        if (!ch) {
          delivery_attempt a;
          a.notification_id = n.id;
          a.attempt = n.attempt;
          a.started_ms = wall_ms();
          a.outcome = delivery_outcome::failed;
          a.error = "channel '" + n.channel + "' is not configured here";
          return a;
        }
        auto a = self->state.send(*ch, n);
        a.notification_id = n.id;
        a.attempt = n.attempt;
        return a;
      },
  };
}

}  // namespace rtmon
