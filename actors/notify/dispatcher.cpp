// DISPATCHER: claims due outbox rows and sees each attempt through to its record.
#include <chrono>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/notify/grouping.hpp"
#include "actors/notify/notify_actors.hpp"

namespace rtmon {

namespace {

using self_ptr = dispatcher_actor::stateful_pointer<dispatcher_state>;

void claim(self_ptr self);

notifier_actor notifier_of(self_ptr self, channel_kind k) {
  auto& st = self->state;
  if (auto i = st.notifiers.find(k); i != st.notifiers.end()) return i->second;
  auto n = self->spawn<caf::monitored>(notifier, st.routing, st.opts.senders_per_kind, st.send,
                                       st.metrics, st.db);
  st.notifiers[k] = n;
  return n;
}

// `rows` claimed rows are done with (recorded or not).
void finished(self_ptr self, size_t rows) {
  auto& st = self->state;
  st.inflight -= static_cast<uint32_t>(rows);
  if (st.again) claim(self);
}

void record(self_ptr self, std::vector<delivery_attempt> attempts, int64_t next) {
  auto rows = attempts.size();
  self->request(self->state.db, caf::infinite, atom::record_v, std::move(attempts), next)
      .then([=](bool) { finished(self, rows); },
            [=](caf::error&) {
              // Not recorded: the rows stay claimed until their lease ends, then come due again
              // (an attempt that was delivered may then be repeated - counted as ambiguous).
              finished(self, rows);
            });
}

// The attempt on the message's row and on every grouped mate's (each with its own attempt
// number), recorded together: the members of a group share its fate and its next attempt.
void record_all(self_ptr self, const notification& message, const delivery_attempt& a,
                int64_t next) {
  std::vector<delivery_attempt> each;
  for (const auto* m : members_of(message)) {
    each.push_back(a);
    each.back().notification_id = m->id;
    each.back().attempt = m->attempt;
  }
  record(self, std::move(each), next);
}

void mute(self_ptr self, const notification& n) {
  ++self->state.inflight;
  delivery_attempt a;
  a.notification_id = n.id;
  a.attempt = n.attempt;
  a.started_ms = wall_ms();
  a.outcome = delivery_outcome::muted;
  a.error = n.mute;
  record(self, {a}, 0);
}

void dispatch(self_ptr self, const notification& n) {
  auto& st = self->state;
  st.inflight += static_cast<uint32_t>(1 + n.grouped.size());
  if (!n.grouped.empty() && st.metrics)
    st.metrics
        ->get_counter("rtmon_notifications_grouped_total",
                      "Notifications sent as part of a grouped message (group_wait)",
                      "channel=\"" + n.channel + "\"")
        .inc(1 + n.grouped.size());
  self->request(notifier_of(self, n.kind), caf::infinite, atom::deliver_v, n)
      .then(
          [=](const delivery_attempt& a) {
            auto& st = self->state;
            auto now = wall_ms();
            int64_t next = 0;
            if (!a.attempted) {
              next = now + std::max<int64_t>(a.retry_after_ms, 1);
            } else {
              std::uniform_real_distribution<double> u{0.0, 1.0};
              next = st.opts.retry.next_attempt_ms(a, now, n.created_ms, u(st.rng));
              if (next == 0 && (a.outcome == delivery_outcome::retry ||
                                a.outcome == delivery_outcome::ambiguous))
                spdlog::error("notification {} ({}): giving up after {} attempts: {}", n.id,
                              n.channel, a.attempt, a.error);
            }
            record_all(self, n, a, next);
          },
          [=](caf::error& err) {
            spdlog::warn("notification {} ({}): notifier failed: {}", n.id, n.channel,
                         self->system().render(err));
            finished(self, 1 + n.grouped.size());
          });
}

void claim(self_ptr self) {
  auto& st = self->state;
  if (st.claiming) {
    st.again = true;
    return;
  }
  st.again = false;
  if (st.inflight >= st.opts.max_inflight) {
    st.again = true;  // claim when something finishes
    return;
  }
  st.claiming = true;
  auto room = st.opts.max_inflight - st.inflight;
  self->request(st.db, caf::infinite, atom::claim_v, room, st.opts.lease_s)
      .then(
          [=](const std::vector<notification>& rows) {
            auto& st = self->state;
            st.claiming = false;
            // A full claim means more may be due: go on at once.
            if (rows.size() >= room) st.again = true;
            auto work = group_claimed(rows);
            for (const auto& n : work.muted) mute(self, n);
            for (const auto& n : work.sends) dispatch(self, n);
            if (st.again) claim(self);
          },
          [=](caf::error&) {
            self->state.claiming = false;  // the next tick tries again
          });
}

}  // namespace

dispatcher_actor::behavior_type dispatcher(self_ptr self, notify::routing_source_ptr routing,
                                           std::shared_ptr<pg::outbox_store> db,
                                           dispatcher_options opts, send_fn send,
                                           metrics_registry* metrics) {
  auto& st = self->state;
  st.routing = std::move(routing);
  st.opts = opts;
  st.send = std::move(send);
  st.metrics = metrics;
  st.db = self->spawn<caf::detached + caf::linked>(outbox, std::move(db));
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    for (auto i = st.notifiers.begin(); i != st.notifiers.end(); ++i)
      if (i->second.address() == dm.source) {
        spdlog::error("notifier {} crashed ({}); restarted", to_string(i->first),
                      self->system().render(dm.reason));
        st.notifiers.erase(i);  // respawned on the next notification of its kind
        break;
      }
  });
  self->send(self, caf::tick_atom_v);
  self->delayed_send(self, opts.renotify_every, atom::renotify_v);
  return {
      [=](atom::wake) { claim(self); },
      [=](caf::tick_atom) {
        claim(self);
        self->delayed_send(self, self->state.opts.tick, caf::tick_atom_v);
      },
      [=](atom::renotify) {
        self->request(self->state.db, caf::infinite, atom::renotify_v)
            .then([=](uint32_t) {}, [=](caf::error&) {});
        self->delayed_send(self, self->state.opts.renotify_every, atom::renotify_v);
      },
      [=](atom::status) { return self->state.inflight; },
  };
}

}  // namespace rtmon
