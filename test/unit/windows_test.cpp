#define CAF_SUITE windows
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/window/windows.hpp"
#include "test/unit/test.hpp"
#include "test/unit/windows_helpers.hpp"

using namespace rtmon;
using namespace rtmon::test_windows;

CAF_TEST(default windows) {
  auto d = default_windows();
  CAF_REQUIRE_EQUAL(d.size(), 3u);
  CAF_CHECK_EQUAL(d[0].span_ms, m1);
  CAF_CHECK_EQUAL(d[1].span_ms, m5);
  CAF_CHECK_EQUAL(d[2].span_ms, m15);
  for (auto& s : d) CAF_CHECK_EQUAL(s.buckets, 60);
}

CAF_TEST(an empty window has all zero stats) {
  metric_window w;
  auto st = w.stats(m1);
  CAF_CHECK_EQUAL(st.count, 0u);
  CAF_CHECK(st.sum == 0 && st.min == 0 && st.max == 0 && st.avg == 0);
  CAF_CHECK(st.p50 == 0 && st.p95 == 0 && st.p99 == 0 && st.rate_per_s == 0);
  CAF_CHECK_EQUAL(w.watermark_ms(), INT64_MIN);
  CAF_CHECK_EQUAL(w.max_ts_ms(), INT64_MIN);
  CAF_CHECK_EQUAL(w.late_count(), 0u);
  log_window l;
  auto ls = l.stats(m1);
  CAF_CHECK_EQUAL(ls.total, 0u);
  CAF_CHECK(ls.error_rate == 0);
  event_window e;
  CAF_CHECK_EQUAL(e.count(m1), 0u);
}

CAF_TEST(an event at a bucket edge belongs to the later bucket) {
  metric_window w(ten_seconds, 0);
  CAF_CHECK(w.add(t0 + 999, 1));    // bucket [t0, t0 + 1000)
  CAF_CHECK(w.add(t0 + 1000, 2));   // bucket [t0 + 1000, t0 + 2000)
  CAF_CHECK(w.add(t0 + 10999, 3));  // newest bucket starts at t0 + 10000: the window starts at
  CAF_CHECK_EQUAL(count_of(w, 10000), 2u);  // t0 + 1000, so the sample at t0 + 999 is out
  CAF_CHECK(min_of(w, 10000) == 2);
  CAF_CHECK(w.add(t0 + 11000, 4));  // one more bucket: t0 + 1000 leaves too
  CAF_CHECK_EQUAL(count_of(w, 10000), 2u);
  CAF_CHECK(min_of(w, 10000) == 3);
  CAF_CHECK(max_of(w, 10000) == 4);
  // The same edge rule for logs and events.
  log_window l(ten_seconds, 0);
  l.add(t0 + 999, log_level::error);
  l.add(t0 + 1000, log_level::info);
  l.add(t0 + 10999, log_level::info);
  auto ls = l.stats(10000);
  CAF_CHECK_EQUAL(ls.total, 2u);
  CAF_CHECK_EQUAL(ls.errors, 0u);
  event_window e(ten_seconds, 0);
  e.add(t0 + 999, "deploy");
  e.add(t0 + 1000, "deploy");
  e.add(t0 + 10999, "deploy");
  CAF_CHECK_EQUAL(e.count(10000, "deploy"), 2u);
}

CAF_TEST(negative event times use floor division) {
  event_window e(ten_seconds, 0);
  e.add(-1500, "a");  // bucket [-2000, -1000)
  e.add(-1000, "a");  // bucket [-1000, 0)
  CAF_CHECK_EQUAL(e.count(10000), 2u);
  e.add(8999, "a");  // window: buckets starting after -2000
  CAF_CHECK_EQUAL(e.count(10000), 2u);
  e.add(9000, "a");  // window: buckets starting after -1000
  CAF_CHECK_EQUAL(e.count(10000), 2u);
}

CAF_TEST(samples leave the 1 m window after 60 s but stay in the 5 m window) {
  metric_window w;  // 1 m / 5 m / 15 m, lateness 5 s
  w.add(t0, 10);
  w.add(t0 + 59999, 20);
  CAF_CHECK_EQUAL(count_of(w, m1), 2u);
  w.add(t0 + 60000, 30);  // exactly 60 s later: the sample at t0 leaves the 1 m window
  CAF_CHECK_EQUAL(count_of(w, m1), 2u);
  CAF_CHECK(min_of(w, m1) == 20);
  CAF_CHECK_EQUAL(count_of(w, m5), 3u);
  CAF_CHECK(min_of(w, m5) == 10);
  CAF_CHECK_EQUAL(count_of(w, m15), 3u);
  w.add(t0 + 300000, 40);  // 5 m later: it leaves the 5 m window, stays in the 15 m one
  CAF_CHECK_EQUAL(count_of(w, m1), 1u);
  CAF_CHECK_EQUAL(count_of(w, m5), 3u);
  CAF_CHECK(min_of(w, m5) == 20);
  CAF_CHECK_EQUAL(count_of(w, m15), 4u);
  CAF_CHECK(sum_of(w, m15) == 100);
  w.add(t0 + 900000, 50);
  CAF_CHECK_EQUAL(count_of(w, m15), 4u);  // 20, 30, 40, 50
  CAF_CHECK(min_of(w, m15) == 20);
}

CAF_TEST(late events are counted and not added) {
  metric_window w(ten_seconds, 5000);
  CAF_CHECK(w.add(t0 + 100000, 1));
  CAF_CHECK_EQUAL(w.watermark_ms(), t0 + 95000);
  CAF_CHECK(!w.add(t0 + 94999, 2));  // older than the watermark: late
  CAF_CHECK_EQUAL(w.late_count(), 1u);
  CAF_CHECK_EQUAL(w.max_ts_ms(), t0 + 100000);
  CAF_CHECK(w.add(t0 + 95000, 3));  // exactly the watermark: accepted
  CAF_CHECK_EQUAL(w.late_count(), 1u);
  CAF_CHECK_EQUAL(w.max_ts_ms(), t0 + 100000);  // an older event does not move time back
  CAF_CHECK_EQUAL(count_of(w, 10000), 2u);
  CAF_CHECK(min_of(w, 10000) == 1);
  CAF_CHECK(max_of(w, 10000) == 3);
  // It went to its own bucket [t0 + 95000, t0 + 96000), not the newest one.
  CAF_CHECK(w.add(t0 + 104999, 4));
  CAF_CHECK_EQUAL(count_of(w, 10000), 3u);
  CAF_CHECK(w.add(t0 + 105000, 5));
  CAF_CHECK_EQUAL(count_of(w, 10000), 3u);  // 1, 4, 5
  CAF_CHECK(max_of(w, 10000) == 5);
  CAF_CHECK(sum_of(w, 10000) == 10);
  CAF_CHECK(!w.add(t0 + 99999, 6));  // the watermark moved with max_ts
  CAF_CHECK_EQUAL(w.late_count(), 2u);
  CAF_CHECK_EQUAL(count_of(w, 10000), 3u);

  log_window l(ten_seconds, 5000);
  CAF_CHECK(l.add(t0 + 100000, log_level::info));
  CAF_CHECK(!l.add(t0 + 1000, log_level::error));
  CAF_CHECK_EQUAL(l.late_count(), 1u);
  auto ls = l.stats(10000);
  CAF_CHECK_EQUAL(ls.errors, 0u);
  CAF_CHECK_EQUAL(l.watermark_ms(), t0 + 95000);

  event_window e(ten_seconds, 5000);
  CAF_CHECK(e.add(t0 + 100000, "deploy"));
  CAF_CHECK(!e.add(t0 + 90000, "deploy"));
  CAF_CHECK_EQUAL(e.late_count(), 1u);
  CAF_CHECK_EQUAL(e.count(10000, "deploy"), 1u);
  CAF_CHECK_EQUAL(e.watermark_ms(), t0 + 95000);
}

CAF_TEST(out of order events within lateness land in their own buckets) {
  metric_window w(ten_seconds, 5000);
  CAF_CHECK(w.add(t0 + 10500, 1));
  CAF_CHECK(w.add(t0 + 10200, 2));
  CAF_CHECK(w.add(t0 + 9800, 3));
  CAF_CHECK(w.add(t0 + 12000, 4));
  CAF_CHECK(w.add(t0 + 7000, 5));  // = the watermark t0 + 12000 - 5000
  CAF_CHECK_EQUAL(w.late_count(), 0u);
  CAF_CHECK_EQUAL(count_of(w, 10000), 5u);
  CAF_CHECK(sum_of(w, 10000) == 15);
  CAF_CHECK(w.add(t0 + 17999, 6));  // window starts at t0 + 8000: 5 (at t0 + 7000) left
  CAF_CHECK_EQUAL(count_of(w, 10000), 5u);
  CAF_CHECK(max_of(w, 10000) == 6);
  CAF_CHECK(sum_of(w, 10000) == 16);
  CAF_CHECK(w.add(t0 + 19000, 7));  // window starts at t0 + 10000: 3 (at t0 + 9800) left
  CAF_CHECK_EQUAL(count_of(w, 10000), 5u);
  CAF_CHECK(sum_of(w, 10000) == 20);
  CAF_CHECK(min_of(w, 10000) == 1);
}

CAF_TEST(stale ring slots are reset when time jumps forward by more than a span) {
  metric_window w(ten_seconds, 5000);
  for (int i = 0; i < 10; ++i) w.add(t0 + i * 1000 + 500, 100 + i);  // every slot used
  CAF_CHECK_EQUAL(count_of(w, 10000), 10u);
  CAF_CHECK(w.add(t0 + 25500, 1));  // 2.5 spans later: every old bucket is out
  CAF_CHECK_EQUAL(count_of(w, 10000), 1u);
  CAF_CHECK(sum_of(w, 10000) == 1);
  CAF_CHECK(w.add(t0 + 21000, 2));  // within lateness; its slot still holds [t0+1000, t0+2000)
  CAF_CHECK_EQUAL(count_of(w, 10000), 2u);
  CAF_CHECK(sum_of(w, 10000) == 3);
  CAF_CHECK(max_of(w, 10000) == 2);
  // A jump by an exact multiple of the span lands in the same slot as the previous bucket.
  CAF_CHECK(w.add(t0 + 25500 + 30000, 7));
  CAF_CHECK_EQUAL(count_of(w, 10000), 1u);
  CAF_CHECK(sum_of(w, 10000) == 7);

  log_window l(ten_seconds, 0);
  for (int i = 0; i < 10; ++i) l.add(t0 + i * 1000, log_level::error);
  l.add(t0 + 100000, log_level::info);
  auto ls = l.stats(10000);
  CAF_CHECK_EQUAL(ls.total, 1u);
  CAF_CHECK_EQUAL(ls.errors, 0u);

  event_window e(ten_seconds, 0);
  for (int i = 0; i < 10; ++i) e.add(t0 + i * 1000, i % 2 ? "a" : "b");
  e.add(t0 + 100000, "a");
  CAF_CHECK_EQUAL(e.count(10000), 1u);
  CAF_CHECK_EQUAL(e.count(10000, "a"), 1u);
  CAF_CHECK_EQUAL(e.count(10000, "b"), 0u);
  for (int i = 1; i < 10; ++i) e.add(t0 + 100000 + i * 1000, "c");  // every slot reused
  CAF_CHECK_EQUAL(e.count(10000), 10u);
  CAF_CHECK_EQUAL(e.count(10000, "b"), 0u);
  CAF_CHECK_EQUAL(e.count(10000, "c"), 9u);
}

CAF_TEST(an accepted event too old for a short window goes to the longer ones) {
  // Lateness above the short span: not late, but outside the 10 s window.
  metric_window w({{10000, 10}, {60000, 60}}, 30000);
  CAF_CHECK(w.add(t0 + 40000, 1));
  CAF_CHECK(w.add(t0 + 15000, 2));
  CAF_CHECK_EQUAL(w.late_count(), 0u);
  CAF_CHECK_EQUAL(count_of(w, 10000), 1u);
  CAF_CHECK_EQUAL(count_of(w, 60000), 2u);
  CAF_CHECK(w.add(t0 + 39000, 3));  // and the short window still works
  CAF_CHECK_EQUAL(count_of(w, 10000), 2u);
  CAF_CHECK(sum_of(w, 10000) == 4);
}

CAF_TEST(log error rate over windows) {
  CAF_CHECK(parse_log_level("trace") == log_level::trace);
  CAF_CHECK(parse_log_level("debug") == log_level::debug);
  CAF_CHECK(parse_log_level("info") == log_level::info);
  CAF_CHECK(parse_log_level("warn") == log_level::warn);
  CAF_CHECK(parse_log_level("warning") == log_level::warn);
  CAF_CHECK(parse_log_level("error") == log_level::error);
  CAF_CHECK(parse_log_level("ERROR") == log_level::error);
  CAF_CHECK(parse_log_level("err") == log_level::error);
  CAF_CHECK(parse_log_level("fatal") == log_level::fatal);
  CAF_CHECK(parse_log_level("Critical") == log_level::fatal);
  CAF_CHECK(parse_log_level("panic") == log_level::fatal);
  CAF_CHECK(parse_log_level("loud") == log_level::info);
  CAF_CHECK(parse_log_level("") == log_level::info);
  CAF_CHECK(parse_log_level(std::string(100, 'e')) == log_level::info);

  log_window l;
  for (int i = 0; i < 100; ++i)  // first minute: half errors
    l.add(t0 + i * 100, i % 2 ? log_level::error : log_level::info);
  for (int i = 0; i < 100; ++i) {  // second minute: 80 info, 15 error, 5 fatal
    auto level = i < 80 ? log_level::info : i < 95 ? log_level::error : log_level::fatal;
    l.add(t0 + m1 + i * 100, level);
  }
  auto s1 = l.stats(m1);
  CAF_CHECK_EQUAL(s1.total, 100u);
  CAF_CHECK_EQUAL(s1.errors, 20u);
  CAF_CHECK_EQUAL(s1.error_rate, 0.2);
  CAF_CHECK_EQUAL(s1.by_level[static_cast<size_t>(log_level::info)], 80u);
  CAF_CHECK_EQUAL(s1.by_level[static_cast<size_t>(log_level::error)], 15u);
  CAF_CHECK_EQUAL(s1.by_level[static_cast<size_t>(log_level::fatal)], 5u);
  CAF_CHECK_EQUAL(s1.by_level[static_cast<size_t>(log_level::warn)], 0u);
  auto s5 = l.stats(m5);
  CAF_CHECK_EQUAL(s5.total, 200u);
  CAF_CHECK_EQUAL(s5.errors, 70u);
  CAF_CHECK_EQUAL(s5.error_rate, 0.35);
  auto s15 = l.stats(m15);
  CAF_CHECK_EQUAL(s15.total, 200u);
  CAF_CHECK_EQUAL(s15.error_rate, 0.35);
  l.add(t0 + 10 * m1, log_level::warn);  // ten minutes later: only the 15 m window remembers
  auto later1 = l.stats(m1), later5 = l.stats(m5), later15 = l.stats(m15);
  CAF_CHECK_EQUAL(later1.total, 1u);
  CAF_CHECK(later1.error_rate == 0);
  CAF_CHECK_EQUAL(later5.total, 1u);
  CAF_CHECK_EQUAL(later15.total, 201u);
  CAF_CHECK_EQUAL(later15.by_level[static_cast<size_t>(log_level::warn)], 1u);
}

CAF_TEST(event counts per type and for all types) {
  event_window e;
  for (int i = 0; i < 3; ++i) CAF_CHECK(e.add(t0 + i * 1000, "deploy"));
  for (int i = 0; i < 2; ++i) CAF_CHECK(e.add(t0 + 5000 + i * 1000, "restart"));
  CAF_CHECK_EQUAL(e.count(m1, "deploy"), 3u);
  CAF_CHECK_EQUAL(e.count(m1, "restart"), 2u);
  CAF_CHECK_EQUAL(e.count(m1), 5u);
  CAF_CHECK_EQUAL(e.count(m1, "config_change"), 0u);
  e.add(t0 + 70000, "deploy");
  CAF_CHECK_EQUAL(e.count(m1, "deploy"), 1u);
  CAF_CHECK_EQUAL(e.count(m1, "restart"), 0u);
  CAF_CHECK_EQUAL(e.count(m1), 1u);
  CAF_CHECK_EQUAL(e.count(m5, "deploy"), 4u);
  CAF_CHECK_EQUAL(e.count(m5), 6u);
  CAF_CHECK_EQUAL(e.count(m15, "restart"), 2u);
}

CAF_TEST(p95 of a known latency set is within the sketch bound) {
  metric_window w;
  std::vector<double> latencies;
  for (int i = 1; i <= 1000; ++i) latencies.push_back(i);  // 1..1000 ms
  std::shuffle(latencies.begin(), latencies.end(), std::mt19937_64(42));
  for (size_t i = 0; i < latencies.size(); ++i)
    CAF_CHECK(w.add(t0 + static_cast<int64_t>(i) * 50, latencies[i]));  // over 50 s
  for (auto span : {m1, m5, m15}) {
    auto st = w.stats(span);
    CAF_CHECK_EQUAL(st.count, 1000u);
    CAF_CHECK(st.sum == 500500);
    CAF_CHECK(st.min == 1);
    CAF_CHECK(st.max == 1000);
    CAF_CHECK(st.avg == 500.5);
    CAF_CHECK(within(st.p50, exact_quantile(latencies, 0.5), 0.01));
    CAF_CHECK(within(st.p95, exact_quantile(latencies, 0.95), 0.01));
    CAF_CHECK(within(st.p99, exact_quantile(latencies, 0.99), 0.01));
  }
  // A log-normal set and a coarser sketch: the bound follows the configured accuracy.
  metric_window coarse(default_windows(), 5000, 0.05);
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(4, 1);
  std::vector<double> xs;
  for (int i = 0; i < 5000; ++i) {
    xs.push_back(dist(rng));
    coarse.add(t0 + i * 10, xs.back());
  }
  auto st = coarse.stats(m1);
  CAF_CHECK_EQUAL(st.count, 5000u);
  CAF_CHECK(within(st.p50, exact_quantile(xs, 0.5), 0.05));
  CAF_CHECK(within(st.p95, exact_quantile(xs, 0.95), 0.05));
  CAF_CHECK(within(st.p99, exact_quantile(xs, 0.99), 0.05));
}

CAF_TEST(rate per second is count over the span) {
  metric_window w;
  for (int i = 0; i < 120; ++i) w.add(t0 + i * 500, 1.0);  // 120 samples in 60 s
  auto s1 = w.stats(m1), s5 = w.stats(m5), s15 = w.stats(m15);
  CAF_CHECK_EQUAL(s1.count, 120u);
  CAF_CHECK_EQUAL(s1.rate_per_s, 2.0);
  CAF_CHECK_EQUAL(s5.rate_per_s, 0.4);
  CAF_CHECK_EQUAL(s15.rate_per_s, 120.0 / 900.0);
}

CAF_TEST(non finite values are refused without counting as late) {
  metric_window w;
  CAF_CHECK(!w.add(t0, std::nan("")));
  CAF_CHECK(!w.add(t0, HUGE_VAL));
  CAF_CHECK_EQUAL(w.late_count(), 0u);
  CAF_CHECK_EQUAL(w.max_ts_ms(), INT64_MIN);
  CAF_CHECK_EQUAL(count_of(w, m1), 0u);
}

CAF_TEST(an invalid span throws) {
  metric_window w;
  log_window l;
  event_window e;
  w.add(t0, 1);
  CAF_CHECK(throws_invalid([&] { w.stats(30000); }));
  CAF_CHECK(throws_invalid([&] { l.stats(120000); }));
  CAF_CHECK(throws_invalid([&] { e.count(0, "deploy"); }));
  CAF_CHECK(!throws_invalid([&] { w.stats(m15); }));
  // Invalid specs are refused when the window is built.
  CAF_CHECK(throws_invalid([] { metric_window({{10000, 3}}); }));  // 3 does not divide 10000
  CAF_CHECK(throws_invalid([] { log_window({{10000, 0}}); }));
  CAF_CHECK(throws_invalid([] { event_window({{0, 10}}); }));
  CAF_CHECK(throws_invalid([] { event_window({{10000, 10}, {10000, 5}}); }));
  CAF_CHECK(throws_invalid([] { metric_window(default_windows(), -1); }));
  CAF_CHECK(throws_invalid([] { metric_window(default_windows(), 5000, 0); }));
}

CAF_TEST(cost per add and per stats call) {
  using clock = std::chrono::steady_clock;
  auto ns_since = [](clock::time_point t, size_t n) {
    return std::chrono::duration<double, std::nano>(clock::now() - t).count() /
           static_cast<double>(n);
  };
  const size_t n = 17 * 60000;  // ends with a full bucket: the windows hold exactly span events
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(4, 1);  // ~ latencies in ms
  std::vector<double> xs(n);
  for (auto& x : xs) x = dist(rng);
  // 1 ms apart: 17 minutes of event time, so every ring turns over and recycles its buckets.
  metric_window w;
  auto t = clock::now();
  for (size_t i = 0; i < n; ++i) w.add(t0 + static_cast<int64_t>(i), xs[i]);
  CAF_MESSAGE("metric_window::add (3 windows): " << ns_since(t, n) << " ns");
  const size_t reps = 200;
  uint64_t seen = 0;
  t = clock::now();
  for (size_t i = 0; i < reps; ++i) seen += w.stats(m15).count;
  CAF_MESSAGE("metric_window::stats(15 m, 60 full buckets): " << ns_since(t, reps) / 1000 << " us");
  CAF_CHECK_EQUAL(seen, reps * 900000u);
  log_window l;
  t = clock::now();
  for (size_t i = 0; i < n; ++i) l.add(t0 + static_cast<int64_t>(i), log_level(i % 6));
  CAF_MESSAGE("log_window::add: " << ns_since(t, n) << " ns");
  event_window e;
  const std::string types[] = {"deploy", "restart", "config_change", "scale"};
  t = clock::now();
  for (size_t i = 0; i < n; ++i) e.add(t0 + static_cast<int64_t>(i), types[i % 4]);
  CAF_MESSAGE("event_window::add: " << ns_since(t, n) << " ns");
  CAF_CHECK_EQUAL(e.count(m1), 60000u);
}
