#define CAF_SUITE rollup_model
// Rollups against a brute-force model of their documented semantics on random out-of-order
// streams: every take must return exactly the model's changed buckets and totals.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "actors/window/rollup.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

rollup_options options(std::vector<int32_t> widths, int64_t lateness) {
  rollup_options o;
  o.widths_s = std::move(widths);
  o.allowed_lateness_ms = lateness;
  return o;
}

}  // namespace

namespace {

// A brute-force model of the documented semantics: every item is kept; a bucket is refused
// when its end <= the watermark at the last take; a take returns the buckets changed since
// the previous take with their totals over all accepted items, then forgets the final ones.
struct model {
  struct item {
    int sig;  // 0 event, 1 log, 2 metric
    std::string name;
    int64_t ts;
    double value;
    log_level level;
  };
  using key = std::tuple<int, std::string, int32_t, int64_t>;  // sig, name, width, bucket
  std::vector<int32_t> widths;
  int64_t lateness = 0;
  int64_t max_ts = INT64_MIN, taken = INT64_MIN;
  uint64_t late = 0;
  std::map<key, std::vector<item>> open;
  std::map<key, bool> dirty;
  static int64_t floor_to(int64_t t, int64_t w) {
    int64_t q = t / w;
    if (t % w != 0 && t < 0) --q;
    return q * w;
  }
  void add_one(const item& it, const std::string& name, bool& refused) {
    for (auto w : widths) {
      int64_t start = floor_to(it.ts, w * 1000LL);
      if (start + w * 1000LL <= taken) {
        refused = true;
        continue;
      }
      key k{it.sig, name, w, start};
      open[k].push_back(it);
      dirty[k] = true;
    }
  }
  void add(const item& it) {
    max_ts = std::max(max_ts, it.ts);
    bool refused = false;
    add_one(it, it.name, refused);
    if (it.sig == 0 && !it.name.empty()) add_one(it, "", refused);
    late += refused;
  }
  // (key, count, sum, errors) per returned bucket, in key order.
  std::vector<std::tuple<key, uint64_t, double, uint64_t>> take() {
    std::vector<std::tuple<key, uint64_t, double, uint64_t>> out;
    for (auto& [k, d] : dirty) {
      if (!d) continue;
      double sum = 0;
      uint64_t errors = 0;
      for (auto& it : open[k]) {
        sum += it.sig == 2 ? it.value : 0;
        errors += it.sig == 1 && (it.level == log_level::error || it.level == log_level::fatal);
      }
      out.emplace_back(k, open[k].size(), sum, errors);
    }
    dirty.clear();
    int64_t wm = max_ts == INT64_MIN ? INT64_MIN : max_ts - lateness;
    for (auto it = open.begin(); it != open.end();)
      if (std::get<3>(it->first) + std::get<2>(it->first) * 1000LL <= wm)
        it = open.erase(it);
      else
        ++it;
    taken = wm;
    return out;
  }
};

}  // namespace

CAF_TEST(random out of order streams match a brute force model) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const std::vector<int32_t> widths =
        seed == 3 ? std::vector<int32_t>{1, 5, 60} : std::vector<int32_t>{10, 60};
    const int64_t lateness = seed == 2 ? 0 : 7000;
    rollup r("svc", options(widths, lateness));
    model m;
    m.widths = widths;
    m.lateness = lateness;
    std::mt19937_64 rng(seed);
    const std::string names[] = {"a", "b", ""};
    int64_t now = -90000;  // crosses zero
    int mismatches = 0, takes = 0;
    size_t rows_seen = 0;
    for (int step = 0; step < 20000; ++step) {
      auto p = rng() % 100;
      now += p < 1 ? static_cast<int64_t>(rng() % 120000) : static_cast<int64_t>(rng() % 40);
      int64_t ts = now - (p < 60 ? 0 : static_cast<int64_t>(rng() % (lateness + 20000)));
      model::item it{static_cast<int>(rng() % 3), names[rng() % 3], ts,
                     static_cast<double>(rng() % 1000), log_level(rng() % 6)};
      if (it.sig == 1) it.name = "";
      if (p >= 97) {
        r.advance_to(ts + 3000);
        m.max_ts = std::max(m.max_ts, ts + 3000);
      } else {
        m.add(it);
        if (it.sig == 0) r.add_event(it.ts, it.name);
        if (it.sig == 1) r.add_log(it.ts, it.level);
        if (it.sig == 2) r.add_metric(it.ts, it.name, "{}", it.value);
      }
      if (step % 50 != 49) continue;
      ++takes;
      auto rows = r.take_dirty();
      auto expected = m.take();
      rows_seen += rows.size();
      bool ok = rows.size() == expected.size();
      for (size_t i = 0; ok && i < rows.size(); ++i) {
        auto& [k, count, sum, errors] = expected[i];
        auto& x = rows[i];
        const char* sigs[] = {"event", "log", "metric"};
        ok = x.signal == sigs[std::get<0>(k)] && x.name == std::get<1>(k) &&
             x.width_s == std::get<2>(k) && x.bucket_ms == std::get<3>(k) && x.count == count &&
             x.sum == sum && x.errors == errors;
      }
      if (!ok && ++mismatches <= 5)
        CAF_MESSAGE("seed " << seed << " step " << step << ": " << rows.size() << " rows, "
                            << expected.size() << " expected");
      size_t open = 0;
      for (auto& kv : m.open) open += !kv.second.empty();
      if (r.open_buckets() != open && ++mismatches <= 5)
        CAF_MESSAGE("seed " << seed << " step " << step << ": " << r.open_buckets()
                            << " open buckets, " << open << " expected");
    }
    CAF_CHECK_EQUAL(mismatches, 0);
    CAF_CHECK_EQUAL(r.late_count(), m.late);
    CAF_CHECK_GREATER(m.late, 0u);
    CAF_CHECK_GREATER(takes, 300);
    CAF_CHECK_GREATER(rows_seen, 1000u);
    CAF_CHECK_EQUAL(r.overflow_count(), 0u);
  }
}
