#define CAF_SUITE processing_actors
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

using namespace rtmon;
using namespace std::chrono_literals;

namespace {

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

incident_store_actor::behavior_type fake_store(
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

rule_set_ptr rules_of(const std::string& json) {
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

}  // namespace

CAF_TEST_FIXTURE_SCOPE(processing_actors_tests, fixture)

// --- rule actor -------------------------------------------------------------------------------

CAF_TEST(rule actor a breach is pending until for elapsed then fires) {
  auto rs = rules_of(cpu_rules);
  auto r = spawn_rule(rs, "cpu-for");
  int64_t t = 5'000'000;  // event time, unrelated to processing time
  auto ch = evaluate(r, 90, t);
  CAF_CHECK_EQUAL(to_string(ch.kind), "pending");
  CAF_CHECK_EQUAL(ch.value, 90.0);
  CAF_CHECK_EQUAL(ch.at_ms, t);
  CAF_CHECK_EQUAL(to_string(evaluate(r, 95, t + 10 * sec).kind), "none");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 95, t + 29 * sec).kind), "none");
  CAF_CHECK(rule_state_of(r).logic->state() == alert_state::pending);
  ch = evaluate(r, 97, t + 30 * sec);
  CAF_CHECK_EQUAL(to_string(ch.kind), "firing");
  CAF_CHECK_EQUAL(ch.value, 97.0);
  CAF_CHECK_EQUAL(ch.at_ms, t + 30 * sec);
  CAF_CHECK(rule_state_of(r).logic->state() == alert_state::firing);
  CAF_CHECK_EQUAL(to_string(evaluate(r, 99, t + 31 * sec).kind), "repeat");
  // Insufficient data does not resolve a firing alert.
  CAF_CHECK_EQUAL(to_string(evaluate(r, 10, t + 32 * sec, false).kind), "none");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 10, t + 33 * sec).kind), "resolved");
}

CAF_TEST(rule actor a pending breach that clears is cancelled) {
  auto rs = rules_of(cpu_rules);
  auto r = spawn_rule(rs, "cpu-for");
  int64_t t = 5'000'000;
  CAF_CHECK_EQUAL(to_string(evaluate(r, 90, t).kind), "pending");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 50, t + 10 * sec).kind), "cancelled");
  // The next breach starts the wait anew.
  CAF_CHECK_EQUAL(to_string(evaluate(r, 90, t + 20 * sec).kind), "pending");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 90, t + 40 * sec).kind), "none");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 90, t + 50 * sec).kind), "firing");
}

CAF_TEST(rule actor hysteresis keeps firing in the band and recovers past recovery) {
  auto rs = rules_of(cpu_rules);
  auto r = spawn_rule(rs, "cpu-band");
  int64_t t = 5'000'000;
  CAF_CHECK_EQUAL(to_string(evaluate(r, 85, t).kind), "firing");  // no for: at once
  CAF_CHECK_EQUAL(to_string(evaluate(r, 75, t + sec).kind), "none");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 80, t + 2 * sec).kind), "none");  // == threshold
  CAF_CHECK(rule_state_of(r).logic->state() == alert_state::firing);
  CAF_CHECK_EQUAL(to_string(evaluate(r, 81, t + 3 * sec).kind), "repeat");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 70.5, t + 4 * sec).kind), "none");
  auto ch = evaluate(r, 70, t + 5 * sec);  // <= recovery
  CAF_CHECK_EQUAL(to_string(ch.kind), "resolved");
  CAF_CHECK_EQUAL(ch.value, 70.0);
  CAF_CHECK(rule_state_of(r).logic->state() == alert_state::inactive);
  // Inactive again: the band does not breach.
  CAF_CHECK_EQUAL(to_string(evaluate(r, 75, t + 6 * sec).kind), "none");
}

CAF_TEST(rule actor keep_firing_for resolves on advance in extrapolated event time) {
  auto rs = rules_of(cpu_rules);
  auto r = spawn_rule(rs, "cpu-keep");
  // Event time far from processing time: advance must not compare the two directly.
  int64_t t = 5'000'000;
  CAF_REQUIRE_NOT_EQUAL(t, processing_ms(self.ptr()));
  CAF_CHECK_EQUAL(to_string(evaluate(r, 90, t).kind), "firing");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 50, t + sec).kind), "none");  // recovered at t+1s
  CAF_CHECK_EQUAL(to_string(advance(r).kind), "none");
  advance_time(4s);
  auto ch = advance(r);
  CAF_CHECK_EQUAL(to_string(ch.kind), "none");
  CAF_CHECK_EQUAL(ch.at_ms, t + 5 * sec);  // event time extrapolated by processing time
  // A breach meanwhile restarts the wait; the input also moves the extrapolation base.
  CAF_CHECK_EQUAL(to_string(evaluate(r, 90, t + 6 * sec).kind), "repeat");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 40, t + 7 * sec).kind), "none");  // recovered at t+7s
  advance_time(9s);
  CAF_CHECK_EQUAL(to_string(advance(r).kind), "none");  // t+16s: 9 s recovered
  advance_time(1s);
  ch = advance(r);  // t+17s: 10 s recovered
  CAF_CHECK_EQUAL(to_string(ch.kind), "resolved");
  CAF_CHECK_EQUAL(ch.at_ms, t + 17 * sec);
  CAF_CHECK_EQUAL(ch.value, 40.0);
  CAF_CHECK(rule_state_of(r).logic->state() == alert_state::inactive);
  advance_time(10s);
  CAF_CHECK_EQUAL(to_string(advance(r).kind), "none");
}

CAF_TEST(rule actor a restored firing rule repeats and resolves without firing again) {
  auto rs = rules_of(cpu_rules);
  int64_t t = 5'000'000;
  auto r = spawn_rule(rs, "cpu-for", rule_restore{alert_state::firing, t - minute, 95});
  CAF_CHECK(rule_state_of(r).logic->state() == alert_state::firing);
  CAF_CHECK_EQUAL(to_string(evaluate(r, 90, t).kind), "repeat");
  CAF_CHECK_EQUAL(to_string(evaluate(r, 10, t + sec).kind), "resolved");
}

// --- incident actor ---------------------------------------------------------------------------

CAF_TEST(incident actor firing opens a triggered incident and repeats are throttled) {
  auto inc = spawn_incident();
  int64_t t = t0;
  CAF_CHECK(send_alert(inc, alert_change::firing, 0.8, t) == incident_status::triggered);
  auto& changes = store_state().changes;
  CAF_REQUIRE_EQUAL(changes.size(), 1u);
  auto c = changes[0];  // a copy: the vector grows
  CAF_CHECK(!c.incident.id.empty());
  CAF_CHECK_EQUAL(c.incident.fingerprint, errs_fp);
  CAF_CHECK_EQUAL(c.incident.rule, "errs");
  CAF_CHECK_EQUAL(c.incident.service, "api");
  CAF_CHECK_EQUAL(c.incident.severity, "critical");
  CAF_CHECK_EQUAL(c.incident.labels, R"({"team":"core"})");
  CAF_CHECK(c.incident.status == incident_status::triggered);
  CAF_CHECK_EQUAL(c.incident.breach_count, 1u);
  CAF_CHECK_EQUAL(c.incident.opened_ms, t);
  CAF_CHECK_EQUAL(c.incident.last_seq, 1u);
  CAF_REQUIRE_EQUAL(c.entries.size(), 1u);
  auto e = c.entries[0];
  CAF_CHECK_EQUAL(e.transition.seq, 1u);
  CAF_CHECK_EQUAL(e.transition.kind, "triggered");
  CAF_CHECK(e.transition.notify);
  CAF_CHECK_NOT_EQUAL(e.message.find(R"("fingerprint":"errs|api")"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(e.message.find(R"("kind":"triggered")"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(e.message.find(R"("incident_id":")" + c.incident.id + "\""),
                      std::string::npos);
  // A repeat within a second: nothing written, but the count grows.
  CAF_CHECK(send_alert(inc, alert_change::repeat, 0.9, t + 500) == incident_status::triggered);
  CAF_CHECK_EQUAL(changes.size(), 1u);
  auto rec = status_of(inc);
  CAF_CHECK_EQUAL(rec.breach_count, 2u);
  CAF_CHECK_EQUAL(rec.last_value, 0.9);
  // Resolved: one 'resolved' entry, the next seq of the timeline (no gaps: the throttled
  // repeat wrote no entry).
  CAF_CHECK(send_alert(inc, alert_change::resolved, 0.1, t + 2000) == incident_status::resolved);
  CAF_REQUIRE_EQUAL(changes.size(), 2u);
  const auto& r = changes[1];
  CAF_CHECK_EQUAL(r.incident.id, c.incident.id);
  CAF_CHECK(r.incident.status == incident_status::resolved);
  CAF_CHECK_EQUAL(r.incident.resolved_ms, t + 2000);
  CAF_REQUIRE_EQUAL(r.entries.size(), 1u);
  CAF_CHECK_EQUAL(r.entries[0].transition.kind, "resolved");
  CAF_CHECK_EQUAL(r.entries[0].transition.seq, 2u);
  CAF_CHECK_EQUAL(r.incident.last_seq, r.entries[0].transition.seq);
}

CAF_TEST(incident actor a repeat after a second is written without a timeline entry) {
  auto inc = spawn_incident();
  int64_t t = t0;
  send_alert(inc, alert_change::firing, 0.8, t);
  CAF_CHECK(send_alert(inc, alert_change::repeat, 0.9, t + 1500) == incident_status::triggered);
  auto& changes = store_state().changes;
  CAF_REQUIRE_EQUAL(changes.size(), 2u);
  CAF_CHECK(changes[1].entries.empty());
  CAF_CHECK_EQUAL(changes[1].incident.breach_count, 2u);
  CAF_CHECK_EQUAL(changes[1].incident.last_seen_ms, t + 1500);
  // The row's last_seq still names an entry that exists (the store accepts equal last_seq).
  CAF_CHECK_EQUAL(changes[1].incident.last_seq, 1u);
}

CAF_TEST(incident actor a held back repeat is written by the flush a second later) {
  auto inc = spawn_incident();
  send_alert(inc, alert_change::firing, 0.8, t0);
  send_alert(inc, alert_change::repeat, 0.9, t0 + 200);
  send_alert(inc, alert_change::repeat, 0.95, t0 + 400);
  auto& changes = store_state().changes;
  CAF_CHECK_EQUAL(changes.size(), 1u);
  advance_time(1s);
  sched.run();
  CAF_REQUIRE_EQUAL(changes.size(), 2u);
  CAF_CHECK(changes[1].entries.empty());
  CAF_CHECK_EQUAL(changes[1].incident.breach_count, 3u);
  CAF_CHECK_EQUAL(changes[1].incident.last_value, 0.95);
  CAF_CHECK_EQUAL(changes[1].incident.last_seq, 1u);
  // Nothing more is held back: a later flush writes nothing.
  advance_time(1s);
  sched.run();
  CAF_CHECK_EQUAL(changes.size(), 2u);
}

CAF_TEST(incident actor recoveries for nothing open change nothing) {
  auto inc = spawn_incident();
  CAF_CHECK(send_alert(inc, alert_change::resolved, 0.1, t0) == incident_status::resolved);
  CAF_CHECK(send_alert(inc, alert_change::cancelled, 0.1, t0) == incident_status::resolved);
  CAF_CHECK(store_state().changes.empty());
}

CAF_TEST(incident actor pending then firing then cancelled path) {
  auto inc = spawn_incident();
  CAF_CHECK(send_alert(inc, alert_change::pending, 0.6, t0) == incident_status::pending);
  CAF_CHECK(send_alert(inc, alert_change::cancelled, 0.1, t0 + sec) == incident_status::cancelled);
  CAF_CHECK_EQUAL(timeline(), "pending:1 cancelled:2");
  // A new breach opens a new incident.
  CAF_CHECK(send_alert(inc, alert_change::firing, 0.9, t0 + 2 * sec) == incident_status::triggered);
  CAF_CHECK_EQUAL(timeline(), "pending:1 cancelled:2 triggered:1");
  CAF_CHECK_EQUAL(incident_ids().size(), 2u);
}

CAF_TEST(incident actor a restored open incident continues its timeline) {
  auto open = open_record(incident_status::triggered, 3);
  auto inc = spawn_incident(open);
  auto rec = status_of(inc);
  CAF_CHECK_EQUAL(rec.id, open.id);
  CAF_CHECK(rec.status == incident_status::triggered);
  // A firing alert for an incident that is already triggered is a repeat: no new 'triggered'.
  CAF_CHECK(send_alert(inc, alert_change::firing, 0.95, t0) == incident_status::triggered);
  auto& changes = store_state().changes;
  CAF_CHECK_EQUAL(count_kind("triggered"), 0u);
  for (const auto& c : changes) CAF_CHECK_EQUAL(c.incident.id, open.id);
  rec = status_of(inc);
  CAF_CHECK_EQUAL(rec.breach_count, 3u);
  CAF_CHECK_EQUAL(rec.opened_ms, open.opened_ms);
  // The resolve is the timeline's next entry: seq 4.
  CAF_CHECK(send_alert(inc, alert_change::resolved, 0.1, t0 + 5 * sec) ==
            incident_status::resolved);
  CAF_REQUIRE(!changes.empty());
  const auto& last = changes.back();
  CAF_CHECK_EQUAL(last.incident.id, open.id);
  CAF_REQUIRE_EQUAL(last.entries.size(), 1u);
  CAF_CHECK_EQUAL(last.entries[0].transition.kind, "resolved");
  CAF_CHECK(last.entries[0].transition.from == incident_status::triggered);
  CAF_CHECK_EQUAL(last.entries[0].transition.seq, 4u);
  CAF_CHECK_EQUAL(last.incident.last_seq, 4u);
}

CAF_TEST(incident actor commands acknowledge and note once and refuse what does not apply) {
  auto open = open_record(incident_status::triggered, 3);
  auto inc = spawn_incident(open);
  auto ask = [&](const incident_command& c) {
    bool out = false;
    auto rh = self->request(inc, caf::infinite, atom::command_v, c);
    sched.run();
    rh.receive([&](bool applied) { out = applied; },
               [&](caf::error& err) { CAF_FAIL("incident: " << sys.render(err)); });
    return out;
  };
  auto& st = store_state();
  st.commands["c1"] = st.commands["c2"] = st.commands["c3"] = st.commands["c4"] = "pending";
  CAF_CHECK(ask({"c1", open.id, "acknowledge", "alice", "", t0}));
  CAF_REQUIRE_EQUAL(st.changes.size(), 1u);
  CAF_CHECK_EQUAL(st.changes[0].command_id, "c1");
  CAF_CHECK_EQUAL(st.changes[0].entries.at(0).transition.kind, "acknowledged");
  CAF_CHECK_EQUAL(st.changes[0].entries.at(0).transition.actor, "alice");
  CAF_CHECK_EQUAL(st.changes[0].entries.at(0).transition.seq, 4u);
  CAF_CHECK(status_of(inc).status == incident_status::acknowledged);
  // A replay of the same command (its offset was not committed before a crash) changes nothing.
  CAF_CHECK(ask({"c1", open.id, "acknowledge", "alice", "", t0}));
  CAF_CHECK_EQUAL(st.changes.size(), 1u);
  // A second acknowledge does not apply: refused with the reason, nothing written.
  CAF_CHECK(!ask({"c2", open.id, "acknowledge", "bob", "", t0 + sec}));
  CAF_CHECK_EQUAL(st.commands["c2"], "rejected");
  CAF_CHECK_EQUAL(st.rejections["c2"], "cannot acknowledge an incident that is acknowledged");
  CAF_CHECK_EQUAL(st.changes.size(), 1u);
  // A note is the next timeline entry, and is not doubled by a replay either.
  CAF_CHECK(ask({"c3", open.id, "note", "bob", "rolled back", t0 + 2 * sec}));
  CAF_CHECK(ask({"c3", open.id, "note", "bob", "rolled back", t0 + 2 * sec}));
  CAF_CHECK_EQUAL(count_kind("note"), 1u);
  CAF_CHECK_EQUAL(st.changes.back().entries.at(0).transition.detail, "rolled back");
  CAF_CHECK_EQUAL(st.changes.back().entries.at(0).transition.seq, 5u);
  // A command for another incident id (an older one of this fingerprint) is refused.
  CAF_CHECK(!ask({"c4", "0190a5b4-0000-7000-8000-00000000dead", "resolve", "eve", "", t0}));
  CAF_CHECK_EQUAL(st.rejections["c4"], "the incident is not open");
}

// --- aggregator -------------------------------------------------------------------------------

CAF_TEST(aggregator loads the open incidents of its service at start) {
  start_aggregator();
  CAF_REQUIRE_EQUAL(store_state().loads.size(), 1u);
  CAF_CHECK_EQUAL(store_state().loads[0], "api");
}

CAF_TEST(aggregator error logs go pending then triggered then resolved) {
  start_aggregator();
  // 10 errors: rate 1.0 with min_count 5 met: pending (for 30s).
  CAF_CHECK_EQUAL(observe(logs(t0, 10, 0)), 10u);
  auto& changes = store_state().changes;
  CAF_REQUIRE_EQUAL(changes.size(), 1u);
  CAF_REQUIRE_EQUAL(changes[0].entries.size(), 1u);
  CAF_CHECK_EQUAL(changes[0].entries[0].transition.kind, "pending");
  CAF_CHECK_EQUAL(changes[0].incident.fingerprint, errs_fp);
  CAF_CHECK(!store_state().rows.empty());  // the window's buckets were written
  // More errors past 30 s of event time: triggered.
  CAF_CHECK_EQUAL(observe(logs(t0 + 31 * sec, 10, 0)), 10u);
  CAF_CHECK_EQUAL(timeline(), "pending:1 triggered:2");
  // Info lines: 20 errors in 120 lines is 0.17 <= recovery 0.2: resolved.
  CAF_CHECK_EQUAL(observe(logs(t0 + 40 * sec, 0, 100)), 100u);
  CAF_CHECK_EQUAL(timeline(), "pending:1 triggered:2 resolved:3");
  CAF_CHECK(changes.back().incident.status == incident_status::resolved);
  auto ids = incident_ids();
  CAF_REQUIRE_EQUAL(ids.size(), 1u);
  CAF_CHECK(!ids[0].empty());
  CAF_CHECK(rule_state_of(rule_child()).logic->state() == alert_state::inactive);
}

CAF_TEST(aggregator too few logs are not evaluated) {
  start_aggregator();
  CAF_CHECK_EQUAL(observe(logs(t0, 4, 0)), 4u);  // min_count 5
  CAF_CHECK(store_state().changes.empty());
  CAF_CHECK_EQUAL(observe(logs(t0 + sec, 1, 0)), 1u);
  CAF_CHECK_EQUAL(timeline(), "pending:1");
}

CAF_TEST(aggregator warmup rebuilds rule state without effects) {
  auto open = open_record(incident_status::triggered, 2);
  start_aggregator({open});
  CAF_CHECK_EQUAL(observe(logs(t0, 10, 0), true), 10u);
  CAF_CHECK(store_state().changes.empty());
  CAF_CHECK(store_state().rows.empty());  // no aggregates written either
  CAF_CHECK(rule_state_of(rule_child()).logic->state() == alert_state::firing);
  // Live data that still breaches continues the loaded incident: a repeat, no 'triggered'.
  CAF_CHECK_EQUAL(observe(logs(t0 + 5 * sec, 10, 0)), 10u);
  CAF_CHECK_EQUAL(count_kind("triggered"), 0u);
  CAF_CHECK_EQUAL(count_kind("pending"), 0u);
  auto& changes = store_state().changes;
  CAF_REQUIRE(!changes.empty());
  for (const auto& c : changes) {
    CAF_CHECK_EQUAL(c.incident.id, open.id);
    CAF_CHECK(c.incident.status == incident_status::triggered);
  }
  CAF_CHECK_EQUAL(changes.back().incident.breach_count, 3u);
  // Recovery resolves the loaded incident.
  CAF_CHECK_EQUAL(observe(logs(t0 + 10 * sec, 0, 200)), 200u);
  CAF_REQUIRE_EQUAL(count_kind("resolved"), 1u);
  CAF_CHECK_EQUAL(changes.back().incident.id, open.id);
  CAF_CHECK(changes.back().incident.status == incident_status::resolved);
}

CAF_TEST(aggregator warmup without an open incident rebuilds pending state only) {
  start_aggregator();
  CAF_CHECK_EQUAL(observe(logs(t0, 10, 0), true), 10u);
  CAF_CHECK(store_state().changes.empty());
  CAF_CHECK(store_state().rows.empty());
  CAF_CHECK(rule_state_of(rule_child()).logic->state() == alert_state::pending);
  CAF_CHECK(agg_state().incidents.empty());
}

CAF_TEST(aggregator a crashed rule actor restarts firing and does not trigger twice) {
  start_aggregator();
  drive_to_triggered();
  auto first = rule_child();
  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched.run();
  auto second = rule_child();
  CAF_CHECK_NOT_EQUAL(first, second);
  CAF_CHECK(rule_state_of(second).logic->state() == alert_state::firing);
  // Still breaching: a repeat at most, never a second 'triggered'.
  CAF_CHECK_EQUAL(observe(logs(t0 + 35 * sec, 10, 0)), 10u);
  CAF_CHECK_EQUAL(count_kind("triggered"), 1u);
  CAF_CHECK_EQUAL(count_kind("pending"), 1u);
  CAF_CHECK(rule_state_of(second).logic->state() == alert_state::firing);
  // Recovery still resolves.
  CAF_CHECK_EQUAL(observe(logs(t0 + 40 * sec, 0, 200)), 200u);
  CAF_CHECK_EQUAL(count_kind("resolved"), 1u);
  CAF_CHECK(store_state().changes.back().incident.status == incident_status::resolved);
  CAF_CHECK_EQUAL(timeline(), "pending:1 triggered:2 resolved:3");  // repeats add no entry
  CAF_CHECK_EQUAL(incident_ids().size(), 1u);
}

CAF_TEST(aggregator a crashed window actor is restarted on the next update) {
  start_aggregator();
  drive_to_triggered();
  auto& windows = agg_state().windows;
  CAF_REQUIRE_EQUAL(windows.count(signal_kind::log), 1u);
  auto first = windows.at(signal_kind::log);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(agg_state().windows.count(signal_kind::log), 0u);
  // The next update respawns it empty; the rule is still firing: no second 'triggered'.
  CAF_CHECK_EQUAL(observe(logs(t0 + 35 * sec, 10, 0)), 10u);
  CAF_REQUIRE_EQUAL(agg_state().windows.count(signal_kind::log), 1u);
  CAF_CHECK_NOT_EQUAL(agg_state().windows.at(signal_kind::log), first);
  CAF_CHECK_EQUAL(count_kind("triggered"), 1u);
  // The refilled window recovers: 10 errors in 110 lines.
  CAF_CHECK_EQUAL(observe(logs(t0 + 40 * sec, 0, 100)), 100u);
  CAF_CHECK_EQUAL(count_kind("resolved"), 1u);
  CAF_CHECK_EQUAL(incident_ids().size(), 1u);
}

CAF_TEST(aggregator a crashed incident actor is respawned with its open incident) {
  start_aggregator();
  drive_to_triggered();
  auto& incidents = agg_state().incidents;
  CAF_REQUIRE_EQUAL(incidents.count(errs_fp), 1u);
  auto first = incidents.at(errs_fp);
  auto id = incident_ids().at(0);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(agg_state().incidents.count(errs_fp), 0u);
  // Still breaching: the rule repeats; a new incident actor continues the open incident
  // (no second 'triggered', no second incident).
  CAF_CHECK_EQUAL(observe(logs(t0 + 35 * sec, 10, 0)), 10u);
  CAF_CHECK_EQUAL(agg_state().incidents.count(errs_fp), 1u);
  CAF_CHECK_EQUAL(count_kind("triggered"), 1u);
  CAF_CHECK_EQUAL(store_state().changes.back().incident.id, id);
  // Recovery resolves that incident.
  CAF_CHECK_EQUAL(observe(logs(t0 + 40 * sec, 0, 300)), 300u);
  CAF_CHECK_EQUAL(count_kind("resolved"), 1u);
  CAF_CHECK_EQUAL(store_state().changes.back().incident.id, id);
  CAF_CHECK_EQUAL(incident_ids().size(), 1u);
}

CAF_TEST(aggregator a crashed incident actor still takes the resolve) {
  start_aggregator();
  drive_to_triggered();
  auto id = incident_ids().at(0);
  caf::anon_send_exit(agg_state().incidents.at(errs_fp), caf::exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(observe(logs(t0 + 40 * sec, 0, 200)), 200u);
  CAF_CHECK(rule_state_of(rule_child()).logic->state() == alert_state::inactive);
  CAF_CHECK_EQUAL(count_kind("resolved"), 1u);
  CAF_CHECK_EQUAL(store_state().changes.back().incident.id, id);
  CAF_CHECK(store_state().changes.back().incident.status == incident_status::resolved);
}

CAF_TEST(aggregator a crashed incident actor of a loaded incident continues its timeline) {
  // Loaded as pending (seq 1) 10 s before the data: the rule continues it and fires.
  auto open = open_record(incident_status::pending, 1);
  open.opened_ms = t0 - 10 * sec;
  open.breach_count = 0;
  start_aggregator({open});
  CAF_CHECK_EQUAL(observe(logs(t0 + 25 * sec, 10, 0)), 10u);
  CAF_CHECK_EQUAL(timeline(), "triggered:2");
  CAF_CHECK_EQUAL(store_state().changes.back().incident.id, open.id);
  caf::anon_send_exit(agg_state().incidents.at(errs_fp), caf::exit_reason::kill);
  sched.run();
  // The respawned incident actor must continue after seq 2: a 'resolved' with seq 2 would
  // collide with the stored 'triggered' (the store keeps the first row per (id, seq)).
  CAF_CHECK_EQUAL(observe(logs(t0 + 30 * sec, 0, 200)), 200u);
  CAF_CHECK_EQUAL(timeline(), "triggered:2 resolved:3");
  CAF_CHECK_EQUAL(store_state().changes.back().incident.id, open.id);
  CAF_CHECK_EQUAL(store_state().changes.back().incident.breach_count, 1u);
}

CAF_TEST(aggregator keep_firing_for resolves from the tick in processing time) {
  start_aggregator({}, R"({"rules":[{"name":"errs","type":"error_rate","threshold":0.5,
    "recovery":0.2,"min_count":5,"window":"1m","for":"30s","keep_firing_for":"10s"}]})");
  drive_to_triggered();
  // Recovered at t0+40.99s (event time): keeps firing for 10 s.
  CAF_CHECK_EQUAL(observe(logs(t0 + 40 * sec, 0, 100)), 100u);
  CAF_CHECK_EQUAL(count_kind("resolved"), 0u);
  CAF_CHECK(rule_state_of(rule_child()).logic->state() == alert_state::firing);
  CAF_CHECK_EQUAL(advance_time(5s), 1u);  // one tick
  sched.run();
  CAF_CHECK_EQUAL(count_kind("resolved"), 0u);
  CAF_CHECK_EQUAL(advance_time(6s), 1u);
  sched.run();
  CAF_CHECK_EQUAL(timeline(), "pending:1 triggered:2 resolved:3");
  CAF_CHECK_EQUAL(store_state().changes.back().entries.at(0).transition.at_ms,
                  t0 + 40 * sec + 990 + 11 * sec);
  CAF_CHECK(rule_state_of(rule_child()).logic->state() == alert_state::inactive);
}

CAF_TEST(aggregator reloaded rules restart rule actors with their incident state) {
  start_aggregator();
  drive_to_triggered();
  auto first = rule_child();
  auto reloaded = rules_of(R"({"rules":[{"name":"errs","type":"error_rate","threshold":0.6,
    "recovery":0.3,"min_count":5,"window":"1m","for":"30s"}]})");
  CAF_CHECK_EQUAL(observe(logs(t0 + 35 * sec, 10, 0), false, reloaded), 10u);
  CAF_CHECK(agg_state().rules == reloaded);
  auto second = rule_child();
  CAF_CHECK_NOT_EQUAL(first, second);
  CAF_CHECK(rule_state_of(second).spec == &reloaded->rules.front());
  CAF_CHECK(rule_state_of(second).logic->state() == alert_state::firing);
  CAF_CHECK_EQUAL(count_kind("triggered"), 1u);
  // The new recovery (0.3) applies: 30 errors in 110 lines is 0.27.
  CAF_CHECK_EQUAL(observe(logs(t0 + 40 * sec, 0, 80), false, reloaded), 80u);
  CAF_CHECK_EQUAL(timeline(), "pending:1 triggered:2 resolved:3");
  CAF_CHECK_EQUAL(incident_ids().size(), 1u);
}

CAF_TEST(aggregator commands reach the loaded incident in order with the data) {
  auto open = open_record(incident_status::triggered, 2);
  start_aggregator({open});
  auto rows = std::make_shared<store_batch>();
  rows->commands.push_back({"k1", open.id, errs_fp, "api", "acknowledge", "alice", "", t0});
  rows->commands.push_back({"k2", open.id, errs_fp, "api", "note", "alice", "on it", t0 + 1});
  rows->commands.push_back({"k3", "0190a5b4-0000-7000-8000-00000000beef", "errs|api", "api",
                            "resolve", "bob", "", t0 + 2});
  auto& st = store_state();
  st.commands["k1"] = st.commands["k2"] = st.commands["k3"] = "pending";
  CAF_CHECK_EQUAL(observe(rows), 3u);
  CAF_CHECK_EQUAL(timeline(), "acknowledged:3 note:4");
  CAF_CHECK_EQUAL(st.commands["k1"], "done");
  CAF_CHECK_EQUAL(st.commands["k2"], "done");
  CAF_CHECK_EQUAL(st.commands["k3"], "rejected");
  // In a warm-up replay, commands were handled the first time: they reach no aggregator.
  CAF_CHECK(split_by_service(rows, true).empty());
}

CAF_TEST(aggregator status names its children) {
  start_aggregator();
  observe(logs(t0, 10, 0));
  std::vector<std::string> names;
  auto rh = self->request(agg, caf::infinite, atom::status_v);
  sched.run();
  rh.receive([&](const std::vector<std::string>& xs) { names = xs; },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_REQUIRE_EQUAL(names.size(), 3u);
  CAF_CHECK_EQUAL(names[0], "incident:" + errs_fp);
  CAF_CHECK_EQUAL(names[1], "rule:errs\n{}");
  CAF_CHECK_EQUAL(names[2], "window:log");
}

CAF_TEST(aggregator the tick runs without changes while nothing expires) {
  start_aggregator();
  drive_to_triggered();
  auto before = store_state().changes.size();
  advance_time(1s);
  sched.run();
  advance_time(1s);
  sched.run();
  CAF_CHECK_EQUAL(store_state().changes.size(), before);
}

CAF_TEST_FIXTURE_SCOPE_END()
