#define CAF_SUITE window_set
#include <map>
#include <string>
#include <vector>

#include "actors/rule/rules.hpp"
#include "actors/window/window_set.hpp"
#include "messages/processing.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

constexpr int64_t sec = 1000;
constexpr int64_t minute = 60 * sec;

struct fixture {
  std::vector<int64_t> spans{minute, 5 * minute, 15 * minute};
  // Processing time; event times in the tests are a little before it.
  int64_t proc = 1'800'000'000'000;
  int64_t t0 = proc - 10 * minute;  // a multiple of a minute
  int ids = 0;

  rule_set rules_of(const std::string& rules_json) {
    auto r = parse_rules(rules_json, spans);
    if (!r.errors.empty()) CAF_FAIL("unexpected rules error: " << r.errors.front());
    rule_set rs;
    rs.rules = r.rules;
    return rs;
  }

  metric_row metric(int64_t ts, const std::string& name, double value,
                    const std::string& tags = "{}", const std::string& service = "api") {
    metric_row r;
    r.event_id = "m" + std::to_string(++ids);
    r.service = service;
    r.name = name;
    r.value = value;
    r.tags = tags;
    r.ts_ms = ts;
    return r;
  }

  log_row log(int64_t ts, const std::string& level, const std::string& service = "api") {
    log_row r;
    r.event_id = "l" + std::to_string(++ids);
    r.service = service;
    r.level = level;
    r.message = "m";
    r.attrs = "{}";
    r.ts_ms = ts;
    return r;
  }

  event_row event(int64_t ts, const std::string& type, const std::string& attrs,
                  const std::string& service = "api") {
    event_row r;
    r.event_id = "e" + std::to_string(++ids);
    r.service = service;
    r.type = type;
    r.attrs = attrs;
    r.ts_ms = ts;
    return r;
  }

  // The service's part of the batch (the batch must have rows of `service`).
  static service_batch_ptr part(const store_batch& b, const std::string& service = "api") {
    auto rows = std::make_shared<store_batch>(b);
    for (auto& sb : split_by_service(rows, false))
      if (sb->service == service) return sb;
    CAF_FAIL("no rows of service " << service);
    return nullptr;
  }

  static const rule_input* input_of(const window_report& rep, const std::string& rule,
                                    const std::string& group = "{}") {
    for (const auto& in : rep.inputs)
      if (in.rule == rule && in.group == group) return &in;
    return nullptr;
  }

  static std::string groups_of(const window_report& rep) {
    std::string out;
    for (const auto& in : rep.inputs) out += (out.empty() ? "" : " ") + in.rule + in.group;
    return out;
  }
};

const std::string latency_by_endpoint = R"({"rules":[{"name":"lat","type":"threshold",
  "metric":"latency","stat":"avg","window":"1m","threshold":100,"group_by":["endpoint"]}]})";

}  // namespace

CAF_TEST_FIXTURE_SCOPE(window_set_tests, fixture)

CAF_TEST(select_tags picks the keys in canonical order) {
  CAF_CHECK_EQUAL(select_tags(R"({"b":"2","a":"1","c":"x"})", {"b", "a"}), R"({"a":"1","b":"2"})");
  CAF_CHECK_EQUAL(select_tags(R"({"a":"1","b":"2"})", {"a", "b"}),
                  select_tags(R"({"b":"2","a":"1"})", {"b", "a"}));
  // Non-string values become their JSON text (as strings).
  CAF_CHECK_EQUAL(select_tags(R"({"code":500,"ok":true})", {"ok", "code"}),
                  R"({"code":"500","ok":"true"})");
  CAF_CHECK_EQUAL(select_tags(R"({"endpoint":"/a"})", {"endpoint", "missing"}),
                  R"({"endpoint":"/a"})");
  CAF_CHECK_EQUAL(select_tags(R"({"endpoint":"/a"})", {"missing"}), "{}");
  CAF_CHECK_EQUAL(select_tags(R"({"endpoint":"/a"})", {}), "{}");
  CAF_CHECK_EQUAL(select_tags("{}", {"endpoint"}), "{}");
  CAF_CHECK_EQUAL(select_tags("not json", {"endpoint"}), "{}");
  CAF_CHECK_EQUAL(select_tags(R"(["endpoint"])", {"endpoint"}), "{}");
}

CAF_TEST(flat_attrs gives text values) {
  auto a = flat_attrs(R"({"status":"failed","code":500,"ok":true,"nested":{"x":1},"n":null})");
  CAF_REQUIRE_EQUAL(a.size(), 5u);
  CAF_CHECK_EQUAL(a["status"], "failed");
  CAF_CHECK_EQUAL(a["code"], "500");
  CAF_CHECK_EQUAL(a["ok"], "true");
  CAF_CHECK_EQUAL(a["nested"], R"({"x":1})");
  CAF_CHECK_EQUAL(a["n"], "null");
  CAF_CHECK(flat_attrs("{}").empty());
  CAF_CHECK(flat_attrs("").empty());
  CAF_CHECK(flat_attrs("[1,2]").empty());
  CAF_CHECK(flat_attrs("{broken").empty());
}

CAF_TEST(a grouped threshold rule gets one input per group) {
  auto rules = rules_of(latency_by_endpoint);
  window_set ws(signal_kind::metric, "api");
  store_batch b;
  b.metrics.push_back(metric(t0 + 1 * sec, "latency", 10, R"({"endpoint":"/a","host":"h1"})"));
  b.metrics.push_back(metric(t0 + 2 * sec, "latency", 100, R"({"host":"h2","endpoint":"/b"})"));
  b.metrics.push_back(metric(t0 + 3 * sec, "latency", 20, R"({"endpoint":"/a","host":"h2"})"));
  b.metrics.push_back(metric(t0 + 4 * sec, "other", 5000, R"({"endpoint":"/a"})"));
  auto rep = ws.apply(*part(b), rules, proc);
  CAF_CHECK_EQUAL(rep.max_ts_ms, t0 + 4 * sec);
  CAF_CHECK_EQUAL(groups_of(rep), R"(lat{"endpoint":"/a"} lat{"endpoint":"/b"})");
  auto* a = input_of(rep, "lat", R"({"endpoint":"/a"})");
  auto* bb = input_of(rep, "lat", R"({"endpoint":"/b"})");
  CAF_REQUIRE(a != nullptr);
  CAF_REQUIRE(bb != nullptr);
  CAF_CHECK(a->kind == rule_input::statistic);
  CAF_CHECK_EQUAL(a->value, 15.0);
  CAF_CHECK(a->sufficient);
  CAF_CHECK_EQUAL(a->now_ms, t0 + 4 * sec);
  CAF_CHECK_EQUAL(bb->value, 100.0);
  CAF_CHECK(bb->sufficient);
  // Only watched metrics get rule windows: two series (lat/a, lat/b), not "other".
  CAF_CHECK_EQUAL(ws.series_count(), 2u);
  CAF_CHECK_EQUAL(ws.future_count(), 0u);
  CAF_CHECK_EQUAL(ws.overflow_count(), 0u);
  // Aggregates cover every series, watched or not.
  auto rows = ws.take_aggregates();
  bool other = false;
  for (const auto& r : rows) other = other || r.name == "other";
  CAF_CHECK(other);
}

CAF_TEST(rules of other services and without data give no input) {
  auto rules = rules_of(R"({"rules":[{"name":"lat","type":"threshold","metric":"latency",
    "threshold":100,"services":["web"]}]})");
  window_set ws(signal_kind::metric, "api");
  store_batch b;
  b.metrics.push_back(metric(t0, "latency", 500));
  auto rep = ws.apply(*part(b), rules, proc);
  CAF_CHECK(rep.inputs.empty());
  CAF_CHECK_EQUAL(ws.series_count(), 0u);
  // An empty batch before anything was windowed: no report.
  window_set fresh(signal_kind::metric, "api");
  service_batch empty;
  empty.rows = std::make_shared<store_batch>();
  empty.service = "api";
  auto none = fresh.apply(empty, rules, proc);
  CAF_CHECK(none.inputs.empty());
  CAF_CHECK_EQUAL(none.max_ts_ms, 0);
}

CAF_TEST(series beyond max_series are counted as overflow) {
  auto rules = rules_of(latency_by_endpoint);
  window_options opts;
  opts.max_series = 2;
  window_set ws(signal_kind::metric, "api", opts);
  store_batch b;
  b.metrics.push_back(metric(t0 + 1, "latency", 1, R"({"endpoint":"/a"})"));
  b.metrics.push_back(metric(t0 + 2, "latency", 2, R"({"endpoint":"/b"})"));
  b.metrics.push_back(metric(t0 + 3, "latency", 3, R"({"endpoint":"/c"})"));
  b.metrics.push_back(metric(t0 + 4, "latency", 4, R"({"endpoint":"/c"})"));
  b.metrics.push_back(metric(t0 + 5, "latency", 5, R"({"endpoint":"/a"})"));
  auto rep = ws.apply(*part(b), rules, proc);
  CAF_CHECK_EQUAL(ws.series_count(), 2u);
  CAF_CHECK_EQUAL(ws.overflow_count(), 2u);  // both samples of /c
  CAF_CHECK_EQUAL(groups_of(rep), R"(lat{"endpoint":"/a"} lat{"endpoint":"/b"})");
  auto* a = input_of(rep, "lat", R"({"endpoint":"/a"})");
  CAF_REQUIRE(a != nullptr);
  CAF_CHECK_EQUAL(a->value, 3.0);
  // Existing series keep taking samples; a new one still overflows.
  store_batch b2;
  b2.metrics.push_back(metric(t0 + 6, "latency", 9, R"({"endpoint":"/b"})"));
  b2.metrics.push_back(metric(t0 + 7, "latency", 9, R"({"endpoint":"/d"})"));
  rep = ws.apply(*part(b2), rules, proc);
  CAF_CHECK_EQUAL(ws.series_count(), 2u);
  CAF_CHECK_EQUAL(ws.overflow_count(), 3u);
  auto* bb = input_of(rep, "lat", R"({"endpoint":"/b"})");
  CAF_REQUIRE(bb != nullptr);
  CAF_CHECK_EQUAL(bb->value, 5.5);
}

CAF_TEST(future timestamps are counted and kept out of the windows) {
  auto rules = rules_of(latency_by_endpoint);
  window_options opts;
  opts.max_future_ms = 2 * minute;
  window_set ws(signal_kind::metric, "api", opts);
  store_batch b;
  b.metrics.push_back(metric(t0, "latency", 10, R"({"endpoint":"/a"})"));
  // Exactly at the limit is accepted, beyond it is not.
  b.metrics.push_back(metric(proc + 2 * minute + 1, "latency", 1e6, R"({"endpoint":"/a"})"));
  b.metrics.push_back(metric(proc + 3 * 3600 * sec, "latency", 1e6, R"({"endpoint":"/z"})"));
  auto rep = ws.apply(*part(b), rules, proc);
  CAF_CHECK_EQUAL(ws.future_count(), 2u);
  CAF_CHECK_EQUAL(ws.max_ts_ms(), t0);  // event time did not jump
  CAF_CHECK_EQUAL(rep.max_ts_ms, t0);
  CAF_CHECK_EQUAL(ws.series_count(), 1u);  // no series for /z
  auto* a = input_of(rep, "lat", R"({"endpoint":"/a"})");
  CAF_REQUIRE(a != nullptr);
  CAF_CHECK_EQUAL(a->value, 10.0);
  // Later normal samples are not late (the window did not move to the future).
  store_batch b2;
  b2.metrics.push_back(metric(t0 + sec, "latency", 20, R"({"endpoint":"/a"})"));
  b2.metrics.push_back(metric(proc + 2 * minute, "latency", 30, R"({"endpoint":"/a"})"));
  rep = ws.apply(*part(b2), rules, proc);
  CAF_CHECK_EQUAL(ws.future_count(), 2u);
  CAF_CHECK_EQUAL(ws.late_count(), 0u);
  CAF_CHECK_EQUAL(ws.max_ts_ms(), proc + 2 * minute);
  // Logs and events have the same guard.
  window_set logs(signal_kind::log, "api", opts);
  store_batch b3;
  b3.logs.push_back(log(t0, "error"));
  b3.logs.push_back(log(proc + 10 * minute, "error"));
  logs.apply(*part(b3), rules, proc);
  CAF_CHECK_EQUAL(logs.future_count(), 1u);
  CAF_CHECK_EQUAL(logs.max_ts_ms(), t0);
  window_set events(signal_kind::event, "api", opts);
  store_batch b4;
  b4.events.push_back(event(proc + 10 * minute, "deploy", "{}"));
  auto erep = events.apply(*part(b4), rules, proc);
  CAF_CHECK_EQUAL(events.future_count(), 1u);
  CAF_CHECK(erep.inputs.empty());
}

CAF_TEST(error rate is sufficient only with min_count logs) {
  auto rules = rules_of(R"({"rules":[{"name":"errs","type":"error_rate","threshold":0.1,
    "min_count":5,"window":"1m"}]})");
  window_set ws(signal_kind::log, "api");
  store_batch b;
  b.logs.push_back(log(t0 + 1, "error"));
  b.logs.push_back(log(t0 + 2, "info"));
  b.logs.push_back(log(t0 + 3, "fatal"));
  b.logs.push_back(log(t0 + 4, "warn"));
  auto rep = ws.apply(*part(b), rules, proc);
  auto* in = input_of(rep, "errs");
  CAF_REQUIRE(in != nullptr);
  CAF_CHECK(in->kind == rule_input::statistic);
  CAF_CHECK_EQUAL(in->value, 0.5);  // error + fatal of 4
  CAF_CHECK(!in->sufficient);       // 4 < min_count 5
  CAF_CHECK_EQUAL(in->now_ms, t0 + 4);
  store_batch b2;
  b2.logs.push_back(log(t0 + 5, "info"));
  rep = ws.apply(*part(b2), rules, proc);
  in = input_of(rep, "errs");
  CAF_REQUIRE(in != nullptr);
  CAF_CHECK_EQUAL(in->value, 0.4);
  CAF_CHECK(in->sufficient);
  // Unknown levels count as info.
  store_batch b3;
  b3.logs.push_back(log(t0 + 6, "bogus"));
  b3.logs.push_back(log(t0 + 7, "ERROR"));
  rep = ws.apply(*part(b3), rules, proc);
  in = input_of(rep, "errs");
  CAF_REQUIRE(in != nullptr);
  CAF_CHECK_EQUAL(in->value, 3.0 / 7.0);
}

CAF_TEST(error rate without min_count is sufficient with any log) {
  auto rules =
      rules_of(R"({"rules":[{"name":"errs","type":"error_rate","threshold":0.1,"window":"1m"}]})");
  window_set ws(signal_kind::log, "api");
  store_batch b;
  b.logs.push_back(log(t0, "error"));
  auto rep = ws.apply(*part(b), rules, proc);
  auto* in = input_of(rep, "errs");
  CAF_REQUIRE(in != nullptr);
  CAF_CHECK(in->sufficient);
  CAF_CHECK_EQUAL(in->value, 1.0);
  // Once the window is past that log it holds nothing: not sufficient.
  store_batch b2;
  b2.logs.push_back(log(t0 + 5 * minute, "info"));
  rep = ws.apply(*part(b2), rules, proc);
  in = input_of(rep, "errs");
  CAF_REQUIRE(in != nullptr);
  CAF_CHECK_EQUAL(in->value, 0.0);  // the error left the window, the info line is in it
  CAF_CHECK(in->sufficient);
}

CAF_TEST(event match counts matching events using their attrs) {
  auto rules = rules_of(R"({"rules":[
    {"name":"failed-deploy","type":"event_match","event_type":"deploy","match":{"status":"failed"}},
    {"name":"any-deploy","type":"event_match","event_type":"deploy"},
    {"name":"code-500","type":"event_match","event_type":"crash","match":{"code":"500"}}]})");
  window_set ws(signal_kind::event, "api");
  store_batch b;
  b.events.push_back(event(t0 + 1, "deploy", R"({"status":"failed","version":"1.2"})"));
  b.events.push_back(event(t0 + 2, "deploy", R"({"status":"ok"})"));
  b.events.push_back(event(t0 + 3, "deploy", R"({"status":"failed"})"));
  b.events.push_back(event(t0 + 4, "restart", R"({"status":"failed"})"));
  b.events.push_back(event(t0 + 5, "deploy", R"({})"));
  b.events.push_back(event(t0 + 6, "crash", R"({"code":500})"));  // number: compared as text
  b.events.push_back(event(t0 + 7, "crash", R"({"code":"501"})"));
  auto rep = ws.apply(*part(b), rules, proc);
  auto* failed = input_of(rep, "failed-deploy");
  auto* any = input_of(rep, "any-deploy");
  auto* crash = input_of(rep, "code-500");
  CAF_REQUIRE(failed != nullptr);
  CAF_REQUIRE(any != nullptr);
  CAF_REQUIRE(crash != nullptr);
  CAF_CHECK(failed->kind == rule_input::events);
  CAF_CHECK_EQUAL(failed->matches, 2u);
  CAF_CHECK_EQUAL(any->matches, 4u);
  CAF_CHECK_EQUAL(crash->matches, 1u);
  CAF_CHECK_EQUAL(failed->now_ms, t0 + 7);
  // A batch without matches gives no input for the rule.
  store_batch b2;
  b2.events.push_back(event(t0 + 8, "deploy", R"({"status":"ok"})"));
  rep = ws.apply(*part(b2), rules, proc);
  CAF_CHECK(input_of(rep, "failed-deploy") == nullptr);
  CAF_CHECK(input_of(rep, "code-500") == nullptr);
  CAF_REQUIRE(input_of(rep, "any-deploy") != nullptr);
  CAF_CHECK_EQUAL(input_of(rep, "any-deploy")->matches, 1u);
}

CAF_TEST(a silent series empties as the service event time moves on) {
  auto rules = rules_of(R"({"rules":[{"name":"lat","type":"threshold","metric":"latency",
    "stat":"avg","window":"1m","threshold":100,"min_count":1,"group_by":["endpoint"]}]})");
  window_set ws(signal_kind::metric, "api");
  store_batch b;
  b.metrics.push_back(metric(t0, "latency", 500, R"({"endpoint":"/a"})"));
  b.metrics.push_back(metric(t0, "latency", 50, R"({"endpoint":"/b"})"));
  auto rep = ws.apply(*part(b), rules, proc);
  auto* a = input_of(rep, "lat", R"({"endpoint":"/a"})");
  CAF_REQUIRE(a != nullptr);
  CAF_CHECK(a->sufficient);
  CAF_CHECK_EQUAL(a->value, 500.0);
  // Only /b sends from now on; after more than a minute of event time /a's window is empty.
  store_batch b2;
  b2.metrics.push_back(metric(t0 + 30 * sec, "latency", 60, R"({"endpoint":"/b"})"));
  rep = ws.apply(*part(b2), rules, proc);
  a = input_of(rep, "lat", R"({"endpoint":"/a"})");
  CAF_REQUIRE(a != nullptr);
  CAF_CHECK(a->sufficient);  // still within the minute
  CAF_CHECK_EQUAL(a->value, 500.0);
  store_batch b3;
  b3.metrics.push_back(metric(t0 + 61 * sec, "latency", 70, R"({"endpoint":"/b"})"));
  rep = ws.apply(*part(b3), rules, proc);
  a = input_of(rep, "lat", R"({"endpoint":"/a"})");
  auto* bb = input_of(rep, "lat", R"({"endpoint":"/b"})");
  CAF_REQUIRE(a != nullptr);
  CAF_REQUIRE(bb != nullptr);
  CAF_CHECK(!a->sufficient);
  CAF_CHECK_EQUAL(a->value, 0.0);
  CAF_CHECK_EQUAL(a->now_ms, t0 + 61 * sec);
  CAF_CHECK(bb->sufficient);
  CAF_CHECK_EQUAL(bb->value, 65.0);  // 60 and 70; 50 at t0 left the window
  // A series created later starts at the service's event time: an old sample is late.
  store_batch b4;
  b4.metrics.push_back(metric(t0 + 10 * sec, "latency", 1, R"({"endpoint":"/c"})"));
  ws.apply(*part(b4), rules, proc);
  CAF_CHECK_EQUAL(ws.late_count(), 1u);
  CAF_CHECK_EQUAL(ws.series_count(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()
