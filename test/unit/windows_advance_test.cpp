#define CAF_SUITE windows_advance
// Windows moved on by processing time (advance_to) rather than by data: what leaves, what
// stays, and how lateness is judged afterwards.
#include <cstdint>

#include "actors/window/windows.hpp"
#include "test/unit/test.hpp"
#include "test/unit/windows_helpers.hpp"

using namespace rtmon;
using namespace rtmon::test_windows;

CAF_TEST(advance_to empties the windows once everything left them) {
  metric_window w(ten_seconds, 5000);
  log_window l(ten_seconds, 5000);
  event_window e(ten_seconds, 5000);
  for (int i = 0; i < 5; ++i) {
    w.add(t0 + i * 1000, 10 + i);
    l.add(t0 + i * 1000, log_level::error);
    e.add(t0 + i * 1000, "deploy");
  }
  CAF_CHECK_EQUAL(count_of(w, 10000), 5u);
  // The newest bucket [t0 + 4000, t0 + 5000) leaves once the window end reaches t0 + 14000.
  w.advance_to(t0 + 13999);
  l.advance_to(t0 + 13999);
  e.advance_to(t0 + 13999);
  CAF_CHECK_EQUAL(count_of(w, 10000), 1u);
  CAF_CHECK(min_of(w, 10000) == 14);
  CAF_CHECK_EQUAL(l.stats(10000).total, 1u);
  CAF_CHECK_EQUAL(e.count(10000, "deploy"), 1u);
  w.advance_to(t0 + 14000);
  l.advance_to(t0 + 14000);
  e.advance_to(t0 + 14000);
  auto st = w.stats(10000);
  CAF_CHECK_EQUAL(st.count, 0u);
  CAF_CHECK(st.sum == 0 && st.min == 0 && st.max == 0 && st.avg == 0);
  CAF_CHECK(st.p50 == 0 && st.p95 == 0 && st.p99 == 0 && st.rate_per_s == 0);
  auto ls = l.stats(10000);
  CAF_CHECK_EQUAL(ls.total, 0u);
  CAF_CHECK_EQUAL(ls.errors, 0u);
  CAF_CHECK(ls.error_rate == 0);
  CAF_CHECK_EQUAL(e.count(10000), 0u);
  CAF_CHECK_EQUAL(e.count(10000, "deploy"), 0u);
  // Nothing was added or counted as late by the advances.
  CAF_CHECK_EQUAL(w.max_ts_ms(), t0 + 14000);
  CAF_CHECK_EQUAL(w.late_count(), 0u);
  CAF_CHECK_EQUAL(l.late_count(), 0u);
  CAF_CHECK_EQUAL(e.late_count(), 0u);
}

CAF_TEST(advance_to moves the window end partially) {
  metric_window w;                                       // 1 m / 5 m / 15 m
  for (int i = 0; i < 60; ++i) w.add(t0 + i * 1000, i);  // one sample per 1 s bucket
  CAF_CHECK_EQUAL(count_of(w, m1), 60u);
  w.advance_to(t0 + 90000);  // the 1 m window starts at t0 + 31000: 31..59 remain
  CAF_CHECK_EQUAL(count_of(w, m1), 29u);
  CAF_CHECK(min_of(w, m1) == 31);
  CAF_CHECK(max_of(w, m1) == 59);
  CAF_CHECK_EQUAL(count_of(w, m5), 60u);
  CAF_CHECK_EQUAL(count_of(w, m15), 60u);
  CAF_CHECK_EQUAL(w.stats(m1).rate_per_s, 29.0 / 60.0);
  w.advance_to(t0 + m5 + 2000);  // 5 s buckets: [t0, t0 + 5000) is out of the 5 m window
  CAF_CHECK_EQUAL(count_of(w, m1), 0u);
  CAF_CHECK_EQUAL(count_of(w, m5), 55u);
  CAF_CHECK(min_of(w, m5) == 5);
  CAF_CHECK_EQUAL(count_of(w, m15), 60u);
  // Writes after an advance land in fresh buckets; stale slots are reset, not added to.
  CAF_CHECK(w.add(t0 + m5 + 2500, 1000));
  CAF_CHECK_EQUAL(count_of(w, m1), 1u);
  CAF_CHECK(sum_of(w, m1) == 1000);
  CAF_CHECK_EQUAL(count_of(w, m5), 56u);
  CAF_CHECK_EQUAL(count_of(w, m15), 61u);
  // A jump of exactly one span reuses the slot of the same bucket a span earlier.
  log_window l(ten_seconds, 0);
  l.add(t0 + 500, log_level::error);
  l.advance_to(t0 + 10500);
  CAF_CHECK_EQUAL(l.stats(10000).total, 0u);
  l.add(t0 + 10600, log_level::info);
  auto ls = l.stats(10000);
  CAF_CHECK_EQUAL(ls.total, 1u);
  CAF_CHECK_EQUAL(ls.errors, 0u);
}

CAF_TEST(advance_to never moves the window end backward) {
  metric_window w(ten_seconds, 5000);
  event_window e(ten_seconds, 5000);
  w.add(t0 + 20000, 1);
  w.add(t0 + 15500, 2);
  e.add(t0 + 20000, "a");
  e.add(t0 + 15500, "a");
  w.advance_to(t0 + 1000);
  e.advance_to(t0 + 1000);
  w.advance_to(t0 + 19999);
  w.advance_to(t0 + 20000);  // equal: no change either
  CAF_CHECK_EQUAL(w.max_ts_ms(), t0 + 20000);
  CAF_CHECK_EQUAL(w.watermark_ms(), t0 + 15000);
  CAF_CHECK_EQUAL(count_of(w, 10000), 2u);
  CAF_CHECK_EQUAL(e.max_ts_ms(), t0 + 20000);
  CAF_CHECK_EQUAL(e.count(10000), 2u);
  CAF_CHECK(w.add(t0 + 15000, 3));  // the watermark did not move back or forward
  CAF_CHECK(!w.add(t0 + 14999, 4));
  CAF_CHECK_EQUAL(w.late_count(), 1u);
  w.advance_to(INT64_MIN);  // "no time" is never later than anything
  CAF_CHECK_EQUAL(w.max_ts_ms(), t0 + 20000);
}

CAF_TEST(late handling after advance_to uses the advanced watermark) {
  metric_window w(ten_seconds, 5000);
  log_window l(ten_seconds, 5000);
  event_window e(ten_seconds, 5000);
  w.add(t0, 1);
  l.add(t0, log_level::info);
  e.add(t0, "deploy");
  w.advance_to(t0 + 8000);
  l.advance_to(t0 + 8000);
  e.advance_to(t0 + 8000);
  CAF_CHECK_EQUAL(w.watermark_ms(), t0 + 3000);
  CAF_CHECK_EQUAL(l.watermark_ms(), t0 + 3000);
  CAF_CHECK_EQUAL(e.watermark_ms(), t0 + 3000);
  CAF_CHECK(!w.add(t0 + 2999, 2));
  CAF_CHECK(!l.add(t0 + 2999, log_level::error));
  CAF_CHECK(!e.add(t0 + 2999, "deploy"));
  CAF_CHECK_EQUAL(w.late_count(), 1u);
  CAF_CHECK_EQUAL(l.late_count(), 1u);
  CAF_CHECK_EQUAL(e.late_count(), 1u);
  CAF_CHECK(w.add(t0 + 3000, 3));  // exactly the watermark: accepted, in its own bucket
  CAF_CHECK(l.add(t0 + 3000, log_level::error));
  CAF_CHECK(e.add(t0 + 3000, "deploy"));
  CAF_CHECK_EQUAL(w.max_ts_ms(), t0 + 8000);
  CAF_CHECK_EQUAL(count_of(w, 10000), 2u);
  CAF_CHECK(sum_of(w, 10000) == 4);
  CAF_CHECK_EQUAL(l.stats(10000).errors, 1u);
  CAF_CHECK_EQUAL(e.count(10000, "deploy"), 2u);
  w.advance_to(t0 + 13500);  // [t0 + 3000, t0 + 4000) leaves at t0 + 13000; [t0, ...) earlier
  CAF_CHECK_EQUAL(count_of(w, 10000), 0u);
  // On a window that saw nothing, advance_to sets the end: the series follows the service.
  metric_window fresh(ten_seconds, 5000);
  fresh.advance_to(t0 + 8000);
  CAF_CHECK_EQUAL(fresh.max_ts_ms(), t0 + 8000);
  CAF_CHECK_EQUAL(fresh.watermark_ms(), t0 + 3000);
  CAF_CHECK_EQUAL(count_of(fresh, 10000), 0u);
  CAF_CHECK(!fresh.add(t0 + 2000, 1));
  CAF_CHECK_EQUAL(fresh.late_count(), 1u);
  CAF_CHECK(fresh.add(t0 + 7000, 2));
  CAF_CHECK_EQUAL(count_of(fresh, 10000), 1u);
}
