#include "actors/aggregator/aggregator.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <caf/all.hpp>

#include "actors/common/processing_time.hpp"
#include "actors/incident/incident_actor.hpp"
#include "actors/rule/rule_actor.hpp"
#include "actors/window/window_actor.hpp"

namespace rtmon {

namespace {

using self_ptr = aggregator_actor::stateful_pointer<aggregator_state>;

/// Answers a request once every piece of work it started has finished.
struct join {
  caf::typed_response_promise<uint64_t> rp;
  uint64_t result = 0;
  int pending = 1;  // the starter's own guard, released by done() at the end of the handler
  void add() { ++pending; }
  void done() {
    if (--pending == 0 && rp.pending()) rp.deliver(result);
  }
};
using join_ptr = std::shared_ptr<join>;

std::string labels_json(const rule_spec& r) {
  boost::json::object o;
  for (const auto& [k, v] : r.labels) o[k] = v;
  return boost::json::serialize(o);
}

alert_state restored_state(const incident_record& r) {
  switch (r.status) {
    case incident_status::pending:
      return alert_state::pending;
    case incident_status::triggered:
    case incident_status::acknowledged:
      return alert_state::firing;
    default:
      return alert_state::inactive;
  }
}

void count_failure(aggregator_state& st, const char* what) {
  if (st.metrics)
    st.metrics
        ->get_counter("rtmon_processing_failures_total",
                      "Processing steps that failed (their effect is lost, never doubled)",
                      std::string{"step=\""} + what + "\"")
        .inc();
}

incident_actor incident_of(self_ptr self, const rule_spec& spec, const std::string& group,
                           const std::string& fp) {
  auto& st = self->state;
  if (auto i = st.incidents.find(fp); i != st.incidents.end()) return i->second;
  incident_identity who{fp, spec.name, st.service, to_string(spec.sev), labels_json(spec), group};
  incident_record open;
  if (auto k = st.known.find(fp); k != st.known.end() && !k->second.id.empty()) open = k->second;
  auto child = self->spawn<caf::monitored>(incident, st.store, who, open, st.opts.flapping);
  st.incidents[fp] = child;
  st.names[child.address()] = "incident:" + fp;
  return child;
}

// Hands a rule's change to the incident of its fingerprint; `j` (may be null) waits for it.
void route(self_ptr self, const std::string& rule, const std::string& group, const alert_change& ch,
           const join_ptr& j) {
  auto& st = self->state;
  if (ch.kind == alert_change::none) return;
  const auto* spec = st.rules->find(rule);
  if (!spec) return;
  auto fp = fingerprint(rule, st.service, group);
  alert a;
  a.change = ch;
  a.rule = rule;
  a.service = st.service;
  a.group = group;
  a.summary = render_summary(*spec, st.service, ch.value, flat_attrs(group));
  if (j) j->add();
  self->request(incident_of(self, *spec, group, fp), caf::infinite, atom::alert_v, a)
      .then(
          [=](incident_status s) {
            auto& rec = self->state.known[fp];
            rec.status = s;
            if (rec.opened_ms == 0 || ch.kind == alert_change::pending ||
                ch.kind == alert_change::firing)
              rec.opened_ms = ch.at_ms;
            rec.last_value = ch.value;
            if (j) j->done();
          },
          [=](caf::error& err) {
            spdlog::error("aggregator {}: incident {}: {}", self->state.service, fp,
                          self->system().render(err));
            count_failure(self->state, "incident");
            if (j) j->done();
          });
}

rule_actor rule_of(self_ptr self, const std::string& rule, const std::string& group) {
  auto& st = self->state;
  auto key = rule + "\n" + group;
  if (auto i = st.rules_by_key.find(key); i != st.rules_by_key.end()) return i->second.handle;
  const auto* spec = st.rules->find(rule);
  rule_restore restore;
  if (auto k = st.known.find(fingerprint(rule, st.service, group)); k != st.known.end())
    restore = {restored_state(k->second), k->second.opened_ms, k->second.last_value};
  auto child = self->spawn<caf::monitored>(rule_actor_fn, st.rules, spec, restore);
  st.rules_by_key[key] = {child, rule, group};
  st.names[child.address()] = "rule:" + key;
  return child;
}

window_actor window_of(self_ptr self, signal_kind kind) {
  auto& st = self->state;
  if (auto i = st.windows.find(kind); i != st.windows.end()) return i->second;
  auto child =
      self->spawn<caf::monitored>(window, kind, st.service, st.opts.windows, st.rules, st.metrics);
  st.windows[kind] = child;
  st.names[child.address()] = "window:" + to_string(kind);
  return child;
}

void evaluate(self_ptr self, const rule_input& in, bool warmup, const join_ptr& j) {
  if (!self->state.rules->find(in.rule)) return;
  j->add();
  self->request(rule_of(self, in.rule, in.group), caf::infinite, atom::evaluate_v, in)
      .then(
          [=](const alert_change& ch) {
            // Warm-up rebuilds the rule's state; its incidents were handled the first time.
            if (!warmup) route(self, in.rule, in.group, ch, j);
            j->done();
          },
          [=](caf::error&) {
            count_failure(self->state, "rule");
            j->done();
          });
}

// The changed buckets go to the aggregate store while the rules evaluate: an alert never waits
// for that write, the batch's answer (and so its offset) does.
void persist_aggregates(self_ptr self, std::vector<aggregate_row> rows, const join_ptr& j) {
  if (rows.empty()) return;
  auto& st = self->state;
  j->add();
  self->request(st.opts.aggregates ? st.opts.aggregates : st.store, caf::infinite,
                atom::aggregate_v, std::move(rows))
      .then([=](uint64_t) { j->done(); },
            [=](caf::error& err) {
              spdlog::error("aggregator {}: aggregates: {}", self->state.service,
                            self->system().render(err));
              count_failure(self->state, "aggregates");
              j->done();
            });
}

void observe_window(self_ptr self, signal_kind kind, const service_batch_ptr& b,
                    const join_ptr& j) {
  j->add();
  self->request(window_of(self, kind), caf::infinite, atom::observe_v, b)
      .then(
          [=](window_report& rep) {
            for (const auto& in : rep.inputs) evaluate(self, in, b->warmup, j);
            persist_aggregates(self, std::move(rep.aggregates), j);
            j->done();
          },
          [=](caf::error& err) {
            spdlog::error("aggregator {}: window {}: {}", self->state.service, to_string(kind),
                          self->system().render(err));
            count_failure(self->state, "window");
            j->done();
          });
}

// The incident actor a command is for: the fingerprint's running one, or one started from the
// open incident loaded at start (its rule may have changed since: the record names it all).
incident_actor incident_for_command(self_ptr self, const command_row& c) {
  auto& st = self->state;
  if (auto i = st.incidents.find(c.fingerprint); i != st.incidents.end()) return i->second;
  auto k = st.known.find(c.fingerprint);
  if (k == st.known.end() || k->second.id != c.incident_id) return {};
  const auto& r = k->second;
  incident_identity who{r.fingerprint, r.rule, r.service, r.severity, r.labels, r.group};
  auto child = self->spawn<caf::monitored>(incident, st.store, who, r, st.opts.flapping);
  st.incidents[c.fingerprint] = child;
  st.names[child.address()] = "incident:" + c.fingerprint;
  return child;
}

void run_command(self_ptr self, const command_row& c, const join_ptr& j) {
  incident_command cmd{c.id, c.incident_id, c.action, c.actor, c.text, c.at_ms};
  auto target = incident_for_command(self, c);
  j->add();
  auto failed = [=](caf::error& err) {
    spdlog::error("aggregator {}: command {}: {}", self->state.service, c.id,
                  self->system().render(err));
    count_failure(self->state, "command");
    j->done();
  };
  if (!target) {
    // No open incident with this id here (resolved meanwhile, or never this service's).
    self->request(self->state.store, caf::infinite, atom::reject_v, c.id,
                  std::string{"the incident is not open"})
        .then([=](bool) { j->done(); }, failed);
    return;
  }
  self->request(target, caf::infinite, atom::command_v, cmd)
      .then(
          [=](bool applied) {
            if (applied && c.action != "note") {
              auto& rec = self->state.known[c.fingerprint];
              if (c.action == "acknowledge") rec.status = incident_status::acknowledged;
              if (c.action == "resolve") rec.status = incident_status::resolved;
            }
            j->done();
          },
          failed);
}

void time_passed(self_ptr self, const join_ptr& j, bool seen) {
  auto& st = self->state;
  auto now = processing_ms(self);
  for (const auto& kv : st.rules_by_key) {
    const auto* spec = st.rules->find(kv.second.rule);
    if (!spec || (seen && spec->kind != rule_kind::absence)) continue;
    auto rule = kv.second.rule, group = kv.second.group;
    if (j) j->add();
    auto req = seen ? self->request(kv.second.handle, caf::infinite, atom::seen_v, now)
                    : self->request(kv.second.handle, caf::infinite, atom::advance_v, now);
    req.then(
        [=](const alert_change& ch) {
          route(self, rule, group, ch, j);
          if (j) j->done();
        },
        [=](caf::error&) {
          count_failure(self->state, "rule");
          if (j) j->done();
        });
  }
}

void watch_absence(self_ptr self) {
  for (const auto& r : self->state.rules->rules)
    if (r.kind == rule_kind::absence && applies_to(r, self->state.service))
      rule_of(self, r.name, "{}");
}

// The rules file was reloaded: rule actors restart with their new spec, taking over the state
// of their open incidents (as after a crash); windows read the new rules from the batches.
void adopt_rules(self_ptr self, rule_set_ptr rules) {
  auto& st = self->state;
  for (auto& kv : st.rules_by_key) {
    st.names.erase(kv.second.handle.address());
    self->send_exit(kv.second.handle, caf::exit_reason::user_shutdown);
  }
  st.rules_by_key.clear();
  st.rules = std::move(rules);
  watch_absence(self);
}

}  // namespace

aggregator_actor::behavior_type aggregator(self_ptr self, std::string service, rule_set_ptr rules,
                                           incident_store_actor store, processing_options opts,
                                           metrics_registry* metrics) {
  auto& st = self->state;
  st.service = std::move(service);
  st.rules = std::move(rules);
  st.store = std::move(store);
  st.opts = std::move(opts);
  st.metrics = metrics;
  // The open incidents of this service, before any data: rules continue them (a restart or a
  // rebalance must not open them again).
  self->request(st.store, caf::infinite, atom::load_v, st.service)
      .await(
          [=](const std::vector<incident_record>& open) {
            for (const auto& r : open) self->state.known[r.fingerprint] = r;
          },
          [=](caf::error& err) {
            spdlog::error("aggregator {}: loading open incidents: {}", self->state.service,
                          self->system().render(err));
            self->quit(err);
          });
  // Absence rules watch the service from its first data on.
  watch_absence(self);
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.names.find(dm.source);
    if (i == st.names.end()) return;
    auto name = i->second;
    st.names.erase(i);
    for (auto w = st.windows.begin(); w != st.windows.end(); ++w)
      if (w->second.address() == dm.source) {
        st.windows.erase(w);  // respawned empty on the next update: its windows refill
        break;
      }
    for (auto r = st.rules_by_key.begin(); r != st.rules_by_key.end(); ++r)
      if (r->second.handle.address() == dm.source) {
        auto rule = r->second.rule, group = r->second.group;
        st.rules_by_key.erase(r);
        // Respawned at once with the state of its incident, so it keeps watching.
        if (dm.reason && dm.reason != caf::exit_reason::user_shutdown) rule_of(self, rule, group);
        break;
      }
    for (auto n = st.incidents.begin(); n != st.incidents.end(); ++n)
      if (n->second.address() == dm.source) {
        auto fp = n->first;
        st.incidents.erase(n);
        if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown) break;
        // Respawned on its next alert from its persisted state: reload it first (await: no
        // alert is routed before), so the respawned actor continues the same incident.
        self->request(st.store, caf::infinite, atom::load_v, st.service)
            .await(
                [=](const std::vector<incident_record>& open) {
                  auto& st = self->state;
                  st.known.erase(fp);
                  for (const auto& r : open) st.known[r.fingerprint] = r;
                },
                [=](caf::error& err) { self->quit(err); });
        break;
      }
    if (dm.reason && dm.reason != caf::exit_reason::user_shutdown) {
      spdlog::error("aggregator {}: {} crashed ({}); restarted", st.service, name,
                    self->system().render(dm.reason));
      count_failure(st, "crash");
    }
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    auto& st = self->state;
    for (auto& kv : st.windows) self->send_exit(kv.second, em.reason);
    for (auto& kv : st.rules_by_key) self->send_exit(kv.second.handle, em.reason);
    for (auto& kv : st.incidents) self->send_exit(kv.second, em.reason);
    self->quit(em.reason);
  });
  self->delayed_send(self, st.opts.tick, caf::tick_atom_v);
  return {
      [=](atom::observe, const service_batch_ptr& b) -> caf::result<uint64_t> {
        if (b->rules && b->rules != self->state.rules) adopt_rules(self, b->rules);
        auto j = std::make_shared<join>();
        j->rp = self->make_response_promise<uint64_t>();
        j->result = b->logs.size() + b->metrics.size() + b->events.size() + b->commands.size();
        if (!b->warmup) time_passed(self, j, true);  // absence rules: the service is alive
        if (!b->logs.empty()) observe_window(self, signal_kind::log, b, j);
        if (!b->metrics.empty()) observe_window(self, signal_kind::metric, b, j);
        if (!b->events.empty()) observe_window(self, signal_kind::event, b, j);
        for (auto i : b->commands) run_command(self, b->rows->commands[i], j);
        auto rp = j->rp;
        j->done();
        return rp;
      },
      [=](caf::tick_atom) {
        time_passed(self, nullptr, false);
        self->delayed_send(self, self->state.opts.tick, caf::tick_atom_v);
      },
      [=](atom::status) {
        std::vector<std::string> out;
        for (const auto& kv : self->state.names) out.push_back(kv.second);
        std::sort(out.begin(), out.end());
        return out;
      },
  };
}

}  // namespace rtmon
