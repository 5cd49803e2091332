#define CAF_SUITE ingest
#include <boost/json.hpp>

#include "system/ingest/items.hpp"
#include "system/ingest/json_guard.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::ingest;
namespace json = boost::json;

namespace {

struct fixture {
  ingest_limits limits;
  request_context ctx;
  fixture() {
    std::string problem;
    parse_timestamp(json::value("2026-11-23T12:00:00Z"), ctx.now, problem);
  }
  parse_result parse(signal_kind k, std::string_view body, bool ndjson = false) {
    return parse_body(k, body, ndjson, limits, ctx);
  }
  json::object payload(const parse_result& r, size_t i = 0) {
    return json::parse(r.items.at(i).payload).as_object();
  }
  // A payload field as text (strings unquoted), returned by value for CAF_CHECK_EQUAL.
  std::string at(const parse_result& r, size_t i, const char* key) {
    auto o = payload(r, i);
    const auto& v = o.at(key);
    return v.is_string() ? std::string{v.get_string()} : json::serialize(v);
  }
  // CAF_CHECK_EQUAL keeps references to its arguments: return values, not members of temporaries.
  std::string field_of(signal_kind k, std::string_view body) {
    auto r = parse(k, body);
    return r.errors.empty() ? "<accepted>" : r.errors.front().field;
  }
  int status_of(signal_kind k, std::string_view body) { return parse(k, body).status; }
  std::string first_problem(const parse_result& r) {
    return r.errors.empty() ? "" : r.errors.front().field + ": " + r.errors.front().problem;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(ingest_tests, fixture)

CAF_TEST(the seed log line is accepted with its envelope) {
  auto r = parse(
      signal_kind::log,
      R"({"value": {"level": "error", "msg": "Database connection failed", "service": "api", "host": "server-01"}})");
  CAF_REQUIRE(r.errors.empty());
  CAF_REQUIRE_EQUAL(r.items.size(), 1u);
  CAF_CHECK_EQUAL(r.items[0].service, "api");
  auto p = payload(r);
  CAF_CHECK_EQUAL(at(r, 0, "level"), "error");
  CAF_CHECK_EQUAL(at(r, 0, "message"), "Database connection failed");
  CAF_CHECK_EQUAL(at(r, 0, "host"), "server-01");
  CAF_CHECK_EQUAL(at(r, 0, "ts"), "2026-11-23T12:00:00.000000Z");  // defaulted to receipt time
  CAF_CHECK_EQUAL(p["event_id"].as_string().size(), 36u);          // assigned UUIDv7
}

CAF_TEST(the seed metric line becomes a sample with tags) {
  auto r =
      parse(signal_kind::metric,
            R"({"value": {"response_time": 250, "endpoint": "/api/users", "status_code": 200}})");
  CAF_REQUIRE(r.errors.empty());
  auto p = payload(r);
  CAF_CHECK_EQUAL(r.items[0].service, "unknown");
  CAF_CHECK_EQUAL(at(r, 0, "samples"), R"([{"name":"response_time","value":2.5E2}])");
  CAF_CHECK_EQUAL(at(r, 0, "tags"), R"({"endpoint":"/api/users","status_code":"200"})");
}

CAF_TEST(arrays and NDJSON give one item each) {
  auto r = parse(signal_kind::event, R"([{"type":"deploy"},{"type":"restart","service":"db"}])");
  CAF_REQUIRE(r.errors.empty());
  CAF_CHECK_EQUAL(r.items.size(), 2u);
  auto n = parse(signal_kind::event, "{\"type\":\"a\"}\n\n{\"type\":\"b\"}\n", true);
  CAF_CHECK_EQUAL(n.items.size(), 2u);
  // NDJSON sent as application/json is recognised too.
  auto m = parse(signal_kind::event, "{\"type\":\"a\"}\n{\"type\":\"b\"}");
  CAF_CHECK_EQUAL(m.items.size(), 2u);
}

CAF_TEST(client event ids are kept and validated) {
  auto r = parse(signal_kind::log, R"({"event_id":"req-42:a","message":"x"})");
  CAF_REQUIRE(r.errors.empty());
  CAF_CHECK_EQUAL(r.items[0].event_id, "req-42:a");
  auto bad = parse(signal_kind::log, R"({"event_id":"has space","message":"x"})");
  CAF_CHECK_EQUAL(bad.status, 400);
  CAF_CHECK_EQUAL(bad.errors.at(0).field, "event_id");
}

CAF_TEST(one bad item rejects the whole request naming index and field) {
  auto r = parse(signal_kind::log, R"([{"message":"ok"},{"message":"x","level":"loud"}])");
  CAF_CHECK_EQUAL(r.status, 400);
  CAF_CHECK(r.items.empty());
  CAF_REQUIRE_EQUAL(r.errors.size(), 1u);
  CAF_CHECK_EQUAL(r.errors[0].index, 1);
  CAF_CHECK_EQUAL(r.errors[0].field, "level");
}

CAF_TEST(values postgres would refuse are rejected at the edge) {
  auto nul = parse(signal_kind::log, R"({"message":"a\u0000b"})");
  CAF_CHECK_EQUAL(nul.status, 400);
  CAF_CHECK(first_problem(nul).find("NUL") != std::string::npos);
  auto nulkey = parse(signal_kind::log, R"({"message":"a","attrs":{"k\u0000":1}})");
  CAF_CHECK_EQUAL(nulkey.status, 400);
  auto inf = parse(signal_kind::metric, R"({"name":"x","value":1e400})");
  CAF_CHECK_EQUAL(inf.status, 400);
  CAF_CHECK(first_problem(inf).find("finite") != std::string::npos);
  auto big = parse(signal_kind::metric, R"({"name":"x","value":9007199254740993})");
  CAF_CHECK_EQUAL(big.status, 400);
  CAF_CHECK(first_problem(big).find("2^53") != std::string::npos);
  CAF_CHECK_EQUAL(first_problem(big).substr(0, 5), "value");
  auto huge = parse(signal_kind::metric, R"({"name":"x","value":123456789012345678901234567890})");
  CAF_CHECK_EQUAL(huge.status, 400);
  auto fine = parse(signal_kind::metric, R"({"name":"x","value":9007199254740992})");
  CAF_CHECK(fine.errors.empty());
  auto real = parse(signal_kind::metric, R"({"name":"x","value":1.5e300})");
  CAF_CHECK(real.errors.empty());
}

CAF_TEST(limits on depth strings items and body shape) {
  std::string deep = R"({"message":"x","attrs":)";
  for (int i = 0; i < 20; ++i) deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 21; ++i) deep += "}";
  auto d = parse(signal_kind::log, deep);
  CAF_CHECK_EQUAL(d.status, 400);
  CAF_CHECK(first_problem(d).find("nesting") != std::string::npos);
  limits.max_string_bytes = 100;
  auto s = parse(signal_kind::log, R"({"message":")" + std::string(101, 'x') + "\"}");
  CAF_CHECK_EQUAL(s.status, 400);
  limits.max_items = 2;
  auto many = parse(signal_kind::event, R"([{"type":"a"},{"type":"b"},{"type":"c"}])");
  CAF_CHECK_EQUAL(many.status, 413);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, ""), 400);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, "[]"), 400);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, "{\"message\":"), 400);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, "42"), 400);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, R"({"message":"x"} trailing)"), 400);
}

CAF_TEST(required fields and types per kind) {
  CAF_CHECK_EQUAL(field_of(signal_kind::log, R"({"level":"info"})"), "message");
  CAF_CHECK_EQUAL(field_of(signal_kind::event, R"({"name":"x"})"), "type");
  CAF_CHECK_EQUAL(field_of(signal_kind::metric, R"({"endpoint":"/x"})"), "value");
  CAF_CHECK_EQUAL(field_of(signal_kind::metric, R"({"name":"x","value":"3"})"), "value");
  CAF_CHECK_EQUAL(field_of(signal_kind::log, R"({"message":5})"), "message");
  CAF_CHECK_EQUAL(field_of(signal_kind::log, R"({"message":"x","service":""})"), "service");
}

CAF_TEST(timestamps accept rfc3339 and epochs and enforce bounds) {
  auto r = parse(signal_kind::log, R"([{"message":"a","ts":"2026-11-23T13:30:00.5+01:00"},
                                       {"message":"b","ts":1795435200},
                                       {"message":"c","timestamp":1795435200123}])");
  CAF_REQUIRE(r.errors.empty());
  CAF_CHECK_EQUAL(at(r, 0, "ts"), "2026-11-23T12:30:00.500000Z");
  CAF_CHECK_EQUAL(at(r, 1, "ts"), "2026-11-23T12:00:00.000000Z");
  CAF_CHECK_EQUAL(at(r, 2, "ts"), "2026-11-23T12:00:00.123000Z");
  CAF_CHECK_EQUAL(status_of(signal_kind::log, R"({"message":"a","ts":"yesterday"})"), 400);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, R"({"message":"a","ts":"2026-02-30T00:00:00Z"})"),
                  400);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, R"({"message":"a","ts":"2020-01-01T00:00:00Z"})"),
                  400);
  CAF_CHECK_EQUAL(status_of(signal_kind::log, R"({"message":"a","ts":"2027-01-01T00:00:00Z"})"),
                  400);
}

CAF_TEST(levels are normalized) {
  auto r = parse(signal_kind::log,
                 R"([{"message":"a","level":"WARNING"},{"message":"b","severity":"critical"}])");
  CAF_REQUIRE(r.errors.empty());
  CAF_CHECK_EQUAL(at(r, 0, "level"), "warn");
  CAF_CHECK_EQUAL(at(r, 1, "level"), "fatal");
}

CAF_TEST(websocket frames carry their kind) {
  auto r = parse_frame(R"([{"kind":"log","message":"a"},{"kind":"metrics","name":"x","value":1}])",
                       nullptr, limits, ctx);
  CAF_REQUIRE(r.errors.empty());
  CAF_CHECK(r.kinds.at(0) == signal_kind::log);
  CAF_CHECK(r.kinds.at(1) == signal_kind::metric);
  CAF_CHECK(json::parse(r.items[0].payload).as_object()["attrs"].as_object().empty());
  auto missing = parse_frame(R"({"message":"a"})", nullptr, limits, ctx);
  CAF_REQUIRE(!missing.errors.empty());
  std::string missing_field = missing.errors.at(0).field;
  CAF_CHECK_EQUAL(missing_field, "kind");
  signal_kind def = signal_kind::event;
  CAF_CHECK(parse_frame(R"({"type":"deploy"})", &def, limits, ctx).errors.empty());
}

CAF_TEST(event ids are unique and time ordered) {
  auto a = new_event_id(ctx.now);
  auto b = new_event_id(ctx.now + std::chrono::milliseconds{1});
  CAF_CHECK_NOT_EQUAL(a, b);
  CAF_CHECK_LESS(a, b);
  CAF_CHECK_EQUAL(a[14], '7');
}

CAF_TEST_FIXTURE_SCOPE_END()
