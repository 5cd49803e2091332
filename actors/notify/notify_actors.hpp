// The notification tree: DISPATCHER (the notifier supervisor) -> OUTBOX (Postgres adapter),
// one NOTIFIER per channel kind -> SENDERs (blocking libcurl attempts). Interfaces:
// messages/actors.hpp. Blocking work (Postgres, HTTP, SMTP) runs only in detached actors.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "actors/notify/delivery_policy.hpp"
#include "messages/actors.hpp"
#include "system/metrics.hpp"
#include "system/notify/routing.hpp"
#include "system/pg/outbox_store.hpp"

namespace rtmon {

struct outbox_state {
  std::shared_ptr<pg::outbox_store> db;
  static inline const char* name = "outbox";
};
/// OUTBOX: spawn detached.
outbox_actor::behavior_type outbox(outbox_actor::stateful_pointer<outbox_state> self,
                                   std::shared_ptr<pg::outbox_store> db);

/// How a SENDER makes one attempt: notify::send in production, a fake in actor tests.
using send_fn = std::function<delivery_attempt(const notify::channel&, const notification&)>;

struct sender_state {
  notify::routing_source_ptr routing;
  send_fn send;
  static inline const char* name = "sender";
};
/// SENDER: spawn detached (an attempt blocks for up to the channel's timeout).
sender_actor::behavior_type sender(sender_actor::stateful_pointer<sender_state> self,
                                   notify::routing_source_ptr routing, send_fn send);

struct notifier_state {
  notify::routing_source_ptr routing;
  send_fn send;
  std::vector<sender_actor> idle;  // senders not busy
  size_t senders = 0;
  int64_t max_wait_ms = 60000;  // longer waits go back to the outbox (the claim would lapse)
  struct waiting {
    notification n;
    caf::typed_response_promise<delivery_attempt> rp;
  };
  struct destination {
    destination_pace pace;
    double rate = 0;  // the terms `pace` was made with (a reload may change them)
    int burst = 0;
    std::deque<waiting> queue;
    bool wake_scheduled = false;
  };
  std::map<std::string, destination> destinations;  // by channel name
  // The shared schedule (null: this process's pace only, as in actor tests), and the attempts
  // that hold a sender while they wait for their slot on it.
  outbox_actor outbox;
  struct held_attempt {
    std::string channel;
    waiting w;
    sender_actor sender;
  };
  std::map<uint64_t, held_attempt> held;
  uint64_t next_held = 0;
  metrics_registry* metrics = nullptr;
  static inline const char* name = "notifier";
};
/// NOTIFIER of one channel kind, with `senders` SENDERs of its own; `outbox` keeps the
/// destinations' schedule shared by all hub processes (may be null).
notifier_actor::behavior_type notifier(notifier_actor::stateful_pointer<notifier_state> self,
                                       notify::routing_source_ptr routing, size_t senders,
                                       send_fn send, metrics_registry* metrics,
                                       outbox_actor outbox);

struct dispatcher_options {
  size_t senders_per_kind = 2;
  uint32_t max_inflight = 64;  // rows claimed and not yet recorded
  int lease_s = 300;           // a claim's lease: longer than any wait plus an attempt
  caf::timespan tick = std::chrono::seconds{1};
  caf::timespan renotify_every = std::chrono::seconds{5};
  retry_policy retry;
};

struct dispatcher_state {
  notify::routing_source_ptr routing;
  dispatcher_options opts;
  outbox_actor db;
  send_fn send;
  std::map<channel_kind, notifier_actor> notifiers;
  uint32_t inflight = 0;
  bool claiming = false;
  bool again = false;  // woken while claiming: claim once more after
  std::mt19937_64 rng{std::random_device{}()};
  metrics_registry* metrics = nullptr;
  static inline const char* name = "dispatcher";
};
/// DISPATCHER: the notifier supervisor. Spawns OUTBOX and the NOTIFIERs (restarting a crashed
/// one; its claimed rows come due again when their lease runs out).
dispatcher_actor::behavior_type dispatcher(
    dispatcher_actor::stateful_pointer<dispatcher_state> self, notify::routing_source_ptr routing,
    std::shared_ptr<pg::outbox_store> db, dispatcher_options opts, send_fn send,
    metrics_registry* metrics);

}  // namespace rtmon
