#define CAF_SUITE processing_incident
// Incident actors: transitions, throttled repeats, restore, commands.
#include "test/unit/processing_fixture.hpp"

using namespace rtmon;
using namespace rtmon::test_processing;

CAF_TEST_FIXTURE_SCOPE(processing_incident_tests, fixture)

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

CAF_TEST_FIXTURE_SCOPE_END()
