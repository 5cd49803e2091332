// The fixture the processing actor suites share: a deterministic actor system, an INCIDENT
// STORE double that behaves like Postgres, rule sets, and helpers that drive rule, incident and
// aggregator actors and read back what they persisted.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "actors/aggregator/aggregator.hpp"
#include "actors/common/processing_time.hpp"
#include "actors/incident/incident_actor.hpp"
#include "actors/rule/rule_actor.hpp"
#include "actors/rule/rules.hpp"
#include "actors/window/window_actor.hpp"
#include "messages/actors.hpp"
#include "messages/processing.hpp"
#include "test/unit/test.hpp"

namespace rtmon::test_processing {

using namespace rtmon;
using namespace std::chrono_literals;

constexpr int64_t sec = 1000;
constexpr int64_t minute = 60 * sec;

// INCIDENT STORE double: records what it is asked to write and keeps an `incidents` table
// (seeded with `open`, updated by every persisted change, a stale last_seq does not roll a row
// back) that load answers from, as Postgres would.
struct fake_store_state {
  std::vector<incident_change> changes;
  std::map<std::string, incident_record> incidents;  // by id
  std::vector<aggregate_row> rows;
  std::vector<std::string> loads;                 // the services asked for
  std::map<std::string, std::string> commands;    // id -> pending, done, rejected
  std::map<std::string, std::string> rejections;  // id -> why
  static inline const char* name = "fake_incident_store";

  void seed(const std::vector<incident_record>& open) {
    for (const auto& r : open) incidents[r.id] = r;
  }
  std::vector<incident_record> open_of(const std::string& service) const {
    std::vector<incident_record> out;
    for (const auto& kv : incidents)
      if (kv.second.service == service && (kv.second.status == incident_status::pending ||
                                           kv.second.status == incident_status::triggered ||
                                           kv.second.status == incident_status::acknowledged))
        out.push_back(kv.second);
    std::sort(out.begin(), out.end(), [](const incident_record& a, const incident_record& b) {
      return a.opened_ms < b.opened_ms;
    });
    return out;
  }
};

inline incident_store_actor::behavior_type fake_store(
    incident_store_actor::stateful_pointer<fake_store_state> self) {
  return {
      [=](atom::persist, const incident_change& c) {
        auto& st = self->state;
        st.changes.push_back(c);
        auto i = st.incidents.find(c.incident.id);
        if (i == st.incidents.end())
          st.incidents.emplace(c.incident.id, c.incident);
        else if (i->second.last_seq <= c.incident.last_seq)
          i->second = c.incident;
        if (!c.command_id.empty()) st.commands[c.command_id] = "done";
        return uint32_t{1};
      },
      [=](atom::command, const std::string& id) {
        auto i = self->state.commands.find(id);
        return i == self->state.commands.end() ? std::string{} : i->second;
      },
      [=](atom::reject, const std::string& id, const std::string& why) {
        auto& st = self->state;
        if (st.commands[id] == "done") return false;
        st.commands[id] = "rejected";
        st.rejections[id] = why;
        return true;
      },
      [=](atom::load, const std::string& service) {
        self->state.loads.push_back(service);
        return self->state.open_of(service);
      },
      [=](atom::aggregate, const std::vector<aggregate_row>& rows) {
        self->state.rows.insert(self->state.rows.end(), rows.begin(), rows.end());
        return uint64_t{rows.size()};
      },
      [](caf::flush_atom) {},
      [](atom::publish, bool) {},
      [](atom::published, const std::vector<unpublished_entry>&, bool) {},
  };
}

const std::vector<int64_t> spans{minute, 5 * minute, 15 * minute};

inline rule_set_ptr rules_of(const std::string& json) {
  auto r = parse_rules(json, spans);
  if (!r.errors.empty()) CAF_FAIL("unexpected rules error: " << r.errors.front());
  auto rs = std::make_shared<rule_set>();
  rs->rules = r.rules;
  return rs;
}

// Error rate over 1m, pending 30 s before it fires, clears at <= 20 %.
const std::string error_rate_rules = R"({"rules":[{"name":"errs","type":"error_rate",
  "threshold":0.5,"recovery":0.2,"min_count":5,"window":"1m","for":"30s"}]})";
const std::string errs_fp = "errs|api";

struct fixture : test_coordinator_fixture<> {
  incident_store_actor store;
  aggregator_actor agg;
  rule_set_ptr rules;
  int64_t proc0;  // processing time at the start of the test
  int64_t t0;     // event time of the test's first data: a little before processing time
  int ids = 0;

  fixture() {
    store = sys.spawn(fake_store);
    sched.run();
    proc0 = processing_ms(self.ptr());
    t0 = (proc0 / minute) * minute - 10 * minute;
  }

  ~fixture() override {
    // The aggregator re-arms its tick forever (caf-0.17.md §12.1).
    if (agg) {
      caf::anon_send_exit(agg, caf::exit_reason::kill);
      sched.run();
    }
  }

  fake_store_state& store_state() {
    return deref<incident_store_actor::stateful_base<fake_store_state>>(store).state;
  }

  // --- rule actor ---------------------------------------------------------------------------

  rule_actor spawn_rule(const rule_set_ptr& rs, const std::string& name,
                        rule_restore restore = {}) {
    auto* spec = rs->find(name);
    CAF_REQUIRE(spec != nullptr);
    auto r = sys.spawn(rule_actor_fn, rs, spec, restore);
    sched.run();
    return r;
  }

  rule_actor_state& rule_state_of(const rule_actor& r) {
    return deref<rule_actor::stateful_base<rule_actor_state>>(r).state;
  }

  template <class... Ts>
  alert_change ask_rule(const rule_actor& r, Ts... xs) {
    alert_change out;
    auto rh = self->request(r, caf::infinite, xs...);
    sched.run();
    rh.receive([&](const alert_change& ch) { out = ch; },
               [&](caf::error& err) { CAF_FAIL("rule: " << sys.render(err)); });
    return out;
  }

  alert_change evaluate(const rule_actor& r, double value, int64_t now_ms, bool sufficient = true) {
    rule_input in;
    in.rule = rule_state_of(r).spec->name;
    in.value = value;
    in.sufficient = sufficient;
    in.now_ms = now_ms;
    return ask_rule(r, atom::evaluate_v, in);
  }

  alert_change advance(const rule_actor& r) {
    return ask_rule(r, atom::advance_v, processing_ms(self.ptr()));
  }

  // --- incident actor -----------------------------------------------------------------------

  incident_actor spawn_incident(incident_record open = {}) {
    incident_identity who{errs_fp, "errs", "api", "critical", R"({"team":"core"})", "{}"};
    auto inc = sys.spawn(incident, store, who, std::move(open), flapping_policy{});
    sched.run();
    return inc;
  }

  incident_status send_alert(const incident_actor& inc, alert_change::kind_t kind, double value,
                             int64_t at_ms) {
    alert a;
    a.change.kind = kind;
    a.change.value = value;
    a.change.at_ms = at_ms;
    a.rule = "errs";
    a.service = "api";
    a.summary = "errors are high";
    incident_status out = incident_status::cancelled;
    auto rh = self->request(inc, caf::infinite, atom::alert_v, a);
    sched.run();
    rh.receive([&](incident_status s) { out = s; },
               [&](caf::error& err) { CAF_FAIL("incident: " << sys.render(err)); });
    return out;
  }

  incident_record status_of(const incident_actor& inc) {
    incident_record out;
    auto rh = self->request(inc, caf::infinite, atom::status_v);
    sched.run();
    rh.receive([&](const incident_record& r) { out = r; },
               [&](caf::error& err) { CAF_FAIL("incident: " << sys.render(err)); });
    return out;
  }

  // --- aggregator ---------------------------------------------------------------------------

  void start_aggregator(std::vector<incident_record> open = {},
                        const std::string& rules_json = error_rate_rules) {
    store_state().seed(open);
    rules = rules_of(rules_json);
    agg = sys.spawn(aggregator, std::string{"api"}, rules, store, processing_options{},
                    static_cast<metrics_registry*>(nullptr));
    sched.run();  // init: request(load).await
  }

  void start_aggregator_with(processing_options opts) {
    rules = rules_of(error_rate_rules);
    agg = sys.spawn(aggregator, std::string{"api"}, rules, store, std::move(opts),
                    static_cast<metrics_registry*>(nullptr));
    sched.run();  // init: request(load).await
  }

  aggregator_state& agg_state() {
    return deref<aggregator_actor::stateful_base<aggregator_state>>(agg).state;
  }

  rule_actor rule_child() {
    auto& by_key = agg_state().rules_by_key;
    auto i = by_key.find("errs\n{}");
    CAF_REQUIRE(i != by_key.end());
    return i->second.handle;
  }

  log_row log(int64_t ts, const std::string& level) {
    log_row r;
    r.event_id = "l" + std::to_string(++ids);
    r.service = "api";
    r.host = "h1";
    r.level = level;
    r.message = "m";
    r.attrs = "{}";
    r.ts_ms = ts;
    return r;
  }

  // `errors` error lines then `infos` info lines, 10 ms apart from `ts` on.
  store_batch_ptr logs(int64_t ts, int errors, int infos) {
    auto b = std::make_shared<store_batch>();
    for (int i = 0; i < errors; ++i) b->logs.push_back(log(ts + 10 * i, "error"));
    for (int i = 0; i < infos; ++i) b->logs.push_back(log(ts + 10 * (errors + i), "info"));
    return b;
  }

  uint64_t observe(const store_batch_ptr& rows, bool warmup = false,
                   rule_set_ptr with_rules = nullptr) {
    auto parts = split_by_service(rows, warmup, std::move(with_rules));
    CAF_REQUIRE_EQUAL(parts.size(), 1u);
    uint64_t out = 0;
    bool answered = false;
    auto rh = self->request(agg, caf::infinite, atom::observe_v, parts.front());
    sched.run();
    rh.receive(
        [&](uint64_t n) {
          out = n;
          answered = true;
        },
        [&](caf::error& err) { CAF_FAIL("aggregator: " << sys.render(err)); });
    CAF_CHECK(answered);
    return out;
  }

  // The timeline entries persisted so far, as "kind:seq" joined with spaces.
  std::string timeline() {
    std::string out;
    for (const auto& c : store_state().changes)
      for (const auto& e : c.entries)
        out +=
            (out.empty() ? "" : " ") + e.transition.kind + ":" + std::to_string(e.transition.seq);
    return out;
  }

  std::vector<std::string> incident_ids() {
    std::vector<std::string> out;
    for (const auto& c : store_state().changes)
      if (std::find(out.begin(), out.end(), c.incident.id) == out.end())
        out.push_back(c.incident.id);
    return out;
  }

  size_t count_kind(const std::string& kind) {
    size_t n = 0;
    for (const auto& c : store_state().changes)
      for (const auto& e : c.entries)
        if (e.transition.kind == kind) ++n;
    return n;
  }

  // Drives the aggregator's error-rate rule to "triggered": pending at t0, firing at t0+31s.
  void drive_to_triggered() {
    CAF_CHECK_EQUAL(observe(logs(t0, 10, 0)), 10u);
    CAF_CHECK_EQUAL(timeline(), "pending:1");
    CAF_CHECK_EQUAL(observe(logs(t0 + 31 * sec, 10, 0)), 10u);
    CAF_CHECK_EQUAL(timeline(), "pending:1 triggered:2");
    CAF_CHECK(rule_state_of(rule_child()).logic->state() == alert_state::firing);
  }

  incident_record open_record(incident_status status, uint32_t last_seq) {
    incident_record r;
    r.id = "0190a5b4-0000-7000-8000-000000000001";
    r.fingerprint = errs_fp;
    r.rule = "errs";
    r.service = "api";
    r.severity = "warning";
    r.status = status;
    r.summary = "errors are high";
    r.last_value = 0.9;
    r.breach_count = 2;
    r.opened_ms = t0 - 5 * minute;
    r.last_seen_ms = t0 - 4 * minute;
    r.last_seq = last_seq;
    return r;
  }
};

const std::string cpu_rules = R"({"rules":[
  {"name":"cpu-for","type":"threshold","metric":"cpu","threshold":80,"window":"1m","for":"30s"},
  {"name":"cpu-band","type":"threshold","metric":"cpu","threshold":80,"recovery":70,
   "window":"1m"},
  {"name":"cpu-keep","type":"threshold","metric":"cpu","threshold":80,"window":"1m",
   "keep_firing_for":"10s"}]})";

}  // namespace rtmon::test_processing
