#define CAF_SUITE processing_rule
// Rule actors: pending, firing, hysteresis, keep_firing_for, restore.
#include "test/unit/processing_fixture.hpp"

using namespace rtmon;
using namespace rtmon::test_processing;

CAF_TEST_FIXTURE_SCOPE(processing_rule_tests, fixture)

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

CAF_TEST_FIXTURE_SCOPE_END()
