#define CAF_SUITE rules
// Rules files: parsing, defaults, and errors that name the rule and the field.
#include <string>
#include <vector>

#include "actors/rule/rules.hpp"
#include "test/unit/rules_fixture.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::test_rules;

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

CAF_TEST_FIXTURE_SCOPE_END()
