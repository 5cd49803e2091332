#define CAF_SUITE api_params
#include <string>

#include "system/api/params.hpp"
#include "system/api/service.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::api;

namespace {

query q_of(const std::string& target) {
  std::string path;
  query q;
  parse_target(target, path, q);
  return q;
}

// The message of the bad_request `f` throws ("" if it throws none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const bad_request& e) {
    return e.what();
  }
  return "";
}

sys_time at(const std::string& iso) {
  sys_time t;
  std::string problem;
  if (!ingest::parse_timestamp(boost::json::string(iso), t, problem)) CAF_FAIL("bad time " << iso);
  return t;
}

}  // namespace

CAF_TEST(the target is split into path and decoded parameters) {
  std::string path;
  query q;
  parse_target("/api/logs?q=payment%20gateway&service=a%2Bb&empty=", path, q);
  CAF_CHECK_EQUAL(path, "/api/logs");
  CAF_CHECK_EQUAL(*q.get("q"), "payment gateway");
  CAF_CHECK_EQUAL(*q.get("service"), "a+b");
  CAF_CHECK_EQUAL(*q.get("empty"), "");
  CAF_CHECK(!q.get("limit"));
  CAF_CHECK_EQUAL(error_of([] { q_of("/api/logs?limit=1&limit=2"); }),
                  "limit: given more than once");
}

CAF_TEST(limit defaults to 50 and is bounded by 200) {
  CAF_CHECK_EQUAL(parse_limit(q_of("/x")), 50);
  CAF_CHECK_EQUAL(parse_limit(q_of("/x?limit=1")), 1);
  CAF_CHECK_EQUAL(parse_limit(q_of("/x?limit=200")), 200);
  for (auto bad : {"0", "201", "500", "-1", "ten", "", "1e2", "9999999999"}) {
    auto msg = error_of([&] { parse_limit(q_of(std::string{"/x?limit="} + bad)); });
    CAF_CHECK(msg.rfind("limit: ", 0) == 0);
  }
}

CAF_TEST(time ranges default to the last hour and are at most 31 days) {
  auto now = at("2026-11-24T10:00:00Z");
  auto r = parse_range(q_of("/x"), now);
  CAF_CHECK(r.to == now);
  CAF_CHECK(r.from == now - std::chrono::hours{1});
  r = parse_range(q_of("/x?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00%2B01:00"), now);
  CAF_CHECK_EQUAL(iso_ms(r.from), "2026-11-01T00:00:00.000Z");
  CAF_CHECK_EQUAL(iso_ms(r.to), "2026-11-01T23:00:00.000Z");
  r = parse_range(q_of("/x?from=1700000000&to=1700003600"), now);  // epoch seconds
  CAF_CHECK_EQUAL(iso_ms(r.from), "2023-11-14T22:13:20.000Z");
  r = parse_range(q_of("/x?from=2026-10-24T10:00:00Z"), now);  // exactly 31 days
  CAF_CHECK(r.to - r.from == std::chrono::hours{24 * 31});
  CAF_CHECK(error_of([&] {
              parse_range(q_of("/x?from=2026-10-24T09:59:59Z"), now);
            }).rfind("from: ", 0) == 0);
  CAF_CHECK(error_of([&] {
              parse_range(q_of("/x?from=2026-11-25T00:00:00Z"), now);
            }).rfind("from: must be before to", 0) == 0);
  CAF_CHECK(error_of([&] { parse_range(q_of("/x?to=tomorrow"), now); }).rfind("to: ", 0) == 0);
  CAF_CHECK(error_of([&] {
              parse_range(q_of("/x?from=2026-02-30T00:00:00Z"), now);
            }).rfind("from: ", 0) == 0);
}

CAF_TEST(status lists expand open and refuse unknown statuses) {
  CAF_CHECK(parse_statuses(q_of("/x")).empty());
  auto s = parse_statuses(q_of("/x?status=open"));
  CAF_CHECK_EQUAL(s.size(), 3u);
  s = parse_statuses(q_of("/x?status=triggered,acknowledged,triggered"));
  CAF_CHECK_EQUAL(s.size(), 2u);
  CAF_CHECK_EQUAL(s.at(0), "triggered");
  CAF_CHECK(error_of([] {
              parse_statuses(q_of("/x?status=open,burning"));
            }).rfind("status: unknown status 'burning'", 0) == 0);
  CAF_CHECK(error_of([] { parse_statuses(q_of("/x?status=triggered,")); }).rfind("status:", 0) ==
            0);
}

CAF_TEST(cursors round trip and anything else is refused) {
  cursor c{1'764'000'000'123'456, "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"};
  auto text = encode_cursor(c);
  CAF_CHECK(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
  auto back = decode_cursor(text);
  CAF_REQUIRE(back);
  CAF_CHECK(*back == c);
  cursor odd{-5, "id|with|bars"};
  CAF_CHECK(*decode_cursor(encode_cursor(odd)) == odd);
  for (auto bad : {"", "not-a-cursor", "!!!!", "MTIz", "fDEyMw", "YWJjfGlk"})
    CAF_CHECK(!decode_cursor(bad));
  CAF_CHECK(!decode_cursor(text + "A"));
  // base64url("9999999999999999999|x"): too many digits for an int64, refused, not thrown.
  CAF_CHECK(!decode_cursor("OTk5OTk5OTk5OTk5OTk5OTk5OXx4"));
  CAF_CHECK(error_of([] { parse_cursor(q_of("/x?cursor=zzz")); }).rfind("cursor: ", 0) == 0);
}

CAF_TEST(times are formatted with milliseconds or microseconds) {
  auto t = at("2026-11-24T10:00:00.123456Z");
  CAF_CHECK_EQUAL(iso_ms(t), "2026-11-24T10:00:00.123Z");
  CAF_CHECK_EQUAL(iso_us(to_us(t)), "2026-11-24T10:00:00.123456Z");
  CAF_CHECK_EQUAL(iso_us(0), "1970-01-01T00:00:00.000000Z");
}

CAF_TEST(uuids are checked for shape) {
  CAF_CHECK(valid_uuid("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
  CAF_CHECK(!valid_uuid("0193a1b2c3d47e5f8a9b0c1d2e3f4a5b"));
  CAF_CHECK(!valid_uuid("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g"));
  CAF_CHECK(!valid_uuid("' or 1=1 --"));
}

CAF_TEST(series widths follow the range) {
  using std::chrono::hours;
  using std::chrono::seconds;
  CAF_CHECK_EQUAL(series_width_s(seconds{600}), 10);
  CAF_CHECK_EQUAL(series_width_s(hours{1}), 10);
  CAF_CHECK_EQUAL(series_width_s(hours{1} + seconds{1}), 60);
  CAF_CHECK_EQUAL(series_width_s(hours{24}), 60);
  CAF_CHECK_EQUAL(series_width_s(hours{48}), 600);
  CAF_CHECK_EQUAL(series_width_s(hours{24 * 7}), 1800);
  CAF_CHECK_EQUAL(series_width_s(hours{24 * 31}), 7200);
}

CAF_TEST(like patterns escape the wildcards of the search text) {
  CAF_CHECK_EQUAL(like_pattern("disk"), "%disk%");
  CAF_CHECK_EQUAL(like_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
}

CAF_TEST(silence bodies are validated field by field) {
  auto now = at("2026-11-24T10:00:00Z");
  auto ok = parse_silence(R"({"service":"api","labels":{"team":"core"},"duration_s":600})", now);
  CAF_CHECK_EQUAL(ok.service, "api");
  CAF_CHECK_EQUAL(ok.ends_at, "2026-11-24T10:10:00.000Z");
  CAF_CHECK_EQUAL(ok.labels, R"({"team":"core"})");
  auto ur = parse_silence(R"({"rule":"r","until_resolved":true})", now);
  CAF_CHECK(ur.until_resolved);
  CAF_CHECK_EQUAL(ur.ends_at, "");
  auto e = parse_silence(R"({"severity":"critical","ends_at":"2026-11-25T00:00:00Z"})", now);
  CAF_CHECK_EQUAL(e.ends_at, "2026-11-25T00:00:00.000Z");
  std::pair<const char*, const char*> bad[] = {
      {R"({"duration_s":60})", "service:"},
      {R"({"service":"a"})", "ends_at:"},
      {R"({"service":"a","until_resolved":false})", "ends_at:"},
      {R"({"service":"a","duration_s":60,"until_resolved":true})", "ends_at:"},
      {R"({"service":"a","ends_at":"2026-11-24T09:00:00Z"})", "ends_at:"},
      {R"({"service":"a","duration_s":0})", "duration_s:"},
      {R"({"service":"a","duration_s":1.5})", "duration_s:"},
      {R"({"severity":"loud","duration_s":1})", "severity:"},
      {R"({"service":"","duration_s":1})", "service:"},
      {R"({"service":"a","labels":[],"duration_s":1})", "labels:"},
      {R"({"service":"a","comment":7,"duration_s":1})", "comment:"},
      {R"({"service":"a","duration_s":1,"extra":1})", "extra:"},
      {R"(["service"])", "body:"},
      {R"({not json)", "body:"},
  };
  for (auto [body, field] : bad) {
    auto msg = error_of([&] { parse_silence(body, now); });
    if (msg.rfind(field, 0) != 0) CAF_FAIL(body << " -> '" << msg << "', want " << field);
  }
}
