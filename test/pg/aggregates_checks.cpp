// rtmon::pg::processing_store's aggregate upserts against a real PostgreSQL (called by
// processing_store_test.cpp's main, in its database).
#include <chrono>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "system/pg/processing_store.hpp"
#include "test/pg/checks.hpp"

namespace rtmon::pg_test {

namespace {

constexpr int64_t t0 = 1700000000123;  // 2023-11-14 22:13:20.123 UTC: not a whole second

aggregate_row agg(const std::string& service, const std::string& signal, const std::string& name,
                  int64_t bucket, uint64_t n) {
  aggregate_row r;
  r.service = service;
  r.signal = signal;
  r.name = name;
  r.series = R"({"host": "h1"})";
  r.bucket_ms = bucket;
  r.width_s = 10;
  r.count = n;
  r.sum = 1.5 * static_cast<double>(n);
  r.min = 0.25;
  r.max = 2.5;
  r.p50 = 1.25;
  r.p95 = 2.25;
  r.p99 = 2.45;
  return r;
}

}  // namespace

void test_aggregates(pg::processing_store& store, pqxx::connection& db) {
  section("aggregates: insert");
  auto m = agg("checkout", "metric", "latency_ms", t0, 4);
  auto l = agg("checkout", "log", "", t0, 10);
  l.errors = 3;
  l.detail = R"({"info": 7, "error": 3})";
  auto e = agg("checkout", "event", "deploy", t0, 2);
  auto empty_log = agg("checkout", "log", "", t0 + 10000, 0);
  store.upsert_aggregates({m, l, e, empty_log});
  CHECK_EQ(count(db, "select count(*) from aggregates"), 4);
  CHECK_EQ(scalar(db,
                  "select concat_ws(' ', count, sum, min, max, p50, p95, p99, errors, "
                  "coalesce(error_rate::text, 'null')) from aggregates where signal = 'metric'"),
           "4 6 0.25 2.5 1.25 2.25 2.45 0 null");
  CHECK_EQ(scalar(db,
                  "select bucket = '2023-11-14 22:13:20.123+00' and width_s = 10 and "
                  "series = '{\"host\": \"h1\"}' and name = 'latency_ms' from aggregates "
                  "where signal = 'metric'"),
           "t");
  CHECK_EQ(scalar(db,
                  "select (extract(epoch from bucket) * 1000)::bigint from aggregates where "
                  "signal = 'metric'"),
           std::to_string(t0));
  CHECK_EQ(scalar(db,
                  "select sum is null and min is null and max is null and p50 is null and "
                  "p95 is null and p99 is null from aggregates where signal = 'log' and "
                  "count = 10"),
           "t");
  CHECK_EQ(scalar(db, "select error_rate from aggregates where signal = 'log' and count = 10"),
           "0.3");
  CHECK_EQ(
      scalar(db, "select detail->>'error' from aggregates where signal = 'log' and count = 10"),
      "3");
  CHECK_EQ(scalar(db, "select error_rate from aggregates where signal = 'log' and count = 0"),
           "NULL");
  CHECK_EQ(scalar(db,
                  "select error_rate is null and sum is null and count = 2 from aggregates "
                  "where signal = 'event'"),
           "t");

  section("aggregates: the same key again replaces the values (no addition)");
  auto updated_before =
      scalar(db, "select updated_at::text from aggregates where signal = 'event'");
  m.count = 7;
  m.sum = 10;
  m.max = 3;
  store.upsert_aggregates({m});
  CHECK_EQ(count(db, "select count(*) from aggregates"), 4);
  CHECK_EQ(scalar(db,
                  "select count || ' ' || sum || ' ' || max from aggregates where signal = "
                  "'metric'"),
           "7 10 3");
  // An unchanged bucket is not rewritten.
  store.upsert_aggregates({e});
  CHECK_EQ(scalar(db, "select updated_at::text from aggregates where signal = 'event'"),
           updated_before);

  section("aggregates: the same key twice in one call, the last one wins");
  auto m1 = m, m2 = m;
  m1.count = 100;
  m2.count = 200;
  m2.series = R"({"host":"h1"})";  // same jsonb, other text: still the same key
  auto other_bucket = m;
  other_bucket.bucket_ms = t0 + 10000;
  store.upsert_aggregates({m1, other_bucket, m2});
  CHECK_EQ(count(db, "select count(*) from aggregates"), 5);
  CHECK_EQ(scalar(db,
                  "select count from aggregates where signal = 'metric' and bucket = "
                  "'2023-11-14 22:13:20.123+00'"),
           "200");

  section("aggregates: a bad row fails the call, nothing committed");
  auto bad = agg("checkout", "trace", "", t0, 1);
  auto good = agg("billing", "metric", "x", t0, 1);
  bool thrown = false;
  try {
    store.upsert_aggregates({good, bad});
  } catch (const std::exception&) {
    thrown = true;
  }
  CHECK(thrown);
  CHECK_EQ(count(db, "select count(*) from aggregates where service = 'billing'"), 0);

  section("aggregates: a few thousand rows in one call");
  std::vector<aggregate_row> many;
  for (int i = 0; i < 3000; ++i) {
    auto r = agg("svc" + std::to_string(i % 7), i % 3 == 0 ? "log" : "metric",
                 i % 3 == 0 ? "" : "m" + std::to_string(i % 5), t0 + 10000 * (i / 35), 1 + i);
    r.series = "{\"host\": \"h" + std::to_string(i % 2) + "\"}";
    many.push_back(r);
  }
  auto start = std::chrono::steady_clock::now();
  store.upsert_aggregates(many);
  auto first_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (auto& r : many) r.count += 1;
  start = std::chrono::steady_clock::now();
  store.upsert_aggregates(many);
  auto second_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("   3000 rows: insert %.1f ms, update %.1f ms\n", first_ms, second_ms);
  auto distinct_keys = count(db, "select count(*) from aggregates where service like 'svc%'");
  CHECK(distinct_keys > 0 && distinct_keys <= 3000);
  CHECK_EQ(count(db, "select count(*) from aggregates where service like 'svc%' and count < 2"), 0);
}

}  // namespace rtmon::pg_test
