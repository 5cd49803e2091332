#include "actors/window/windows.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace rtmon {

namespace {

constexpr int64_t no_time = INT64_MIN;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t width_of(const window_spec& s) { return s.span_ms / s.buckets; }

void check_specs(const std::vector<window_spec>& specs, int64_t lateness) {
  if (lateness < 0) throw std::invalid_argument("window: allowed lateness must be >= 0");
  for (size_t i = 0; i < specs.size(); ++i) {
    auto& s = specs[i];
    if (s.span_ms <= 0 || s.buckets <= 0 || s.span_ms % s.buckets != 0)
      throw std::invalid_argument("window: span " + std::to_string(s.span_ms) + " ms with " +
                                  std::to_string(s.buckets) +
                                  " buckets (span and buckets must be > 0, span divisible by "
                                  "buckets)");
    for (size_t j = 0; j < i; ++j)
      if (specs[j].span_ms == s.span_ms)
        throw std::invalid_argument("window: span " + std::to_string(s.span_ms) +
                                    " ms is configured twice");
  }
}

template <class Ring>
std::vector<Ring> make_rings(const std::vector<window_spec>& specs, int64_t lateness,
                             const typename decltype(Ring::buckets)::value_type& proto) {
  check_specs(specs, lateness);
  std::vector<Ring> rings;
  rings.reserve(specs.size());
  for (auto& s : specs) rings.push_back(Ring{s, decltype(Ring::buckets)(s.buckets, proto)});
  return rings;
}

// Late check and max_ts update shared by the three window kinds.
bool admit(int64_t ts, int64_t lateness, int64_t& max_ts, uint64_t& late) {
  if (max_ts != no_time && ts < max_ts - lateness) {
    ++late;
    return false;
  }
  max_ts = std::max(max_ts, ts);
  return true;
}

int64_t watermark(int64_t max_ts, int64_t lateness) {
  return max_ts == no_time ? no_time : max_ts - lateness;
}

// Buckets of a ring whose start is above this are in the window ending at max_ts.
int64_t window_floor(const window_spec& s, int64_t max_ts) {
  int64_t w = width_of(s);
  return floor_div(max_ts, w) * w - s.span_ms;
}

// The bucket for an accepted event at ts (max_ts already updated), reset if its slot held an
// older bucket; nullptr when the bucket is already outside this ring's window.
template <class Ring, class Reset>
auto* slot_for(Ring& r, int64_t ts, int64_t max_ts, Reset reset) {
  const int64_t w = width_of(r.spec), n = r.spec.buckets;
  if (r.head_start == no_time || max_ts - r.head_start >= w) {  // max_ts entered a new bucket
    int64_t idx = floor_div(max_ts, w);
    r.head_start = idx * w;
    r.head_slot = static_cast<size_t>(((idx % n) + n) % n);
  }
  int64_t start = r.head_start;
  size_t slot = r.head_slot;
  if (ts < r.head_start) {  // an older bucket (the head bucket ends after max_ts >= ts)
    start = floor_div(ts, w) * w;
    if (start <= r.head_start - r.spec.span_ms) return decltype(&r.buckets[0]){nullptr};
    auto back = static_cast<size_t>((r.head_start - start) / w);  // 1 .. n - 1
    slot = slot >= back ? slot - back : slot + static_cast<size_t>(n) - back;
  }
  auto& b = r.buckets[slot];
  if (b.start != start) {  // only ever older: a newer bucket in this slot would be > span ahead
    reset(b);
    b.start = start;
  }
  return &b;
}

template <class Ring>
const Ring& ring_of(const std::vector<Ring>& rings, int64_t span_ms) {
  for (auto& r : rings)
    if (r.spec.span_ms == span_ms) return r;
  throw std::invalid_argument("window: no window of span " + std::to_string(span_ms) + " ms");
}

// Calls f(bucket) for each bucket of the window ending at max_ts.
template <class Ring, class F>
void for_window(const Ring& r, int64_t max_ts, F f) {
  if (max_ts == no_time) return;
  int64_t floor = window_floor(r.spec, max_ts);
  for (auto& b : r.buckets)
    if (b.start != no_time && b.start > floor) f(b);
}

}  // namespace

std::vector<window_spec> default_windows() { return {{60000, 60}, {300000, 60}, {900000, 60}}; }

// -- metric_window ------------------------------------------------------------------------------

metric_window::metric_window(std::vector<window_spec> specs, int64_t allowed_lateness_ms,
                             double sketch_accuracy)
    : rings_(make_rings<ring>(specs, allowed_lateness_ms,
                              bucket{no_time, quantile_sketch(sketch_accuracy)})),
      lateness_(allowed_lateness_ms),
      accuracy_(sketch_accuracy) {}

bool metric_window::add(int64_t ts_ms, double value) {
  if (!std::isfinite(value)) return false;
  if (!admit(ts_ms, lateness_, max_ts_, late_)) return false;
  if (rings_.empty()) return true;
  // One logarithm for all windows (every bucket sketch has the same accuracy).
  int64_t index = value == 0 ? 0 : rings_.front().buckets.front().sketch.index_of(std::fabs(value));
  for (auto& r : rings_)
    if (auto* b = slot_for(r, ts_ms, max_ts_, [](bucket& b) { b.sketch.clear(); }))
      b->sketch.add_indexed(value, index);
  return true;
}

metric_stats metric_window::stats(int64_t span_ms) const {
  auto& r = ring_of(rings_, span_ms);
  quantile_sketch merged(accuracy_);
  for_window(r, max_ts_, [&](const bucket& b) { merged.merge(b.sketch); });
  metric_stats st;
  if (merged.empty()) return st;
  st.count = merged.count();
  st.sum = merged.sum();
  st.min = merged.min();
  st.max = merged.max();
  st.avg = st.sum / static_cast<double>(st.count);
  st.p50 = merged.quantile(0.5);
  st.p95 = merged.quantile(0.95);
  st.p99 = merged.quantile(0.99);
  st.rate_per_s = static_cast<double>(st.count) * 1000.0 / static_cast<double>(span_ms);
  return st;
}

int64_t metric_window::watermark_ms() const { return watermark(max_ts_, lateness_); }

// -- log_window ---------------------------------------------------------------------------------

log_level parse_log_level(const std::string& text) {
  log_level out = log_level::info;
  return rtmon::parse_log_level(text, out) ? out : log_level::info;
}

log_window::log_window(std::vector<window_spec> specs, int64_t allowed_lateness_ms)
    : rings_(make_rings<ring>(specs, allowed_lateness_ms, bucket{})),
      lateness_(allowed_lateness_ms) {}

bool log_window::add(int64_t ts_ms, log_level level) {
  if (!admit(ts_ms, lateness_, max_ts_, late_)) return false;
  auto i = static_cast<size_t>(level);
  if (i >= log_level_count) i = static_cast<size_t>(log_level::info);
  for (auto& r : rings_)
    if (auto* b = slot_for(r, ts_ms, max_ts_, [](bucket& b) { b.counts.fill(0); })) ++b->counts[i];
  return true;
}

log_stats log_window::stats(int64_t span_ms) const {
  auto& r = ring_of(rings_, span_ms);
  log_stats st;
  for_window(r, max_ts_, [&](const bucket& b) {
    for (size_t i = 0; i < log_level_count; ++i) st.by_level[i] += b.counts[i];
  });
  for (auto c : st.by_level) st.total += c;
  st.errors = st.by_level[static_cast<size_t>(log_level::error)] +
              st.by_level[static_cast<size_t>(log_level::fatal)];
  st.error_rate = st.total == 0 ? 0 : static_cast<double>(st.errors) / st.total;
  return st;
}

int64_t log_window::watermark_ms() const { return watermark(max_ts_, lateness_); }

// -- event_window -------------------------------------------------------------------------------

event_window::event_window(std::vector<window_spec> specs, int64_t allowed_lateness_ms)
    : rings_(make_rings<ring>(specs, allowed_lateness_ms, bucket{})),
      lateness_(allowed_lateness_ms) {}

bool event_window::add(int64_t ts_ms, const std::string& type) {
  if (!admit(ts_ms, lateness_, max_ts_, late_)) return false;
  auto reset = [](bucket& b) {
    for (auto it = b.counts.begin(); it != b.counts.end();)
      if (it->second == 0) {
        it = b.counts.erase(it);
      } else {
        it->second = 0;
        ++it;
      }
    b.total = 0;
  };
  for (auto& r : rings_)
    if (auto* b = slot_for(r, ts_ms, max_ts_, reset)) {
      ++b->total;
      auto it = b->counts.find(type);
      if (it != b->counts.end())
        ++it->second;
      else
        b->counts.emplace(type, 1);
    }
  return true;
}

uint64_t event_window::count(int64_t span_ms, const std::string& type) const {
  auto& r = ring_of(rings_, span_ms);
  uint64_t n = 0;
  for_window(r, max_ts_, [&](const bucket& b) {
    if (type.empty()) {
      n += b.total;
    } else if (auto it = b.counts.find(type); it != b.counts.end()) {
      n += it->second;
    }
  });
  return n;
}

int64_t event_window::watermark_ms() const { return watermark(max_ts_, lateness_); }

}  // namespace rtmon
