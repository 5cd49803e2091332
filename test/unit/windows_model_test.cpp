#define CAF_SUITE windows_model
// Windows against a brute-force model on random out-of-order streams (with and without
// advance_to): every count, rate and quantile the windows answer must match the model's.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "actors/window/windows.hpp"
#include "test/unit/test.hpp"
#include "test/unit/windows_helpers.hpp"

using namespace rtmon;

using namespace rtmon::test_windows;

namespace {

// A brute-force model: every accepted event is kept; a window holds the events whose bucket
// starts after (start of the bucket holding max_ts) - span.
struct model {
  struct item {
    int64_t ts;
    double value;
    log_level level;
    std::string type;
  };
  int64_t lateness = 0;
  int64_t max_ts = INT64_MIN;
  uint64_t late = 0;
  std::vector<item> items;
  bool add(const item& it) {
    if (max_ts != INT64_MIN && it.ts < max_ts - lateness) {
      ++late;
      return false;
    }
    max_ts = std::max(max_ts, it.ts);
    items.push_back(it);
    return true;
  }
  static int64_t floor_to(int64_t t, int64_t w) {
    int64_t q = t / w;
    if (t % w != 0 && t < 0) --q;
    return q * w;
  }
  std::vector<item> window(const window_spec& s) const {
    std::vector<item> out;
    int64_t w = s.span_ms / s.buckets;
    for (auto& it : items)
      if (floor_to(it.ts, w) > floor_to(max_ts, w) - s.span_ms) out.push_back(it);
    return out;
  }
};

// With `advance`, some steps call advance_to (the model: max_ts moves, nothing is added).
void run_random_stream(const std::vector<window_spec>& specs, int64_t lateness, uint64_t seed,
                       bool advance = false) {
  metric_window mw(specs, lateness);
  log_window lw(specs, lateness);
  event_window ew(specs, lateness);
  model m;
  m.lateness = lateness;
  std::mt19937_64 rng(seed);
  const std::string types[] = {"deploy", "restart", "scale"};
  int64_t now = -30000;  // crosses zero: floor division on negative times too
  int mismatches = 0, checks = 0;
  for (int step = 0; step < 4000; ++step) {
    auto r = rng() % 100;
    now += r < 2 ? static_cast<int64_t>(rng() % 90000) : static_cast<int64_t>(rng() % 700);
    // Mostly around now, some within lateness, some late.
    int64_t ts = now - (r < 70 ? 0 : static_cast<int64_t>(rng() % (lateness + 3000)));
    if (advance && r >= 95) {  // the service's time moved on: sometimes far, sometimes not
      int64_t to = now + (r == 99 ? static_cast<int64_t>(rng() % 40000) : 0) -
                   static_cast<int64_t>(rng() % 2000);
      m.max_ts = std::max(m.max_ts, to);
      now = std::max(now, to);
      mw.advance_to(to);
      lw.advance_to(to);
      ew.advance_to(to);
      continue;
    }
    model::item it{ts, static_cast<double>(1 + rng() % 1000), log_level(rng() % 6),
                   types[rng() % 3]};
    bool a = m.add(it);
    bool b1 = mw.add(it.ts, it.value), b2 = lw.add(it.ts, it.level), b3 = ew.add(it.ts, it.type);
    if (a != b1 || a != b2 || a != b3) ++mismatches;
    if (step % 7 != 0) continue;
    for (auto& spec : specs) {
      ++checks;
      auto expected = m.window(spec);
      auto st = mw.stats(spec.span_ms);
      auto ls = lw.stats(spec.span_ms);
      double sum = 0, mn = 0, mx = 0;
      uint64_t errors = 0, deploys = 0;
      std::vector<double> values;
      for (auto& e : expected) {
        sum += e.value;
        mn = values.empty() ? e.value : std::min(mn, e.value);
        mx = values.empty() ? e.value : std::max(mx, e.value);
        values.push_back(e.value);
        errors += e.level == log_level::error || e.level == log_level::fatal;
        deploys += e.type == "deploy";
      }
      bool ok = st.count == expected.size() && st.sum == sum && st.min == mn && st.max == mx &&
                ls.total == expected.size() && ls.errors == errors &&
                ew.count(spec.span_ms) == expected.size() &&
                ew.count(spec.span_ms, "deploy") == deploys;
      if (ok && !values.empty())
        ok = within(st.p50, exact_quantile(values, 0.5), 0.01) &&
             within(st.p95, exact_quantile(values, 0.95), 0.01) &&
             within(st.p99, exact_quantile(values, 0.99), 0.01);
      if (!ok && ++mismatches <= 5)
        CAF_MESSAGE("step " << step << " span " << spec.span_ms << ": count " << st.count
                            << " expected " << expected.size());
    }
  }
  CAF_CHECK_EQUAL(mismatches, 0);
  CAF_CHECK_EQUAL(mw.late_count(), m.late);
  CAF_CHECK_EQUAL(lw.late_count(), m.late);
  CAF_CHECK_EQUAL(ew.late_count(), m.late);
  CAF_CHECK_EQUAL(mw.max_ts_ms(), m.max_ts);
  CAF_CHECK_GREATER(m.late, 0u);
  CAF_CHECK_GREATER(checks, 1000);
}

}  // namespace

CAF_TEST(random out of order streams match a brute force model) {
  run_random_stream({{10000, 10}, {30000, 30}, {60000, 20}}, 7000, 1);
  run_random_stream(default_windows(), 5000, 2);
  // Lateness beyond the short span: accepted events that only the long windows still cover.
  run_random_stream({{10000, 10}, {60000, 60}}, 25000, 3);
}

CAF_TEST(random streams with advance_to match a brute force model) {
  run_random_stream({{10000, 10}, {30000, 30}, {60000, 20}}, 7000, 4, true);
  run_random_stream(default_windows(), 5000, 5, true);
  run_random_stream({{10000, 10}, {60000, 60}}, 25000, 6, true);
}
