#include "actors/incident/incident_actor.hpp"

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "system/ingest/items.hpp"

namespace rtmon {

namespace json = boost::json;

namespace {

using self_ptr = incident_actor::stateful_pointer<incident_actor_state>;

json::value parse_object(const std::string& text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  return ec || !v.is_object() ? json::value(json::object{}) : v;
}

std::string iso(int64_t ms) {
  return ms == 0 ? std::string{}
                 : ingest::format_timestamp(ingest::sys_time{std::chrono::milliseconds{ms}});
}

void sync_record(incident_actor_state& st) {
  auto& m = *st.machine;
  auto& r = st.record;
  r.status = m.status();
  r.last_value = m.last_value();
  r.breach_count = m.breach_count();
  r.opened_ms = m.opened_ms();
  r.last_seen_ms = m.last_seen_ms();
  r.acknowledged_ms = m.acknowledged_ms();
  r.resolved_ms = m.resolved_ms();
  r.silenced_until_ms = m.silenced_until_ms();
  r.flapping = m.flapping();
  r.last_seq = m.last_seq();
}

}  // namespace

std::string incident_message(const incident_record& r, const incident_transition& t) {
  json::object o;
  o["type"] = "incident.transition";
  o["incident_id"] = r.id;
  o["fingerprint"] = r.fingerprint;
  o["rule"] = r.rule;
  o["service"] = r.service;
  o["severity"] = r.severity;
  o["status"] = to_string(r.status);
  o["summary"] = r.summary;
  o["labels"] = parse_object(r.labels);
  o["group"] = parse_object(r.group);
  o["seq"] = t.seq;
  o["kind"] = t.kind;
  o["from"] = to_string(t.from);
  o["to"] = to_string(t.to);
  o["at"] = iso(t.at_ms);
  o["actor"] = t.actor;
  o["detail"] = t.detail;
  o["value"] = t.value;
  o["notify"] = t.notify;
  o["breach_count"] = r.breach_count;
  o["opened_at"] = iso(r.opened_ms);
  return json::serialize(o);
}

namespace {

void refuse(self_ptr self, const incident_command& c, const std::string& why,
            caf::typed_response_promise<bool> rp) {
  self->request(self->state.store, caf::infinite, atom::reject_v, c.id, why)
      .await([=](bool) mutable { rp.deliver(false); },
             [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

void apply_command(self_ptr self, const incident_command& c, caf::typed_response_promise<bool> rp) {
  auto& st = self->state;
  if (!st.machine || !st.machine->open() || st.record.id != c.incident_id) {
    refuse(self, c, "the incident is not open", rp);
    return;
  }
  auto& m = *st.machine;
  std::vector<incident_transition> ts;
  if (c.action == "acknowledge")
    ts = m.acknowledge(c.actor, c.at_ms);
  else if (c.action == "resolve")
    ts = m.resolve(c.actor, c.at_ms);
  else if (c.action == "note")
    ts = m.note(c.actor, c.text, c.at_ms);
  if (ts.empty()) {
    refuse(self, c, "cannot " + c.action + " an incident that is " + to_string(m.status()), rp);
    return;
  }
  sync_record(st);
  incident_change change;
  for (const auto& t : ts) change.entries.push_back({t, incident_message(st.record, t)});
  change.incident = st.record;
  change.command_id = c.id;
  st.held_back = false;  // the row written now carries any held-back repeat
  self->request(st.store, caf::infinite, atom::persist_v, std::move(change))
      .await([=](uint32_t) mutable { rp.deliver(true); },
             [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

}  // namespace

incident_actor::behavior_type incident(self_ptr self, incident_store_actor store,
                                       incident_identity who, incident_record open,
                                       flapping_policy policy) {
  auto& st = self->state;
  st.store = std::move(store);
  st.who = std::move(who);
  st.policy = policy;
  if (!open.id.empty()) {
    st.machine = std::make_unique<incident_machine>(st.who.fingerprint, policy);
    st.machine->restore(open);
    st.record = std::move(open);
  }
  return {
      [=](atom::alert, const alert& a) -> caf::result<incident_status> {
        auto& st = self->state;
        const auto& ch = a.change;
        if (!st.machine || !st.machine->open()) {
          // Only a breach opens an incident; recoveries for nothing open change nothing.
          if (ch.kind != alert_change::pending && ch.kind != alert_change::firing &&
              ch.kind != alert_change::repeat)
            return st.machine ? st.machine->status() : incident_status::resolved;
          auto history = st.machine ? st.machine->history() : flap_history{};
          st.machine = std::make_unique<incident_machine>(st.who.fingerprint, st.policy, history);
          incident_record r;
          r.id = ingest::new_event_id(ingest::sys_time{std::chrono::milliseconds{ch.at_ms}});
          r.fingerprint = st.who.fingerprint;
          r.rule = st.who.rule;
          r.service = st.who.service;
          r.severity = st.who.severity;
          r.labels = st.who.labels;
          r.group = st.who.group;
          r.summary = a.summary;
          st.record = std::move(r);
        }
        auto& m = *st.machine;
        std::vector<incident_transition> ts;
        switch (ch.kind) {
          case alert_change::pending:
            ts = m.pending(ch.value, ch.at_ms, a.summary);
            break;
          case alert_change::firing:
          case alert_change::repeat:
            // A repeat for an incident that is not open yet (e.g. a rule restored as firing
            // after its incident was resolved by hand) opens it again.
            ts = m.open() && m.status() != incident_status::pending
                     ? m.repeat(ch.value, ch.at_ms)
                     : m.fire(ch.value, ch.at_ms, a.summary);
            break;
          case alert_change::cancelled:
          case alert_change::resolved:
            ts = m.clear(ch.at_ms);
            break;
          case alert_change::none:
            break;
        }
        if (ts.empty()) return m.status();
        sync_record(st);
        incident_change change;
        for (const auto& t : ts) {
          if (t.kind == "triggered") st.record.summary = a.summary;
          if (t.kind != "repeat") change.entries.push_back({t, {}});
        }
        for (auto& e : change.entries) e.message = incident_message(st.record, e.transition);
        if (change.entries.empty() && ch.at_ms - st.last_persist_ms < 1000) {
          // A repeat shortly after the last write: the next write carries it, or the flush.
          if (!st.held_back) self->delayed_send(self, std::chrono::seconds{1}, caf::flush_atom_v);
          st.held_back = true;
          return m.status();
        }
        st.held_back = false;
        st.last_persist_ms = ch.at_ms;
        change.incident = st.record;
        auto status = m.status();
        auto rp = self->make_response_promise<incident_status>();
        // await: the next alert waits until this transition is committed, so the timeline is
        // written in order.
        self->request(st.store, caf::infinite, atom::persist_v, std::move(change))
            .await([=](uint32_t) mutable { rp.deliver(status); },
                   [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [=](atom::command, const incident_command& c) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        // await throughout: commands and alerts are applied one at a time, in arrival order.
        // A command replayed after a crash (its offset not yet committed) was applied already:
        // the commands row says so, and it must not be applied twice (a note would be doubled).
        self->request(self->state.store, caf::infinite, atom::command_v, c.id)
            .await(
                [=](const std::string& status) mutable {
                  if (status == "done" || status == "rejected") {
                    rp.deliver(status == "done");
                    return;
                  }
                  apply_command(self, c, rp);
                },
                [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [=](caf::flush_atom) {
        auto& st = self->state;
        if (!st.held_back) return;
        st.held_back = false;
        incident_change change;
        change.incident = st.record;
        self->request(st.store, caf::infinite, atom::persist_v, std::move(change))
            .await([](uint32_t) {}, [](caf::error&) {});
      },
      [=](atom::status) { return self->state.record; },
  };
}

}  // namespace rtmon
