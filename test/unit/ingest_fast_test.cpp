#define CAF_SUITE ingest_fast
// The fast path (system/ingest/fast_body.hpp) must answer exactly as the general (DOM) path:
// the same items with byte-identical payloads, and for whatever it does not take, the general
// path's answer. Checked on exact payload strings and on thousands of generated bodies.
#include <algorithm>
#include <random>
#include <vector>

#include "system/ingest/fast_body.hpp"
#include "system/ingest/items.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::ingest;

namespace {

struct fixture {
  ingest_limits limits;
  request_context ctx;
  fixture() {
    std::string problem;
    parse_timestamp_text("2026-11-23T12:00:00Z", ctx.now, problem);
    ctx.now_text = format_timestamp(ctx.now);
  }
  // The payload of a body's only item, through the fast path ("" if it did not take it).
  std::string fast_payload(signal_kind k, std::string_view body, bool ndjson = true) {
    parse_result r;
    if (!detail::parse_body_fast(k, body, ndjson, limits, ctx, r) || r.items.size() != 1) return "";
    return r.items[0].payload;
  }
  std::string general_payload(signal_kind k, std::string_view body, bool ndjson = true) {
    auto r = detail::parse_body_general(k, body, ndjson, limits, ctx);
    return r.items.size() == 1 ? r.items[0].payload : "";
  }
};

// Assigned event ids are random: compare payloads with the id masked.
std::string masked(const item& it) {
  auto p = it.payload;
  auto at = p.find(it.event_id);
  if (at != std::string::npos) p.replace(at, it.event_id.size(), "ID");
  return p;
}

// Describes the difference between two results ("" when they agree).
std::string compare(const parse_result& a, const parse_result& b) {
  if (a.status != b.status) return "status";
  if (a.errors.size() != b.errors.size()) return "error count";
  for (size_t i = 0; i < a.errors.size(); ++i)
    if (a.errors[i].index != b.errors[i].index || a.errors[i].field != b.errors[i].field ||
        a.errors[i].problem != b.errors[i].problem)
      return "error " + std::to_string(i) + ": " + a.errors[i].problem + " / " +
             b.errors[i].problem;
  if (a.items.size() != b.items.size()) return "item count";
  for (size_t i = 0; i < a.items.size(); ++i) {
    const auto &x = a.items[i], &y = b.items[i];
    bool assigned = x.payload.find("\"assigned_id\":true") != std::string::npos;
    if (x.service != y.service || masked(x) != masked(y) || (!assigned && x.event_id != y.event_id))
      return "item " + std::to_string(i) + ":\n  " + x.payload + "\n  " + y.payload;
  }
  return "";
}

// Random items from pieces chosen to hit every check: valid and invalid values of each field,
// escapes, nesting, duplicates, envelopes, extra fields that collide with attrs keys.
struct generator {
  std::mt19937 rng{12345};
  int pick(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
  template <size_t N>
  std::string one_of(const char* const (&xs)[N]) {
    return xs[pick(static_cast<int>(N))];
  }
  std::string scalar() {
    static const char* const xs[] = {"\"plain\"",
                                     "\"with \\\"quotes\\\" and \\\\ slash\"",
                                     "\"tab\\there\"",
                                     "\"\\u00e9t\\u00E9 \\ud83d\\ude00\"",
                                     "\"\\u0001ctl\"",
                                     "\"\\u0000nul\"",
                                     "\"caf\xc3\xa9\"",
                                     "\"\\/\"",
                                     "\"\x7f del\"",
                                     "0",
                                     "-0",
                                     "42",
                                     "-17",
                                     "9007199254740992",
                                     "9007199254740993",
                                     "18446744073709551616",
                                     "1e400",
                                     "41.66",
                                     "1.0",
                                     "-2.5e-3",
                                     "1E2",
                                     "123456789012345678901234567890.5",
                                     "true",
                                     "false",
                                     "null",
                                     "\"\"",
                                     "\"x\""};
    return one_of(xs);
  }
  std::string key() {
    static const char* const xs[] = {"\"a\"",        "\"b\"",    "\"pod\"",      "\"status\"",
                                     "\"k\\u0031\"", "\"k1\"",   "\"tr\\tace\"", "\"\"",
                                     "\"attrs\"",    "\"type\"", "\"x y\""};
    return one_of(xs);
  }
  std::string value(int depth) {
    int c = depth > 3 ? 0 : pick(6);
    if (c == 4) {
      std::string s = "{";
      int n = pick(4);
      for (int i = 0; i < n; ++i) s += (i ? "," : "") + key() + ":" + value(depth + 1);
      return s + "}";
    }
    if (c == 5) {
      std::string s = "[";
      int n = pick(4);
      for (int i = 0; i < n; ++i) s += (i ? ", " : "") + value(depth + 1);
      return s + "]";
    }
    return scalar();
  }
  std::string field() {
    switch (pick(17)) {
      case 0:
        return "\"event_id\":" + one_of({"\"abc-1\"", "\"bad id\"", "7", "\"e:1.2_3\""});
      case 1:
        return "\"ts\":" +
               one_of({"\"2026-11-23T11:00:00Z\"", "\"2026-11-23T11:00:00.5+01:00\"",
                       "\"yesterday\"", "1795000000", "1795000000123", "-5", "1795000000.25",
                       "\"2020-01-01T00:00:00Z\"", "{}", "\"2026-11-23T12:00:00Z\""});
      case 2:
        return "\"timestamp\":" + one_of({"\"2026-11-23T10:00:00Z\"", "1795000000", "null"});
      case 3:
        return "\"service\":" +
               one_of({"\"api\"", "\"\"", "5", "\"bad\\nname\"", "\"svc-\\u00e9\""});
      case 4:
        return "\"message\":" +
               one_of({"\"hello\"", "\"\"", "3", "\"multi\\nline\"", "\"a \\\"q\\\"\""});
      case 5:
        return "\"msg\":" + one_of({"\"short\"", "null", "\"t\\tab\""});
      case 6:
        return "\"level\":" +
               one_of({"\"ERROR\"", "\"warning\"", "\"nope\"", "\"info\"", "\"crit\"", "1"});
      case 7:
        return "\"severity\":" + one_of({"\"debug\"", "\"Fatal\"", "\"x\""});
      case 8:
        return "\"host\":" + one_of({"\"h1\"", "\"\"", "[]"});
      case 9:
        return "\"type\":" + one_of({"\"deploy\"", "\"\"", "{\"a\":1}"});
      case 10:
      case 11:
        return "\"attrs\":" + (pick(5) ? value(0) : "{\"pod\":\"p\",\"status\":200}");
      case 12:
      case 13:
        return key() + ":" + value(1);
      case 14:
        return "\"me\\u0073sage\":\"escaped key\"";
      case 15:
        return "\"value\":" + value(1);
      default:
        return "\"kind\":\"log\"";
    }
  }
  // A valid item with random attrs, extra fields and key order.
  std::string clean_item() {
    std::vector<std::string> fs = {"\"message\":\"m \\u00e9\"", "\"type\":\"deploy\""};
    if (pick(2)) fs.push_back("\"service\":\"svc-" + std::to_string(pick(9)) + "\"");
    if (pick(2)) fs.push_back("\"ts\":\"2026-11-23T11:16:23.6" + std::to_string(pick(9)) + "Z\"");
    if (pick(2)) fs.push_back("\"level\":\"" + one_of({"info", "WARN", "err"}) + "\"");
    if (pick(2)) fs.push_back("\"host\":\"ip-10\"");
    if (pick(3)) fs.push_back("\"event_id\":\"id-" + std::to_string(pick(1000)) + "\"");
    if (pick(4)) {
      std::string a = "{";
      int n = pick(5);
      for (int i = 0; i < n; ++i)
        a += (i ? "," : "") + std::string{"\"k"} + std::to_string(i) + "\":" + value(2);
      fs.push_back("\"attrs\":" + a + "}");
    }
    for (int i = pick(4); i > 0; --i)
      fs.push_back("\"k" + std::to_string(pick(6)) + "\":" + value(2));
    std::shuffle(fs.begin(), fs.end(), rng);
    std::string s = "{";
    for (size_t i = 0; i < fs.size(); ++i) s += (i ? "," : "") + fs[i];
    return s + "}";
  }
  std::string item() {
    if (pick(3)) return clean_item();
    std::string s = "{";
    int n = 1 + pick(7);
    for (int i = 0; i < n; ++i) s += (i ? (pick(2) ? "," : " , ") : "") + field();
    if (pick(3)) s += ",\"message\":\"m\",\"type\":\"t\"";
    s += "}";
    if (pick(12) == 0) s = "{\"value\": " + s + "}";
    if (pick(40) == 0) s = one_of({"[1]", "\"str\"", "{", "{} x", "{\"a\":1,\"a\":2}"});
    return s;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(ingest_fast_tests, fixture)

CAF_TEST(exact payloads of representative items) {
  struct {
    signal_kind kind;
    const char* body;
    const char* payload;
  } cases[] = {
      {signal_kind::log,
       R"({"event_id":"e-1","ts":"2026-11-23T11:16:23.677785Z","service":"svc-0","level":"info","host":"ip-10-0-3-114","message":"user 146316 upload finished in 105 ms","attrs":{"pod":"svc-88696","trace_id":"16419f","status":404,"latency_ms":41.66}})",
       R"({"event_id":"e-1","ts":"2026-11-23T11:16:23.677785Z","service":"svc-0","level":"info","message":"user 146316 upload finished in 105 ms","host":"ip-10-0-3-114","attrs":{"pod":"svc-88696","trace_id":"16419f","status":404,"latency_ms":4.166E1}})"},
      {signal_kind::log,
       R"({"event_id":"e-2","msg":"a\/b \"q\" \u00e9","severity":"WARNING","ts":1795000000,"trace":"t","attrs":{"trace":1,"x":[1,2.5,{"y":null}]},"z":true})",
       "{\"event_id\":\"e-2\",\"ts\":\"2026-11-18T11:06:40.000000Z\",\"service\":\"unknown\","
       "\"level\":\"warn\",\"message\":\"a/b \\\"q\\\" \xc3\xa9\",\"attrs\":{\"trace\":\"t\","
       "\"x\":[1,2.5E0,{\"y\":null}],\"z\":true}}"},
      {signal_kind::event,
       R"({"event_id":"e-3","type":"deploy","service":"api","level":"x","attrs":{}})",
       R"({"event_id":"e-3","ts":"2026-11-23T12:00:00.000000Z","service":"api","type":"deploy","attrs":{"level":"x"}})"},
  };
  for (auto& c : cases) {
    CAF_CHECK_EQUAL(fast_payload(c.kind, c.body), c.payload);
    CAF_CHECK_EQUAL(general_payload(c.kind, c.body), c.payload);
  }
}

CAF_TEST(what the fast path does not take goes to the general path) {
  // Envelopes, duplicate keys, metrics and invalid items are answered by the general path.
  parse_result r;
  CAF_CHECK(
      !detail::parse_body_fast(signal_kind::log, R"({"value":{"msg":"m"}})", true, limits, ctx, r));
  CAF_CHECK(
      !detail::parse_body_fast(signal_kind::log, R"({"msg":"m","msg":"n"})", true, limits, ctx, r));
  CAF_CHECK(!detail::parse_body_fast(signal_kind::metric, R"({"cpu":1})", true, limits, ctx, r));
  CAF_CHECK(!detail::parse_body_fast(signal_kind::log, "{\"msg\":\"m\"}\n{\"level\":1}", true,
                                     limits, ctx, r));
  // NUL characters: raw ones are malformed JSON, escaped ones are refused (json_guard).
  std::string raw_nul("{\"msg\":\"a\0b\"}", 13);
  CAF_CHECK(!detail::parse_body_fast(signal_kind::log, raw_nul, true, limits, ctx, r));
  CAF_CHECK(
      !detail::parse_body_fast(signal_kind::log, R"({"msg":"ab\u0000"})", true, limits, ctx, r));
  CAF_CHECK(!detail::parse_body_fast(signal_kind::log, R"({"msg":"m","a\u0000":1})", true, limits,
                                     ctx, r));
  CAF_CHECK(r.items.empty());
  CAF_CHECK(detail::parse_body_fast(signal_kind::log, "[{\"msg\":\"m\"},{\"msg\":\"n\"}]", false,
                                    limits, ctx, r));
  CAF_CHECK_EQUAL(r.items.size(), 2u);
}

CAF_TEST(generated bodies get the same answer from both paths) {
  generator gen;
  limits.max_items = 20;
  limits.max_string_bytes = 64;
  limits.max_depth = 5;
  size_t fast = 0, total = 0;
  for (int n = 0; n < 20000; ++n) {
    auto kind = gen.pick(2) ? signal_kind::log : signal_kind::event;
    int items = 1 + gen.pick(n % 50 == 0 ? 25 : 3);
    int shape = gen.pick(4);  // NDJSON, NDJSON under application/json, array, lone object
    std::string body = shape == 2 ? "[" : "";
    for (int i = 0; i < items; ++i) {
      if (shape == 2)
        body += i ? ", " : "";
      else if (i)
        body += gen.pick(8) ? "\n" : "\r\n\n";
      body += gen.item();
      if (shape == 3) break;
    }
    if (shape == 2) body += "]";
    if (gen.pick(10) == 0) body += "\n  ";
    bool ndjson = shape == 0;
    auto general = detail::parse_body_general(kind, body, ndjson, limits, ctx);
    auto final_ = parse_body(kind, body, ndjson, limits, ctx);
    parse_result fr;
    if (detail::parse_body_fast(kind, body, ndjson, limits, ctx, fr)) {
      ++fast;
      CAF_CHECK(general.errors.empty());
      auto diff = compare(general, fr);
      if (!diff.empty()) CAF_FAIL("fast path differs: " << diff << "\nbody: " << body);
    }
    ++total;
    auto diff = compare(general, final_);
    if (!diff.empty()) CAF_FAIL("parse_body differs: " << diff << "\nbody: " << body);
  }
  CAF_MESSAGE("fast path took " << fast << " of " << total << " bodies");
  CAF_CHECK_GREATER(fast, total / 20);
}

CAF_TEST_FIXTURE_SCOPE_END()
