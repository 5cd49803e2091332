// NOTIFIER: paces each destination (token bucket + Retry-After hold) and hands attempts to its
// senders; what would wait longer than a claim lasts goes back to the outbox unattempted. The
// local bucket keeps this process's queue in order; the authority is the destination's slot
// schedule in Postgres (OUTBOX, atom::pace), shared by every hub process, so N processes
// together still send at the channel's rate.
#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/notify/notify_actors.hpp"

namespace rtmon {

namespace {

using self_ptr = notifier_actor::stateful_pointer<notifier_state>;

notifier_state::destination& destination_of(notifier_state& st, const std::string& channel) {
  auto routing = st.routing->current();  // holds `ch` alive
  const auto* ch = routing->find(channel);
  double rate = ch ? ch->rate_per_s : 1;
  int burst = ch ? ch->burst : 1;
  auto i = st.destinations.find(channel);
  if (i == st.destinations.end())
    i = st.destinations
            .emplace(channel, notifier_state::destination{{rate, burst}, rate, burst, {}, false})
            .first;
  else if (i->second.rate != rate || i->second.burst != burst)
    i->second.pace = destination_pace{rate, burst};  // reloaded: the new terms from now on
  i->second.rate = rate;
  i->second.burst = burst;
  return i->second;
}

// The shared schedule's terms (the destination's, as configured): one message every
// `interval` ms, bursts of `burst`.
std::pair<int64_t, int32_t> terms_of(notifier_state& st, const std::string& channel) {
  const auto& d = destination_of(st, channel);
  return {static_cast<int64_t>(std::ceil(1000.0 / d.rate)), d.burst};
}

// An answer for a row this notifier gives back without attempting it, due again after `wait`.
delivery_attempt unattempted(const notification& n, int64_t wait) {
  delivery_attempt a;
  a.notification_id = n.id;
  a.attempt = n.attempt;
  a.attempted = false;
  a.retry_after_ms = wait;
  return a;
}

void pump(self_ptr self);

void send_attempt(self_ptr self, const std::string& channel, notifier_state::waiting w,
                  sender_actor s) {
  self->request(s, caf::infinite, atom::deliver_v, w.n)
      .then(
          [=](const delivery_attempt& a) mutable {
            auto& st = self->state;
            st.idle.push_back(s);
            if (a.retry_after_ms >= 0) {
              destination_of(st, channel).pace.hold(wall_ms() + a.retry_after_ms);
              if (st.outbox) {
                auto [interval, burst] = terms_of(st, channel);
                self->send(st.outbox, atom::hold_v, channel, a.retry_after_ms, interval, burst);
              }
            }
            if (st.metrics)
              st.metrics
                  ->get_counter(
                      "rtmon_notification_attempts_total", "Notification attempts",
                      "channel=\"" + channel + "\",outcome=\"" + to_string(a.outcome) + "\"")
                  .inc();
            w.rp.deliver(a);
            pump(self);
          },
          [=](caf::error& err) mutable {
            // The sender died (it never throws, so this is a crash): the attempt's outcome is
            // unknown; the supervisor gets a new notifier with fresh senders.
            w.rp.deliver(err);
            self->quit(err);
          });
}

// A held attempt's slot has come (or the schedule could not be asked): send it.
void release(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto i = st.held.find(id);
  if (i == st.held.end()) return;
  auto h = std::move(i->second);
  st.held.erase(i);
  send_attempt(self, h.channel, std::move(h.w), h.sender);
}

void attempt(self_ptr self, const std::string& channel, notifier_state::waiting w) {
  auto& st = self->state;
  auto s = st.idle.back();
  st.idle.pop_back();
  if (!st.outbox) {
    send_attempt(self, channel, std::move(w), s);
    return;
  }
  auto id = st.next_held++;
  st.held.emplace(id, notifier_state::held_attempt{channel, std::move(w), s});
  auto [interval, burst] = terms_of(st, channel);
  self->request(st.outbox, std::chrono::seconds{10}, atom::pace_v, channel, interval, burst,
                st.max_wait_ms)
      .then(
          [=](int64_t wait) {
            auto& st = self->state;
            if (wait > st.max_wait_ms) {
              // Longer than a claim may safely wait (other processes keep the destination
              // busy; no slot was taken): the row goes back to the outbox unattempted, due
              // when that slot would have been.
              auto i = st.held.find(id);
              if (i == st.held.end()) return;
              auto h = std::move(i->second);
              st.held.erase(i);
              st.idle.push_back(h.sender);
              h.w.rp.deliver(unattempted(h.w.n, wait));
              pump(self);
            } else if (wait > 0) {
              self->delayed_send(self, std::chrono::milliseconds{wait}, atom::pace_v, id);
            } else {
              release(self, id);
            }
          },
          [=](caf::error& err) {
            // Without the shared schedule this process's own pace still holds.
            spdlog::warn(
                "notifier: no slot for {} from the shared schedule ({}); sending on the "
                "local pace",
                channel, self->system().render(err));
            release(self, id);
          });
}

void pump(self_ptr self) {
  auto& st = self->state;
  auto now = wall_ms();
  for (auto& [channel, d] : st.destinations) {
    while (!d.queue.empty() && !st.idle.empty()) {
      auto ready = d.pace.ready_at(now);
      if (ready > now) {
        if (!d.wake_scheduled) {
          d.wake_scheduled = true;
          self->delayed_send(self, std::chrono::milliseconds{ready - now}, atom::wake_v, channel);
        }
        break;
      }
      d.pace.take(now);
      auto w = std::move(d.queue.front());
      d.queue.pop_front();
      attempt(self, channel, std::move(w));
    }
  }
}

}  // namespace

notifier_actor::behavior_type notifier(self_ptr self, notify::routing_source_ptr routing,
                                       size_t senders, send_fn send, metrics_registry* metrics,
                                       outbox_actor outbox) {
  auto& st = self->state;
  st.routing = std::move(routing);
  st.outbox = std::move(outbox);
  st.send = std::move(send);
  st.metrics = metrics;
  st.senders = senders;
  for (size_t i = 0; i < senders; ++i)
    st.idle.push_back(self->spawn<caf::detached + caf::linked>(sender, st.routing, st.send));
  return {
      [=](atom::deliver, const notification& n) -> caf::result<delivery_attempt> {
        auto& st = self->state;
        auto& d = destination_of(st, n.channel);
        auto now = wall_ms();
        // The wait ahead: this destination's pace plus everything already queued for it.
        auto wait = d.pace.ready_at(now) - now +
                    static_cast<int64_t>(static_cast<double>(d.queue.size()) * 1000.0 / d.rate);
        if (wait > st.max_wait_ms) return unattempted(n, wait);
        auto rp = self->make_response_promise<delivery_attempt>();
        d.queue.push_back({n, rp});
        pump(self);
        return rp;
      },
      [=](atom::wake, const std::string& channel) {
        destination_of(self->state, channel).wake_scheduled = false;
        pump(self);
      },
      [=](atom::pace, uint64_t id) { release(self, id); },
  };
}

}  // namespace rtmon
