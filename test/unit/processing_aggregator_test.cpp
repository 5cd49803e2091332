#define CAF_SUITE processing_aggregator
// Aggregators: routing, warm-up, crash restarts, reloads, commands.
#include "test/unit/processing_fixture.hpp"

using namespace rtmon;
using namespace rtmon::test_processing;

CAF_TEST_FIXTURE_SCOPE(processing_aggregator_tests, fixture)

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

namespace {

// An aggregate store whose writes stay in flight until it gets a flush: a slow Postgres.
struct held_store_state {
  std::vector<std::pair<size_t, caf::typed_response_promise<uint64_t>>> held;
  static inline const char* name = "held_aggregate_store";
};

incident_store_actor::behavior_type held_store(
    incident_store_actor::stateful_pointer<held_store_state> self) {
  return {
      [](atom::persist, const incident_change&) { return uint32_t{1}; },
      [](atom::command, const std::string&) { return std::string{}; },
      [](atom::reject, const std::string&, const std::string&) { return false; },
      [](atom::load, const std::string&) { return std::vector<incident_record>{}; },
      [=](atom::aggregate, const std::vector<aggregate_row>& rows) -> caf::result<uint64_t> {
        auto rp = self->make_response_promise<uint64_t>();
        self->state.held.emplace_back(rows.size(), rp);
        return rp;
      },
      [=](caf::flush_atom) {
        for (auto& h : self->state.held) h.second.deliver(uint64_t{h.first});
        self->state.held.clear();
      },
      [](atom::publish, bool) {},
      [](atom::published, const std::vector<unpublished_entry>&, bool) {},
  };
}

}  // namespace

CAF_TEST(aggregator a transition does not wait for the aggregates write but the batch does) {
  auto aggregates = sys.spawn(held_store);
  processing_options opts;
  opts.aggregates = aggregates;
  start_aggregator_with(opts);
  auto parts = split_by_service(logs(t0, 10, 0), false, nullptr);
  CAF_REQUIRE_EQUAL(parts.size(), 1u);
  auto rh = self->request(agg, caf::infinite, atom::observe_v, parts.front());
  sched.run();
  // The incident's transition is written while the buckets' write is still in flight...
  CAF_CHECK_EQUAL(timeline(), "pending:1");
  CAF_CHECK(store_state().rows.empty());  // buckets go to the aggregate store only
  auto& held = deref<incident_store_actor::stateful_base<held_store_state>>(aggregates).state;
  CAF_REQUIRE_EQUAL(held.held.size(), 1u);
  CAF_CHECK(held.held[0].first > 0u);
  // ...and the batch is answered (its offset may move) only once the buckets are durable.
  CAF_CHECK(self->mailbox().empty());
  caf::anon_send(aggregates, caf::flush_atom_v);
  sched.run();
  bool answered = false;
  rh.receive(
      [&](uint64_t n) {
        CAF_CHECK_EQUAL(n, 10u);
        answered = true;
      },
      [&](caf::error& err) { CAF_FAIL("aggregator: " << sys.render(err)); });
  CAF_CHECK(answered);
  caf::anon_send_exit(aggregates, caf::exit_reason::kill);
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
