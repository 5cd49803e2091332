#define CAF_SUITE rules
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "actors/rule/rules.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

// The repo root, from this file's path (test/unit/rules_test.cpp).
std::string repo_root() {
  std::string f = __FILE__;
  auto pos = f.rfind("/test/unit/");
  return pos == std::string::npos ? std::string(".") : f.substr(0, pos);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr int64_t sec = 1000;
constexpr int64_t minute = 60 * sec;

struct fixture {
  std::vector<int64_t> spans{minute, 5 * minute, 15 * minute};

  rules_parse_result parse(const std::string& text) { return parse_rules(text, spans); }

  // One rule given as the body of a rule object; returns it (errors fail the test).
  rule_spec one(const std::string& body) {
    auto r = parse(R"({"rules":[{)" + body + "}]}");
    if (!r.errors.empty()) CAF_FAIL("unexpected error: " << r.errors.front());
    CAF_REQUIRE_EQUAL(r.rules.size(), 1u);
    return r.rules.front();
  }

  // All errors of a file with this one rule object, joined with " | ".
  std::string errors_of(const std::string& rule_object) {
    auto r = parse(R"({"rules":[)" + rule_object + "]}");
    std::string out;
    for (const auto& e : r.errors) out += (out.empty() ? "" : " | ") + e;
    return out.empty() ? "<no error>" : out;
  }

  static std::string kind(const alert_change& c) { return to_string(c.kind); }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(rules_tests, fixture)

CAF_TEST(the shipped rules file parses without errors) {
  auto text = read_file(repo_root() + "/config/rules.json");
  CAF_REQUIRE(!text.empty());
  auto r = parse(text);
  for (const auto& e : r.errors) CAF_MESSAGE("error: " << e);
  CAF_REQUIRE(r.errors.empty());
  CAF_REQUIRE_EQUAL(r.rules.size(), 4u);
  bool rate = false, latency = false, absence = false, deploy = false;
  for (const auto& spec : r.rules) {
    CAF_CHECK(spec.services.empty());  // works for any service that sends data
    switch (spec.kind) {
      case rule_kind::error_rate:
        rate = true;
        CAF_CHECK(spec.sev == severity::critical);
        CAF_CHECK_EQUAL(spec.window_ms, minute);
        CAF_CHECK_EQUAL(spec.threshold, 0.05);
        CAF_CHECK(spec.has_recovery);
        CAF_CHECK_EQUAL(spec.recovery, 0.02);
        CAF_CHECK_EQUAL(spec.min_count, 20u);
        CAF_CHECK_EQUAL(spec.for_ms, 0);
        break;
      case rule_kind::threshold:
        latency = true;
        CAF_CHECK_EQUAL(spec.metric, "response_time");
        CAF_CHECK(spec.stat == metric_stat::p95);
        CAF_CHECK_EQUAL(spec.window_ms, 5 * minute);
        CAF_CHECK_EQUAL(spec.threshold, 500.0);
        CAF_CHECK_EQUAL(spec.recovery, 400.0);
        CAF_CHECK_EQUAL(spec.for_ms, minute);
        CAF_CHECK(spec.sev == severity::warning);
        CAF_REQUIRE_EQUAL(spec.group_by.size(), 1u);
        CAF_CHECK_EQUAL(spec.group_by[0], "endpoint");
        break;
      case rule_kind::absence:
        absence = true;
        CAF_CHECK_EQUAL(spec.absent_for_ms, 5 * minute);
        CAF_CHECK(spec.sev == severity::warning);
        break;
      case rule_kind::event_match:
        deploy = true;
        CAF_CHECK_EQUAL(spec.event_type, "deploy");
        CAF_CHECK_EQUAL(spec.match_attrs.size(), 1u);
        CAF_CHECK_EQUAL(spec.match_attrs.count("status"), 1u);
        CAF_CHECK(spec.sev == severity::critical);
        CAF_CHECK(spec.keep_firing_for_ms > 0);
        break;
    }
  }
  CAF_CHECK(rate && latency && absence && deploy);
}

CAF_TEST(a full threshold rule keeps every field) {
  auto spec = one(R"("name":"api-latency","type":"threshold","severity":"critical",
      "services":["api","web"],"metric":"response_time","stat":"p99","window":"15m","op":">=",
      "threshold":250,"recovery":200,"min_count":5,"for":"30s","keep_firing_for":"2m",
      "labels":{"team":"core"},"group_by":["endpoint","method"],"summary":"s")");
  CAF_CHECK_EQUAL(spec.name, "api-latency");
  CAF_CHECK(spec.kind == rule_kind::threshold);
  CAF_CHECK(spec.sev == severity::critical);
  CAF_CHECK_EQUAL(spec.services.size(), 2u);
  CAF_CHECK(spec.stat == metric_stat::p99);
  CAF_CHECK_EQUAL(spec.window_ms, 15 * minute);
  CAF_CHECK(spec.op == comparison::ge);
  CAF_CHECK_EQUAL(spec.min_count, 5u);
  CAF_CHECK_EQUAL(spec.for_ms, 30 * sec);
  CAF_CHECK_EQUAL(spec.keep_firing_for_ms, 2 * minute);
  CAF_CHECK_EQUAL(spec.labels.at("team"), "core");
  CAF_CHECK_EQUAL(spec.group_by.size(), 2u);
  CAF_CHECK_EQUAL(spec.summary, "s");
}

CAF_TEST(defaults fill what a rule leaves out) {
  auto t = one(R"("name":"t","type":"threshold","metric":"m","threshold":1)");
  CAF_CHECK(t.sev == severity::warning);
  CAF_CHECK(t.stat == metric_stat::avg);
  CAF_CHECK(t.op == comparison::gt);
  CAF_CHECK_EQUAL(t.window_ms, minute);
  CAF_CHECK(!t.has_recovery);
  CAF_CHECK_EQUAL(t.for_ms, 0);
  CAF_CHECK_EQUAL(t.keep_firing_for_ms, 0);
  auto e = one(R"("name":"e","type":"event_match","event_type":"deploy")");
  CAF_CHECK_EQUAL(e.keep_firing_for_ms, 5 * minute);
  CAF_CHECK(e.match_attrs.empty());
}

CAF_TEST(durations accept units and integer milliseconds) {
  int64_t ms = -1;
  CAF_CHECK(parse_duration("500ms", ms) && ms == 500);
  CAF_CHECK(parse_duration("30s", ms) && ms == 30 * sec);
  CAF_CHECK(parse_duration("1m", ms) && ms == minute);
  CAF_CHECK(parse_duration("1h", ms) && ms == 60 * minute);
  CAF_CHECK(parse_duration("1m30s", ms) && ms == 90 * sec);
  CAF_CHECK(!parse_duration("", ms));
  CAF_CHECK(!parse_duration("30", ms));
  CAF_CHECK(!parse_duration("s", ms));
  CAF_CHECK(!parse_duration("1.5m", ms));
  CAF_CHECK(!parse_duration("-1s", ms));
  CAF_CHECK(!parse_duration("1 m", ms));
  CAF_CHECK(!parse_duration("99999999999999h", ms));
  auto spec = one(R"("name":"a","type":"absence","absent_for":90000,"for":"1m30s")");
  CAF_CHECK_EQUAL(spec.absent_for_ms, 90 * sec);
  CAF_CHECK_EQUAL(spec.for_ms, 90 * sec);
  CAF_CHECK_EQUAL(format_duration(minute), "1m");
  CAF_CHECK_EQUAL(format_duration(1500), "1500ms");
  CAF_CHECK_EQUAL(format_duration(90 * sec), "90s");
  CAF_CHECK_EQUAL(format_duration(2 * 60 * minute), "2h");
}

CAF_TEST(bad rules produce errors naming rule and field) {
  struct row {
    std::string rule;
    std::string error;
  };
  const std::string ok_t = R"("type":"threshold","metric":"m","threshold":1)";
  const std::vector<row> rows = {
      {R"({"name":"api-latency",)" + ok_t + R"(,"window":"2m"})",
       "rule 'api-latency': field 'window': must be one of 1m, 5m, 15m"},
      {R"({"name":"x",)" + ok_t + R"(,"window":"5 min"})",
       "rule 'x': field 'window': invalid duration '5 min' (use e.g. \"500ms\", \"30s\", "
       "\"1m\", \"1h\" or integer milliseconds)"},
      {"{" + ok_t + "}", "rule #1: field 'name': required"},
      {R"({"name":"has space",)" + ok_t + "}",
       "rule #1: field 'name': must be 1-200 characters of A-Z a-z 0-9 _ . -"},
      {R"({"name":7,)" + ok_t + "}", "rule #1: field 'name': must be a string, not a number"},
      {R"({"name":"x","metric":"m","threshold":1})",
       "rule 'x': field 'type': required (threshold, error_rate, absence or event_match)"},
      {R"({"name":"x","type":"ratio"})",
       "rule 'x': field 'type': must be one of threshold, error_rate, absence, event_match"},
      {R"({"name":"x","type":"threshold","threshold":1})",
       "rule 'x': field 'metric': required for threshold rules"},
      {R"({"name":"x","type":"threshold","metric":"m"})", "rule 'x': field 'threshold': required"},
      {R"({"name":"x",)" + ok_t + R"(,"threshhold":2})",
       "rule 'x': field 'threshhold': unknown field (did you mean 'threshold'?)"},
      {R"({"name":"x",)" + ok_t + R"(,"colour":"red"})", "rule 'x': field 'colour': unknown field"},
      {R"({"name":"x",)" + ok_t + R"(,"absent_for":"5m"})",
       "rule 'x': field 'absent_for': not used by rules of type 'threshold'"},
      {R"({"name":"x",)" + ok_t + R"(,"severity":"high"})",
       "rule 'x': field 'severity': must be one of info, warning, critical"},
      {R"({"name":"x",)" + ok_t + R"(,"stat":"median"})",
       "rule 'x': field 'stat': must be one of avg, min, max, sum, count, rate, p50, p95, p99"},
      {R"({"name":"x",)" + ok_t + R"(,"op":"=="})",
       "rule 'x': field 'op': must be one of >, >=, <, <="},
      {R"({"name":"x","type":"threshold","metric":"m","threshold":"1"})",
       "rule 'x': field 'threshold': must be a number, not a string"},
      {R"({"name":"x",)" + ok_t + R"(,"recovery":2})",
       "rule 'x': field 'recovery': must be <= threshold (1) for '>'"},
      {R"({"name":"x",)" + ok_t + R"(,"op":"<","recovery":0.5})",
       "rule 'x': field 'recovery': must be >= threshold (1) for '<'"},
      {R"({"name":"x",)" + ok_t + R"(,"min_count":-1})",
       "rule 'x': field 'min_count': must be a non-negative integer"},
      {R"({"name":"x",)" + ok_t + R"(,"min_count":2.5})",
       "rule 'x': field 'min_count': must be a non-negative integer"},
      {R"({"name":"x",)" + ok_t + R"(,"for":-5})", "rule 'x': field 'for': must not be negative"},
      {R"({"name":"x",)" + ok_t + R"(,"services":"api"})",
       "rule 'x': field 'services': must be an array of strings, not a string"},
      {R"({"name":"x",)" + ok_t + R"(,"services":["api","api"]})",
       "rule 'x': field 'services': lists 'api' twice"},
      {R"({"name":"x",)" + ok_t + R"(,"labels":{"team":1}})",
       "rule 'x': field 'labels': value of 'team' must be a string, not a number"},
      {R"({"name":"x","type":"error_rate","threshold":5})",
       "rule 'x': field 'threshold': must be a fraction between 0 and 1 (0.05 = 5%)"},
      {R"({"name":"x","type":"error_rate","threshold":0.05,"recovery":0.1})",
       "rule 'x': field 'recovery': must be <= threshold (0.05) for '>'"},
      {R"({"name":"x","type":"error_rate","threshold":0.05,"metric":"m"})",
       "rule 'x': field 'metric': not used by rules of type 'error_rate'"},
      {R"({"name":"x","type":"absence"})",
       "rule 'x': field 'absent_for': required for absence rules"},
      {R"({"name":"x","type":"absence","absent_for":"0s"})",
       "rule 'x': field 'absent_for': must be positive"},
      {R"({"name":"x","type":"event_match"})",
       "rule 'x': field 'event_type': required for event_match rules"},
      {R"({"name":"x","type":"event_match","event_type":"deploy","match":{"status":false}})",
       "rule 'x': field 'match': value of 'status' must be a string, not a boolean"},
      {R"({"name":"x","type":"event_match","event_type":"deploy","for":"1m"})",
       "rule 'x': field 'for': not used by rules of type 'event_match'"},
      {R"({"name":"x","type":"event_match","event_type":"deploy","keep_firing_for":0})",
       "rule 'x': field 'keep_firing_for': must be positive for event_match rules (the alert "
       "resolves this long after the last matching event)"},
      {R"("just a string")", "rule #1: must be an object, not a string"},
  };
  for (const auto& r : rows) {
    auto got = errors_of(r.rule);
    if (got != r.error) CAF_MESSAGE("rule: " << r.rule);
    CAF_CHECK_EQUAL(got, r.error);
  }
}

CAF_TEST(bad files are reported as a whole) {
  auto bad_json = parse("{\"rules\": [");
  CAF_REQUIRE_EQUAL(bad_json.errors.size(), 1u);
  CAF_CHECK_EQUAL(bad_json.errors[0].rfind("rules file: invalid JSON", 0), 0u);
  auto no_rules = parse(R"({"rule":[]})");
  CAF_REQUIRE_EQUAL(no_rules.errors.size(), 2u);
  CAF_CHECK_EQUAL(no_rules.errors[0], "rules file: field 'rule': unknown field");
  CAF_CHECK_EQUAL(no_rules.errors[1], "rules file: field 'rules': required, an array of rules");
  auto empty = parse(R"({"rules":[]})");
  CAF_CHECK(empty.errors.empty());
  CAF_CHECK(empty.rules.empty());
}

CAF_TEST(all errors are collected and valid rules kept) {
  auto r = parse(R"({"rules":[
      {"name":"a","type":"threshold","metric":"m","threshold":1},
      {"name":"b","type":"threshold","metric":"m","threshold":1,"window":"2m","severity":"x"},
      {"name":"a","type":"absence","absent_for":"1m"},
      {"type":"absence","absent_for":"1m","xyzzy":1},
      {"name":"c","type":"absence","absent_for":"1m"}]})");
  CAF_REQUIRE_EQUAL(r.errors.size(), 5u);
  CAF_CHECK_EQUAL(r.errors[0],
                  "rule 'b': field 'severity': must be one of info, warning, critical");
  CAF_CHECK_EQUAL(r.errors[1], "rule 'b': field 'window': must be one of 1m, 5m, 15m");
  CAF_CHECK_EQUAL(r.errors[2], "rule 'a': field 'name': duplicate: rule #1 already has this name");
  CAF_CHECK_EQUAL(r.errors[3], "rule #4: field 'name': required");
  CAF_CHECK_EQUAL(r.errors[4], "rule #4: field 'xyzzy': unknown field");
  CAF_REQUIRE_EQUAL(r.rules.size(), 2u);
  CAF_CHECK_EQUAL(r.rules[0].name, "a");
  CAF_CHECK(r.rules[0].kind == rule_kind::threshold);
  CAF_CHECK_EQUAL(r.rules[1].name, "c");
}

CAF_TEST(the window must be a configured span) {
  spans = {10 * sec, 2 * minute};
  CAF_CHECK_EQUAL(errors_of(R"({"name":"x","type":"threshold","metric":"m","threshold":1})"),
                  "rule 'x': field 'window': required (the default 1m is not a configured "
                  "window; use one of 10s, 2m)");
  auto spec = one(R"("name":"x","type":"threshold","metric":"m","threshold":1,"window":"10s")");
  CAF_CHECK_EQUAL(spec.window_ms, 10 * sec);
}

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
