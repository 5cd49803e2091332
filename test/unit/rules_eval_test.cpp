#define CAF_SUITE rules_eval
// Rule evaluation: for, hysteresis, keep_firing_for, insufficient data, absence, event match,
// service filters and summaries.
#include <string>

#include "actors/rule/rules.hpp"
#include "test/unit/rules_fixture.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::test_rules;

CAF_TEST_FIXTURE_SCOPE(rules_eval_tests, fixture)

CAF_TEST(threshold with for goes pending then firing) {
  auto spec = one(R"("name":"t","type":"threshold","metric":"m","threshold":100,"for":"30s")");
  rule_state st(spec);
  CAF_CHECK_EQUAL(kind(st.evaluate(50, true, 1000)), "none");
  CAF_CHECK_EQUAL(kind(st.evaluate(150, true, 2000)), "pending");
  CAF_CHECK(st.state() == alert_state::pending);
  CAF_CHECK_EQUAL(st.since_ms(), 2000);
  CAF_CHECK_EQUAL(kind(st.evaluate(160, true, 31999)), "none");
  auto fired = st.evaluate(170, true, 32000);
  CAF_CHECK_EQUAL(kind(fired), "firing");
  CAF_CHECK_EQUAL(fired.value, 170.0);
  CAF_CHECK_EQUAL(fired.at_ms, 32000);
  CAF_CHECK(st.state() == alert_state::firing);
  auto rep = st.evaluate(180, true, 33000);
  CAF_CHECK_EQUAL(kind(rep), "repeat");
  CAF_CHECK_EQUAL(rep.value, 180.0);
  CAF_CHECK_EQUAL(st.last_value(), 180.0);
  CAF_CHECK_EQUAL(kind(st.evaluate(100, true, 34000)), "resolved");  // 100 is not > 100
  CAF_CHECK(st.state() == alert_state::inactive);
  // A breach shorter than `for` is cancelled.
  CAF_CHECK_EQUAL(kind(st.evaluate(150, true, 40000)), "pending");
  CAF_CHECK_EQUAL(kind(st.evaluate(90, true, 41000)), "cancelled");
  CAF_CHECK(st.state() == alert_state::inactive);
  // And the next breach starts the wait again.
  CAF_CHECK_EQUAL(kind(st.evaluate(150, true, 42000)), "pending");
  CAF_CHECK_EQUAL(kind(st.evaluate(150, true, 71000)), "none");
  CAF_CHECK_EQUAL(kind(st.evaluate(150, true, 72000)), "firing");
}

CAF_TEST(for zero fires at once and each comparison works) {
  auto gt = one(R"("name":"a","type":"threshold","metric":"m","threshold":10,"op":">")");
  auto ge = one(R"("name":"b","type":"threshold","metric":"m","threshold":10,"op":">=")");
  auto lt = one(R"("name":"c","type":"threshold","metric":"m","threshold":10,"op":"<")");
  auto le = one(R"("name":"d","type":"threshold","metric":"m","threshold":10,"op":"<=")");
  struct row {
    const rule_spec* spec;
    double value;
    std::string expected;
  };
  std::vector<row> rows = {{&gt, 10, "none"},   {&gt, 10.5, "firing"}, {&ge, 9.9, "none"},
                           {&ge, 10, "firing"}, {&lt, 10, "none"},     {&lt, 9, "firing"},
                           {&le, 10.1, "none"}, {&le, 10, "firing"}};
  for (const auto& r : rows) {
    rule_state st(*r.spec);
    CAF_CHECK_EQUAL(kind(st.evaluate(r.value, true, 5)), r.expected);
  }
}

CAF_TEST(hysteresis band keeps firing and crossing recovery resolves) {
  auto spec =
      one(R"("name":"h","type":"threshold","metric":"m","threshold":500,"recovery":400,"op":">")");
  rule_state st(spec);
  CAF_CHECK_EQUAL(kind(st.evaluate(600, true, 1)), "firing");
  CAF_CHECK_EQUAL(kind(st.evaluate(450, true, 2)), "none");  // in the band
  CAF_CHECK_EQUAL(kind(st.evaluate(400.5, true, 3)), "none");
  CAF_CHECK(st.state() == alert_state::firing);
  CAF_CHECK_EQUAL(kind(st.evaluate(501, true, 4)), "repeat");
  CAF_CHECK_EQUAL(kind(st.evaluate(400, true, 5)), "resolved");  // '>': v <= recovery
  // Below: the mirror image.
  auto low = one(R"("name":"l","type":"threshold","metric":"m","threshold":10,"recovery":20,
                    "op":"<=")");
  rule_state ls(low);
  CAF_CHECK_EQUAL(kind(ls.evaluate(10, true, 1)), "firing");
  CAF_CHECK_EQUAL(kind(ls.evaluate(20, true, 2)), "none");  // '<=': recovered needs v > 20
  CAF_CHECK_EQUAL(kind(ls.evaluate(20.1, true, 3)), "resolved");
  // While pending the band does not help: not breaching cancels.
  auto pend = one(R"("name":"p","type":"threshold","metric":"m","threshold":500,
                     "recovery":400,"for":"1m")");
  rule_state ps(pend);
  CAF_CHECK_EQUAL(kind(ps.evaluate(600, true, 0)), "pending");
  CAF_CHECK_EQUAL(kind(ps.evaluate(450, true, 1)), "cancelled");
}

CAF_TEST(keep firing for delays the resolve and a new breach resets it) {
  auto spec = one(R"("name":"k","type":"threshold","metric":"m","threshold":100,
                     "keep_firing_for":"2m")");
  rule_state st(spec);
  CAF_CHECK_EQUAL(kind(st.evaluate(200, true, 0)), "firing");
  CAF_CHECK_EQUAL(kind(st.evaluate(50, true, 10 * sec)), "none");  // recovered at 10 s
  CAF_CHECK(st.state() == alert_state::firing);
  CAF_CHECK_EQUAL(kind(st.advance(10 * sec + 2 * minute - 1)), "none");
  CAF_CHECK_EQUAL(kind(st.evaluate(60, true, 60 * sec)), "none");
  // A breach during keep-firing resets the clock.
  CAF_CHECK_EQUAL(kind(st.evaluate(150, true, 70 * sec)), "repeat");
  CAF_CHECK_EQUAL(kind(st.evaluate(50, true, 80 * sec)), "none");  // recovered again at 80 s
  CAF_CHECK_EQUAL(kind(st.advance(10 * sec + 2 * minute)), "none");
  CAF_CHECK_EQUAL(kind(st.evaluate(50, true, 80 * sec + 2 * minute - 1)), "none");
  auto res = st.evaluate(40, true, 80 * sec + 2 * minute);
  CAF_CHECK_EQUAL(kind(res), "resolved");
  CAF_CHECK(st.state() == alert_state::inactive);
  // advance resolves as well when no further window update comes.
  CAF_CHECK_EQUAL(kind(st.evaluate(200, true, 10 * minute)), "firing");
  CAF_CHECK_EQUAL(kind(st.evaluate(10, true, 10 * minute + sec)), "none");
  CAF_CHECK_EQUAL(kind(st.advance(12 * minute)), "none");
  auto adv = st.advance(12 * minute + sec);
  CAF_CHECK_EQUAL(kind(adv), "resolved");
  CAF_CHECK_EQUAL(adv.value, 10.0);
  CAF_CHECK_EQUAL(kind(st.advance(13 * minute)), "none");
}

CAF_TEST(insufficient data cancels pending but never resolves firing) {
  auto spec = one(R"("name":"e","type":"error_rate","threshold":0.05,"min_count":20,
                     "for":"10s")");
  CAF_CHECK_EQUAL(spec.min_count, 20u);
  rule_state st(spec);
  // The caller computes sufficiency from min_count: too few logs is not a breach.
  CAF_CHECK_EQUAL(kind(st.evaluate(0.5, false, 0)), "none");
  CAF_CHECK_EQUAL(kind(st.evaluate(0.5, true, 1000)), "pending");
  CAF_CHECK_EQUAL(kind(st.evaluate(0.5, false, 2000)), "cancelled");
  CAF_CHECK_EQUAL(kind(st.evaluate(0.5, true, 3000)), "pending");
  CAF_CHECK_EQUAL(kind(st.evaluate(0.5, true, 13000)), "firing");
  CAF_CHECK_EQUAL(kind(st.evaluate(0.0, false, 14000)), "none");
  CAF_CHECK(st.state() == alert_state::firing);
  CAF_CHECK_EQUAL(st.last_value(), 0.5);  // insufficient values are not recorded
  // NaN counts as insufficient too.
  CAF_CHECK_EQUAL(kind(st.evaluate(std::nan(""), true, 15000)), "none");
  CAF_CHECK(st.state() == alert_state::firing);
  CAF_CHECK_EQUAL(kind(st.evaluate(0.01, true, 16000)), "resolved");
}

CAF_TEST(the shipped error rate rule fires and recovers past two percent) {
  auto r = parse(read_file(repo_root() + "/config/rules.json"));
  const rule_spec* rate = nullptr;
  for (const auto& spec : r.rules)
    if (spec.kind == rule_kind::error_rate) rate = &spec;
  CAF_REQUIRE(rate != nullptr);
  rule_state st(*rate);
  CAF_CHECK_EQUAL(kind(st.evaluate(0.06, true, 0)), "firing");
  CAF_CHECK_EQUAL(kind(st.evaluate(0.03, true, 1)), "none");
  CAF_CHECK_EQUAL(kind(st.evaluate(0.02, true, 2)), "resolved");
}

CAF_TEST(absence fires only after the service was sending) {
  auto spec = one(R"("name":"a","type":"absence","absent_for":"5m")");
  rule_state st(spec);
  CAF_CHECK_EQUAL(kind(st.advance(60 * minute)), "none");  // never sent: nothing is absent
  CAF_CHECK_EQUAL(kind(st.saw_data(60 * minute)), "none");
  CAF_CHECK_EQUAL(kind(st.advance(64 * minute)), "none");
  CAF_CHECK_EQUAL(kind(st.saw_data(64 * minute)), "none");
  CAF_CHECK_EQUAL(kind(st.advance(69 * minute - 1)), "none");
  auto fired = st.advance(69 * minute);
  CAF_CHECK_EQUAL(kind(fired), "firing");
  CAF_CHECK_EQUAL(fired.value, 300.0);                     // seconds without data
  CAF_CHECK_EQUAL(kind(st.advance(70 * minute)), "none");  // still absent: no repeats
  CAF_CHECK(st.state() == alert_state::firing);
  auto back = st.saw_data(71 * minute);
  CAF_CHECK_EQUAL(kind(back), "resolved");
  CAF_CHECK_EQUAL(back.value, 420.0);
  CAF_CHECK(st.state() == alert_state::inactive);
  // evaluate and on_event do not apply to absence rules.
  CAF_CHECK_EQUAL(kind(st.evaluate(1, true, 72 * minute)), "none");
  CAF_CHECK_EQUAL(kind(st.on_event(true, 72 * minute)), "none");
}

CAF_TEST(absence with for waits before firing and data cancels it) {
  auto spec = one(R"("name":"a","type":"absence","absent_for":"1m","for":"30s")");
  rule_state st(spec);
  st.saw_data(0);
  CAF_CHECK_EQUAL(kind(st.advance(minute)), "pending");
  CAF_CHECK_EQUAL(kind(st.advance(minute + 29 * sec)), "none");
  CAF_CHECK_EQUAL(kind(st.saw_data(minute + 29 * sec)), "cancelled");
  CAF_CHECK_EQUAL(kind(st.advance(2 * minute + 29 * sec)), "pending");
  CAF_CHECK_EQUAL(kind(st.advance(2 * minute + 59 * sec)), "firing");
  CAF_CHECK_EQUAL(kind(st.saw_data(3 * minute)), "resolved");
}

CAF_TEST(event match fires on matching events and expires) {
  auto spec = one(R"("name":"d","type":"event_match","event_type":"deploy",
                     "match":{"status":"failed","env":"prod"},"keep_firing_for":"10m")");
  CAF_CHECK(matches_event(spec, "deploy", {{"status", "failed"}, {"env", "prod"}, {"v", "3"}}));
  CAF_CHECK(!matches_event(spec, "deploy", {{"status", "failed"}}));
  CAF_CHECK(!matches_event(spec, "deploy", {{"status", "ok"}, {"env", "prod"}}));
  CAF_CHECK(!matches_event(spec, "restart", {{"status", "failed"}, {"env", "prod"}}));
  auto any = one(R"("name":"any","type":"event_match","event_type":"deploy")");
  CAF_CHECK(matches_event(any, "deploy", {}));
  CAF_CHECK(!matches_event(any, "Deploy", {}));
  rule_state st(spec);
  CAF_CHECK_EQUAL(kind(st.on_event(false, 0)), "none");
  auto first = st.on_event(true, minute);
  CAF_CHECK_EQUAL(kind(first), "firing");
  CAF_CHECK_EQUAL(first.value, 1.0);  // matching events in this firing episode
  auto second = st.on_event(true, 5 * minute);
  CAF_CHECK_EQUAL(kind(second), "repeat");
  CAF_CHECK_EQUAL(second.value, 2.0);
  CAF_CHECK_EQUAL(kind(st.on_event(false, 6 * minute)), "none");
  CAF_CHECK_EQUAL(kind(st.advance(15 * minute - 1)), "none");  // 10 min after the last match
  CAF_CHECK_EQUAL(kind(st.advance(15 * minute)), "resolved");
  CAF_CHECK(st.state() == alert_state::inactive);
  auto again = st.on_event(true, 16 * minute);
  CAF_CHECK_EQUAL(kind(again), "firing");
  CAF_CHECK_EQUAL(again.value, 1.0);
}

CAF_TEST(services filter which services a rule applies to) {
  auto all = one(R"("name":"a","type":"absence","absent_for":"1m")");
  auto some = one(R"("name":"b","type":"absence","absent_for":"1m","services":["api"])");
  CAF_CHECK(applies_to(all, "anything"));
  CAF_CHECK(applies_to(some, "api"));
  CAF_CHECK(!applies_to(some, "web"));
}

CAF_TEST(summaries fill placeholders and keep unknown ones) {
  auto spec = one(R"("name":"api-latency","type":"threshold","metric":"response_time",
      "stat":"p95","window":"5m","threshold":500,"severity":"critical","labels":{"team":"core"},
      "summary":"[{severity}] {rule} {service} {group.endpoint}: {stat}({metric}) over {window} = {value} {op} {threshold} team={labels.team} {labels.nope} {group.nope} {bogus} {unclosed")");
  auto text = render_summary(spec, "api", 612.5, {{"endpoint", "/users"}});
  CAF_CHECK_EQUAL(text,
                  "[critical] api-latency api /users: p95(response_time) over 5m = 612.5 > 500 "
                  "team=core {labels.nope} {group.nope} {bogus} {unclosed");
  CAF_CHECK_EQUAL(format_number(0.12), "0.12");
  CAF_CHECK_EQUAL(format_number(250), "250");
  CAF_CHECK_EQUAL(format_number(1.5e6), "1.5e+06");
  CAF_CHECK_EQUAL(format_number(1.0 / 3), "0.333333");
  CAF_CHECK_EQUAL(format_number(-0.0), "0");
  // Without a template each type has a readable default.
  auto rate = one(R"("name":"errors","type":"error_rate","threshold":0.05)");
  CAF_CHECK_EQUAL(render_summary(rate, "api", 0.12, {}),
                  "errors: error rate over 1m is 0.12 (> 0.05) on api");
  auto lat = one(R"("name":"lat","type":"threshold","metric":"rt","stat":"max","threshold":1)");
  CAF_CHECK_EQUAL(render_summary(lat, "web", 3, {}), "lat: max(rt) over 1m is 3 (> 1) on web");
  auto gone = one(R"("name":"gone","type":"absence","absent_for":"5m")");
  CAF_CHECK_EQUAL(render_summary(gone, "db", 300, {}), "gone: no data from db for 300s");
  auto dep = one(R"("name":"dep","type":"event_match","event_type":"deploy")");
  CAF_CHECK_EQUAL(render_summary(dep, "api", 1, {}), "dep: deploy event on api");
}

CAF_TEST_FIXTURE_SCOPE_END()
