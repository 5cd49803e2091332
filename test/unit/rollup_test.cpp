#define CAF_SUITE rollup
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "actors/window/rollup.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

// Aligned to the minute (so to 10 s and 60 s buckets).
constexpr int64_t t0 = 1700000100000;
constexpr int64_t s10 = 10000, s60 = 60000;

rollup_options options(std::vector<int32_t> widths = {10, 60}, int64_t lateness = 5000,
                       size_t max_open = 10000, double accuracy = 0.01) {
  rollup_options o;
  o.widths_s = std::move(widths);
  o.allowed_lateness_ms = lateness;
  o.max_open_buckets = max_open;
  o.sketch_accuracy = accuracy;
  return o;
}

// "signal/name/series/width/bucket-offset" (bucket as ms after t0): readable comparisons.
std::string key_of(const aggregate_row& r) {
  return r.signal + "/" + r.name + "/" + r.series + "/" + std::to_string(r.width_s) + "/" +
         std::to_string(r.bucket_ms - t0);
}

std::vector<std::string> keys_of(const std::vector<aggregate_row>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(key_of(r));
  return out;
}

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) out += (out.empty() ? "" : " ") + x;
  return out;
}

// The row with this key, or a row with signal "none" (so the checks fail readably).
aggregate_row row(const std::vector<aggregate_row>& rows, const std::string& key) {
  for (auto& r : rows)
    if (key_of(r) == key) return r;
  aggregate_row none;
  none.signal = "none";
  return none;
}

template <class F>
bool throws_invalid(F f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

double exact_quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(std::floor(q * static_cast<double>(xs.size() - 1)))];
}

bool within(double v, double x, double a) { return std::fabs(v - x) <= a * std::fabs(x) + 1e-12; }

}  // namespace

CAF_TEST(invalid options throw) {
  CAF_CHECK(!throws_invalid([] { rollup("svc"); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({})); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({10, 0})); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({-10})); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({10, 60, 10})); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({10}, -1)); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({10}, 0, 0)); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({10}, 0, 10, 0)); }));
  CAF_CHECK(throws_invalid([] { rollup("svc", options({10}, 0, 10, 1.5)); }));
  rollup_options d;
  CAF_CHECK(d.widths_s == std::vector<int32_t>({10, 60}));
  CAF_CHECK_EQUAL(d.allowed_lateness_ms, 5000);
  CAF_CHECK_EQUAL(d.max_open_buckets, 10000u);
}

CAF_TEST(an empty rollup returns nothing) {
  rollup r("svc");
  CAF_CHECK(r.take_dirty().empty());
  CAF_CHECK_EQUAL(r.open_buckets(), 0u);
  CAF_CHECK_EQUAL(r.late_count(), 0u);
  CAF_CHECK_EQUAL(r.overflow_count(), 0u);
  CAF_CHECK_EQUAL(r.watermark_ms(), INT64_MIN);
  CAF_CHECK_EQUAL(r.service(), "svc");
}

CAF_TEST(an item at a bucket edge belongs to the later bucket at every width) {
  rollup r("svc");
  r.add_log(t0 - 1, log_level::info);  // 10 s bucket t0 - 10 s, 60 s bucket t0 - 60 s
  r.add_log(t0, log_level::info);
  r.add_log(t0 + 9999, log_level::info);
  r.add_log(t0 + 10000, log_level::info);
  r.add_log(t0 + 59999, log_level::info);
  r.add_log(t0 + 60000, log_level::info);
  CAF_CHECK_EQUAL(r.open_buckets(), 8u);  // 10 s: 5 buckets; 60 s: 3 buckets
  auto rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)),
                  "log//{}/10/-10000 log//{}/10/0 log//{}/10/10000 log//{}/10/50000 "
                  "log//{}/10/60000 log//{}/60/-60000 log//{}/60/0 log//{}/60/60000");
  std::vector<uint64_t> counts;
  for (auto& x : rows) counts.push_back(x.count);
  CAF_CHECK(counts == std::vector<uint64_t>({1, 2, 1, 1, 1, 1, 4, 1}));
  for (auto& x : rows) {
    CAF_CHECK_EQUAL(x.bucket_ms % (x.width_s * 1000), 0);
    CAF_CHECK_EQUAL(x.service, "svc");
  }
}

CAF_TEST(negative event times use floor division) {
  rollup r("svc", options({10}, 0));
  r.add_event(-1, "a");      // [-10000, 0)
  r.add_event(-10000, "a");  // [-10000, 0)
  r.add_event(-10001, "a");  // [-20000, -10000)
  r.add_event(0, "a");       // [0, 10000)
  auto rows = r.take_dirty();
  std::vector<std::tuple<std::string, int64_t, uint64_t>> got;
  for (auto& x : rows) got.emplace_back(x.name, x.bucket_ms, x.count);
  using t = std::tuple<std::string, int64_t, uint64_t>;
  CAF_CHECK(got == std::vector<t>({t{"", -20000, 1}, t{"", -10000, 2}, t{"", 0, 1},
                                   t{"a", -20000, 1}, t{"a", -10000, 2}, t{"a", 0, 1}}));
  rollup m("svc", options({60}, 0));
  m.add_metric(-60000, "m", "{}", 1);
  m.add_metric(-60001, "m", "{}", 2);
  auto mrows = m.take_dirty();
  CAF_REQUIRE_EQUAL(mrows.size(), 2u);
  CAF_CHECK_EQUAL(mrows[0].bucket_ms, -120000);
  CAF_CHECK(mrows[0].sum == 2);
  CAF_CHECK_EQUAL(mrows[1].bucket_ms, -60000);
  CAF_CHECK(mrows[1].sum == 1);
}

CAF_TEST(log rows count lines errors and levels) {
  rollup r("checkout", options({10}));
  for (int i = 0; i < 10; ++i) r.add_log(t0 + i, log_level::info);
  for (int i = 0; i < 2; ++i) r.add_log(t0 + 100 + i, log_level::error);
  r.add_log(t0 + 200, log_level::fatal);
  r.add_log(t0 + 300, log_level::warn);
  r.add_log(t0 + 400, static_cast<log_level>(42));  // out of range: counted as info
  auto rows = r.take_dirty();
  CAF_REQUIRE_EQUAL(rows.size(), 1u);
  auto& x = rows[0];
  CAF_CHECK_EQUAL(x.service, "checkout");
  CAF_CHECK_EQUAL(x.signal, "log");
  CAF_CHECK_EQUAL(x.name, "");
  CAF_CHECK_EQUAL(x.series, "{}");
  CAF_CHECK_EQUAL(x.width_s, 10);
  CAF_CHECK_EQUAL(x.bucket_ms, t0);
  CAF_CHECK_EQUAL(x.count, 15u);
  CAF_CHECK_EQUAL(x.errors, 3u);
  CAF_CHECK_EQUAL(x.detail, R"({"error":2,"fatal":1,"info":11,"warn":1})");
  CAF_CHECK(x.sum == 0 && x.min == 0 && x.max == 0 && x.p50 == 0 && x.p95 == 0 && x.p99 == 0);
  // Every level name; keys in alphabetical order.
  rollup all("svc", options({10}));
  for (size_t i = 0; i < log_level_count; ++i)
    for (size_t n = 0; n <= i; ++n) all.add_log(t0, static_cast<log_level>(i));
  auto a = all.take_dirty();
  CAF_REQUIRE_EQUAL(a.size(), 1u);
  CAF_CHECK_EQUAL(a[0].detail, R"({"debug":2,"error":5,"fatal":6,"info":3,"trace":1,"warn":4})");
  CAF_CHECK_EQUAL(a[0].count, 21u);
  CAF_CHECK_EQUAL(a[0].errors, 11u);
}

CAF_TEST(event rows count per type and for all types) {
  rollup r("svc", options({10, 60}));
  r.add_event(t0, "deploy");
  r.add_event(t0 + 1000, "deploy");
  r.add_event(t0 + 2000, "restart");
  r.add_event(t0 + 15000, "deploy");
  r.add_event(t0 + 16000, "");  // no type: counted once, under ""
  auto rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)),
                  "event//{}/10/0 event//{}/10/10000 event//{}/60/0 "
                  "event/deploy/{}/10/0 event/deploy/{}/10/10000 event/deploy/{}/60/0 "
                  "event/restart/{}/10/0 event/restart/{}/60/0");
  CAF_CHECK_EQUAL(row(rows, "event//{}/10/0").count, 3u);
  CAF_CHECK_EQUAL(row(rows, "event//{}/10/10000").count, 2u);
  CAF_CHECK_EQUAL(row(rows, "event//{}/60/0").count, 5u);
  CAF_CHECK_EQUAL(row(rows, "event/deploy/{}/10/0").count, 2u);
  CAF_CHECK_EQUAL(row(rows, "event/deploy/{}/10/10000").count, 1u);
  CAF_CHECK_EQUAL(row(rows, "event/deploy/{}/60/0").count, 3u);
  CAF_CHECK_EQUAL(row(rows, "event/restart/{}/60/0").count, 1u);
  for (auto& x : rows) {
    CAF_CHECK_EQUAL(x.signal, "event");
    CAF_CHECK_EQUAL(x.errors, 0u);
    CAF_CHECK_EQUAL(x.detail, "{}");
    CAF_CHECK(x.sum == 0 && x.p99 == 0);
  }
}

CAF_TEST(metric rows are exact where they can be and percentiles within the sketch bound) {
  rollup r("svc", options({60}));
  std::vector<double> xs;
  for (int i = 1; i <= 1000; ++i) xs.push_back(i);
  std::shuffle(xs.begin(), xs.end(), std::mt19937_64(42));
  for (size_t i = 0; i < xs.size(); ++i)
    r.add_metric(t0 + static_cast<int64_t>(i) * 50, "latency_ms", R"({"route":"/pay"})", xs[i]);
  r.add_metric(t0, "latency_ms", R"({"route":"/pay"})", std::nan(""));  // ignored
  r.add_metric(t0, "latency_ms", R"({"route":"/pay"})", HUGE_VAL);      // ignored
  auto rows = r.take_dirty();
  CAF_REQUIRE_EQUAL(rows.size(), 1u);
  auto& x = rows[0];
  CAF_CHECK_EQUAL(x.signal, "metric");
  CAF_CHECK_EQUAL(x.name, "latency_ms");
  CAF_CHECK_EQUAL(x.series, R"({"route":"/pay"})");
  CAF_CHECK_EQUAL(x.count, 1000u);
  CAF_CHECK(x.sum == 500500);
  CAF_CHECK(x.min == 1);
  CAF_CHECK(x.max == 1000);
  CAF_CHECK(within(x.p50, exact_quantile(xs, 0.5), 0.01));
  CAF_CHECK(within(x.p95, exact_quantile(xs, 0.95), 0.01));
  CAF_CHECK(within(x.p99, exact_quantile(xs, 0.99), 0.01));
  CAF_CHECK_EQUAL(x.errors, 0u);
  CAF_CHECK_EQUAL(x.detail, "{}");
  // A log-normal set, negative values and a coarser sketch: the bound follows the accuracy.
  rollup c("svc", options({10}, 5000, 10000, 0.05));
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(4, 1);
  std::vector<double> ys;
  for (int i = 0; i < 5000; ++i) {
    ys.push_back(i % 10 == 0 ? -dist(rng) : dist(rng));
    c.add_metric(t0 + i, "m", "{}", ys.back());
  }
  auto cr = c.take_dirty();
  CAF_REQUIRE_EQUAL(cr.size(), 1u);
  CAF_CHECK_EQUAL(cr[0].count, 5000u);
  CAF_CHECK(cr[0].min == *std::min_element(ys.begin(), ys.end()));
  CAF_CHECK(cr[0].max == *std::max_element(ys.begin(), ys.end()));
  CAF_CHECK(within(cr[0].p50, exact_quantile(ys, 0.5), 0.05));
  CAF_CHECK(within(cr[0].p95, exact_quantile(ys, 0.95), 0.05));
  CAF_CHECK(within(cr[0].p99, exact_quantile(ys, 0.99), 0.05));
  // A single sample: every percentile is that sample.
  rollup one("svc", options({10}));
  one.add_metric(t0, "m", "{}", 12.5);
  auto o = one.take_dirty();
  CAF_REQUIRE_EQUAL(o.size(), 1u);
  CAF_CHECK(o[0].min == 12.5 && o[0].max == 12.5 && o[0].sum == 12.5);
  CAF_CHECK(o[0].p50 == 12.5 && o[0].p95 == 12.5 && o[0].p99 == 12.5);
}

CAF_TEST(rows are sorted by signal name series width and bucket) {
  rollup r("svc");
  // Added in reverse of the expected order.
  r.add_metric(t0 + 70000, "b", R"({"k":"2"})", 1);
  r.add_metric(t0 + 10000, "b", R"({"k":"2"})", 1);
  r.add_metric(t0, "b", R"({"k":"1"})", 1);
  r.add_metric(t0, "a", R"({"k":"3"})", 1);
  r.add_log(t0, log_level::info);
  r.add_event(t0, "z");
  auto rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)),
                  "event//{}/10/0 event//{}/60/0 event/z/{}/10/0 event/z/{}/60/0 "
                  "log//{}/10/0 log//{}/60/0 "
                  R"(metric/a/{"k":"3"}/10/0 metric/a/{"k":"3"}/60/0 )"
                  R"(metric/b/{"k":"1"}/10/0 metric/b/{"k":"1"}/60/0 )"
                  R"(metric/b/{"k":"2"}/10/10000 metric/b/{"k":"2"}/10/70000 )"
                  R"(metric/b/{"k":"2"}/60/0 metric/b/{"k":"2"}/60/60000)");
}

CAF_TEST(rows carry full values and only changed buckets are returned) {
  rollup r("svc", options({10, 60}));
  r.add_metric(t0, "m", "{}", 1);
  r.add_log(t0, log_level::error);
  auto first = r.take_dirty();
  CAF_CHECK_EQUAL(first.size(), 4u);
  CAF_CHECK(r.take_dirty().empty());  // nothing changed
  r.add_metric(t0 + 1000, "m", "{}", 2);
  auto second = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(second)), "metric/m/{}/10/0 metric/m/{}/60/0");
  for (auto& x : second) {  // the totals, not the increment
    CAF_CHECK_EQUAL(x.count, 2u);
    CAF_CHECK(x.sum == 3 && x.min == 1 && x.max == 2);
  }
  // Only the bucket that changed: a new 10 s bucket and the same 60 s bucket.
  r.add_log(t0 + 15000, log_level::info);
  auto third = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(third)), "log//{}/10/10000 log//{}/60/0");
  CAF_CHECK_EQUAL(row(third, "log//{}/10/10000").count, 1u);
  auto l60 = row(third, "log//{}/60/0");
  CAF_CHECK_EQUAL(l60.count, 2u);
  CAF_CHECK_EQUAL(l60.errors, 1u);
  CAF_CHECK_EQUAL(l60.detail, R"({"error":1,"info":1})");
  // Many adds between takes: one row per bucket.
  for (int i = 0; i < 100; ++i) r.add_event(t0 + 12000, "deploy");
  auto fourth = r.take_dirty();
  CAF_CHECK_EQUAL(fourth.size(), 4u);
  CAF_CHECK_EQUAL(row(fourth, "event/deploy/{}/10/10000").count, 100u);
  CAF_CHECK_EQUAL(row(fourth, "event//{}/60/0").count, 100u);
}

CAF_TEST(final buckets are returned then evicted) {
  rollup r("svc", options({10, 60}, 5000));
  r.add_log(t0 + 1000, log_level::info);
  r.add_log(t0 + 12000, log_level::info);
  CAF_CHECK_EQUAL(r.open_buckets(), 3u);  // 10 s: t0, t0 + 10 s; 60 s: t0
  CAF_CHECK_EQUAL(r.watermark_ms(), t0 + 7000);
  CAF_CHECK_EQUAL(r.take_dirty().size(), 3u);
  CAF_CHECK_EQUAL(r.open_buckets(), 3u);  // none final yet: [t0, t0 + 10 s) ends after t0 + 7 s
  r.advance_to(t0 + 15000);               // watermark t0 + 10 s: the first 10 s bucket is final
  CAF_CHECK_EQUAL(r.watermark_ms(), t0 + 10000);
  auto rows = r.take_dirty();  // it was returned before and did not change: no row, evicted
  CAF_CHECK(rows.empty());
  CAF_CHECK_EQUAL(r.open_buckets(), 2u);
  // A changed bucket that is final is returned once more, then evicted.
  r.add_log(t0 + 14000, log_level::error);
  r.advance_to(t0 + 25000);
  rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)), "log//{}/10/10000 log//{}/60/0");
  CAF_CHECK_EQUAL(row(rows, "log//{}/10/10000").count, 2u);
  CAF_CHECK_EQUAL(row(rows, "log//{}/60/0").count, 3u);
  CAF_CHECK_EQUAL(r.open_buckets(), 1u);  // the 60 s bucket ends at t0 + 60 s
  r.advance_to(t0 + 65000);
  CAF_CHECK(r.take_dirty().empty());
  CAF_CHECK_EQUAL(r.open_buckets(), 0u);
  CAF_CHECK_EQUAL(r.late_count(), 0u);
  // advance_to never moves back.
  r.advance_to(t0);
  CAF_CHECK_EQUAL(r.watermark_ms(), t0 + 60000);
  // An item far ahead finalizes everything at the next take (the caller clamps times).
  rollup f("svc", options({10, 60}, 5000));
  f.add_metric(t0, "m", "{}", 1);
  f.add_metric(t0 + 86400000, "m", "{}", 2);
  CAF_CHECK_EQUAL(f.take_dirty().size(), 4u);
  CAF_CHECK_EQUAL(f.open_buckets(), 2u);
  f.add_metric(t0 + 1000, "m", "{}", 3);
  CAF_CHECK_EQUAL(f.late_count(), 1u);
  CAF_CHECK(f.take_dirty().empty());
}

CAF_TEST(late items go to buckets still open and are refused by taken final ones) {
  rollup r("svc", options({10, 60}, 5000));
  r.add_event(t0 + 1000, "deploy");
  r.advance_to(t0 + 20000);  // watermark t0 + 15 s: [t0, t0 + 10 s) is final, not yet taken
  // Older than the watermark, but its bucket is final and not taken: still added.
  r.add_event(t0 + 3000, "deploy");
  CAF_CHECK_EQUAL(r.late_count(), 0u);
  // Older than the watermark, bucket not final: added.
  r.add_event(t0 + 14000, "deploy");
  CAF_CHECK_EQUAL(r.late_count(), 0u);
  auto rows = r.take_dirty();
  CAF_CHECK_EQUAL(row(rows, "event/deploy/{}/10/0").count, 2u);
  CAF_CHECK_EQUAL(row(rows, "event/deploy/{}/10/10000").count, 1u);
  CAF_CHECK_EQUAL(row(rows, "event/deploy/{}/60/0").count, 3u);
  CAF_CHECK_EQUAL(row(rows, "event//{}/60/0").count, 3u);
  CAF_CHECK_EQUAL(r.open_buckets(), 4u);  // the two 10 s buckets at t0 were evicted
  // Now [t0, t0 + 10 s) was returned and evicted: an add for it is late for the 10 s width
  // (counted once, for the item) but still goes to the open 60 s buckets.
  r.add_event(t0 + 9999, "deploy");
  CAF_CHECK_EQUAL(r.late_count(), 1u);
  rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)), "event//{}/60/0 event/deploy/{}/60/0");
  CAF_CHECK_EQUAL(row(rows, "event//{}/60/0").count, 4u);
  CAF_CHECK_EQUAL(row(rows, "event/deploy/{}/60/0").count, 4u);
  // A bucket that never had data but was final at the last take is refused too: it cannot be
  // told from an evicted one.
  r.add_metric(t0 + 5000, "m", "{}", 1);
  CAF_CHECK_EQUAL(r.late_count(), 2u);
  rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)), "metric/m/{}/60/0");
  // Not late: the 10 s bucket that is not final (ends after the watermark at that take).
  r.add_metric(t0 + 15000, "m", "{}", 2);
  CAF_CHECK_EQUAL(r.late_count(), 2u);
  // Everything of the first minute refused once its 60 s bucket was final at a take.
  r.advance_to(t0 + 70000);
  rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)), "metric/m/{}/10/10000 metric/m/{}/60/0");
  CAF_CHECK_EQUAL(row(rows, "metric/m/{}/60/0").count, 2u);
  CAF_CHECK_EQUAL(r.open_buckets(), 0u);
  r.add_log(t0 + 59999, log_level::error);
  r.add_event(t0 + 30000, "x");
  CAF_CHECK_EQUAL(r.late_count(), 4u);
  CAF_CHECK(r.take_dirty().empty());
  CAF_CHECK_EQUAL(r.open_buckets(), 0u);
  // With no lateness, the bucket of the highest time is open until time passes its end.
  rollup z("svc", options({10}, 0));
  z.add_log(t0 + 9999, log_level::info);
  z.take_dirty();
  CAF_CHECK_EQUAL(z.open_buckets(), 1u);
  z.add_log(t0 + 10000, log_level::info);  // watermark = t0 + 10 s = the first bucket's end
  z.add_log(t0, log_level::info);          // not yet taken: still added
  auto zr = z.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(zr)), "log//{}/10/0 log//{}/10/10000");
  CAF_CHECK_EQUAL(row(zr, "log//{}/10/0").count, 2u);
  CAF_CHECK_EQUAL(z.open_buckets(), 1u);
  z.add_log(t0 + 5000, log_level::info);
  CAF_CHECK_EQUAL(z.late_count(), 1u);
}

CAF_TEST(the open bucket cap refuses new buckets and counts them) {
  rollup r("svc", options({10}, 0, 3));
  r.add_metric(t0, "m", R"({"i":1})", 1);
  r.add_metric(t0, "m", R"({"i":2})", 1);
  r.add_metric(t0, "m", R"({"i":3})", 1);
  CAF_CHECK_EQUAL(r.open_buckets(), 3u);
  r.add_metric(t0, "m", R"({"i":4})", 1);  // a new series
  r.add_log(t0, log_level::info);          // a new signal
  CAF_CHECK_EQUAL(r.overflow_count(), 2u);
  CAF_CHECK_EQUAL(r.open_buckets(), 3u);
  r.add_metric(t0 + 1, "m", R"({"i":1})", 5);  // open buckets still take items
  CAF_CHECK_EQUAL(r.overflow_count(), 2u);
  auto rows = r.take_dirty();
  CAF_CHECK_EQUAL(joined(keys_of(rows)),
                  R"(metric/m/{"i":1}/10/0 metric/m/{"i":2}/10/0 metric/m/{"i":3}/10/0)");
  CAF_CHECK(row(rows, R"(metric/m/{"i":1}/10/0)").sum == 6);
  r.add_metric(t0 + 10000, "m", R"({"i":1})", 1);  // a new time bucket of a known series
  CAF_CHECK_EQUAL(r.overflow_count(), 3u);
  CAF_CHECK_EQUAL(r.late_count(), 0u);  // refused by the cap, not late
  // Eviction of final buckets makes room.
  r.advance_to(t0 + 10000);
  CAF_CHECK(r.take_dirty().empty());
  CAF_CHECK_EQUAL(r.open_buckets(), 0u);
  r.add_metric(t0 + 10000, "m", R"({"i":4})", 1);
  CAF_CHECK_EQUAL(r.open_buckets(), 1u);
  CAF_CHECK_EQUAL(r.overflow_count(), 3u);
  // With two widths an item can get one bucket and lose the other.
  rollup two("svc", options({10, 60}, 0, 3));
  two.add_event(t0, "");             // 2 buckets
  two.add_log(t0, log_level::info);  // 10 s bucket, then the cap
  CAF_CHECK_EQUAL(two.overflow_count(), 1u);
  CAF_CHECK_EQUAL(joined(keys_of(two.take_dirty())), "event//{}/10/0 event//{}/60/0 log//{}/10/0");
}
