#include "actors/window/windows.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace rtmon {

namespace window_detail {

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

bool event_clock::admit(int64_t ts_ms) {
  if (max_ts_ != no_time && ts_ms < max_ts_ - lateness_) {
    ++late_;
    return false;
  }
  advance_to(ts_ms);
  return true;
}

template <class Bucket>
bucket_ring<Bucket>::bucket_ring(const window_spec& spec, const Bucket& proto)
    : spec_(spec),
      width_(spec.span_ms / spec.buckets),
      slots_(static_cast<size_t>(spec.buckets), slot{no_time, proto}) {}

template <class Bucket>
int64_t bucket_ring<Bucket>::floor_of(int64_t max_ts) const {
  return floor_div(max_ts, width_) * width_ - spec_.span_ms;
}

template <class Bucket>
void bucket_ring<Bucket>::move_head(int64_t max_ts) {
  // Compared as max_ts < head + k * w (no difference of two times: no overflow).
  if (head_start_ != no_time && max_ts < head_start_ + width_) return;  // same bucket
  if (head_start_ != no_time && max_ts < head_start_ + 2 * width_) {    // the next one
    head_start_ += width_;
    head_slot_ = head_slot_ + 1 == slots_.size() ? 0 : head_slot_ + 1;
    return;
  }
  const int64_t idx = floor_div(max_ts, width_), n = spec_.buckets;
  head_start_ = idx * width_;
  head_slot_ = static_cast<size_t>(((idx % n) + n) % n);
}

template <class Bucket>
template <class Reset>
Bucket* bucket_ring<Bucket>::slot_for(int64_t ts, int64_t max_ts, Reset&& reset) {
  move_head(max_ts);
  int64_t start = head_start_;
  size_t i = head_slot_;
  if (ts < head_start_) {  // an older bucket (the head bucket ends after max_ts >= ts)
    start = floor_div(ts, width_) * width_;
    if (start <= head_start_ - spec_.span_ms) return nullptr;         // left the window
    auto back = static_cast<size_t>((head_start_ - start) / width_);  // 1 .. buckets - 1
    i = i >= back ? i - back : i + slots_.size() - back;
  }
  auto& s = slots_[i];
  if (s.start != start) {  // only ever older: a newer bucket in this slot would be > span ahead
    reset(s.bucket);
    s.start = start;
  }
  return &s.bucket;
}

template <class Bucket>
template <class F>
void bucket_ring<Bucket>::for_window(int64_t max_ts, F&& f) const {
  if (max_ts == no_time) return;
  const int64_t floor = floor_of(max_ts);
  for (auto& s : slots_)
    if (s.start != no_time && s.start > floor) f(s.bucket);
}

}  // namespace window_detail

namespace {

using window_detail::no_time;

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

template <class Bucket>
std::vector<window_detail::bucket_ring<Bucket>> make_rings(const std::vector<window_spec>& specs,
                                                           int64_t lateness, const Bucket& proto) {
  check_specs(specs, lateness);
  std::vector<window_detail::bucket_ring<Bucket>> rings;
  rings.reserve(specs.size());
  for (auto& s : specs) rings.emplace_back(s, proto);
  return rings;
}

template <class Ring>
const Ring& ring_of(const std::vector<Ring>& rings, int64_t span_ms) {
  for (auto& r : rings)
    if (r.spec().span_ms == span_ms) return r;
  throw std::invalid_argument("window: no window of span " + std::to_string(span_ms) + " ms");
}

}  // namespace

std::vector<window_spec> default_windows() { return {{60000, 60}, {300000, 60}, {900000, 60}}; }

// -- metric_window ------------------------------------------------------------------------------

metric_window::metric_window(std::vector<window_spec> specs, int64_t allowed_lateness_ms,
                             double sketch_accuracy)
    : rings_(make_rings(specs, allowed_lateness_ms, quantile_sketch(sketch_accuracy))),
      clock_(allowed_lateness_ms),
      accuracy_(sketch_accuracy) {}

bool metric_window::add(int64_t ts_ms, double value) {
  if (!std::isfinite(value)) return false;
  if (!clock_.admit(ts_ms)) return false;
  if (rings_.empty()) return true;
  // One logarithm for all windows (every bucket sketch has the same accuracy).
  int64_t index = value == 0 ? 0 : rings_.front().any().index_of(std::fabs(value));
  for (auto& r : rings_)
    if (auto* b = r.slot_for(ts_ms, clock_.max_ts(), [](quantile_sketch& s) { s.clear(); }))
      b->add_indexed(value, index);
  return true;
}

metric_stats metric_window::stats(int64_t span_ms) const {
  auto& r = ring_of(rings_, span_ms);
  quantile_sketch merged(accuracy_);
  r.for_window(clock_.max_ts(), [&](const quantile_sketch& s) { merged.merge(s); });
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

// -- log_window ---------------------------------------------------------------------------------

log_level parse_log_level(const std::string& text) {
  log_level out = log_level::info;
  return rtmon::parse_log_level(text, out) ? out : log_level::info;
}

log_window::log_window(std::vector<window_spec> specs, int64_t allowed_lateness_ms)
    : rings_(make_rings(specs, allowed_lateness_ms, counts{})), clock_(allowed_lateness_ms) {}

bool log_window::add(int64_t ts_ms, log_level level) {
  if (!clock_.admit(ts_ms)) return false;
  auto i = static_cast<size_t>(level);
  if (i >= log_level_count) i = static_cast<size_t>(log_level::info);
  for (auto& r : rings_)
    if (auto* b = r.slot_for(ts_ms, clock_.max_ts(), [](counts& c) { c.fill(0); })) ++(*b)[i];
  return true;
}

log_stats log_window::stats(int64_t span_ms) const {
  auto& r = ring_of(rings_, span_ms);
  log_stats st;
  r.for_window(clock_.max_ts(), [&](const counts& c) {
    for (size_t i = 0; i < log_level_count; ++i) st.by_level[i] += c[i];
  });
  for (auto c : st.by_level) st.total += c;
  st.errors = st.by_level[static_cast<size_t>(log_level::error)] +
              st.by_level[static_cast<size_t>(log_level::fatal)];
  st.error_rate = st.total == 0 ? 0 : static_cast<double>(st.errors) / st.total;
  return st;
}

// -- event_window -------------------------------------------------------------------------------

event_window::event_window(std::vector<window_spec> specs, int64_t allowed_lateness_ms)
    : rings_(make_rings(specs, allowed_lateness_ms, counts{})), clock_(allowed_lateness_ms) {}

bool event_window::add(int64_t ts_ms, const std::string& type) {
  if (!clock_.admit(ts_ms)) return false;
  auto reset = [](counts& c) {
    for (auto it = c.by_type.begin(); it != c.by_type.end();)
      if (it->second == 0) {
        it = c.by_type.erase(it);
      } else {
        it->second = 0;
        ++it;
      }
    c.total = 0;
  };
  for (auto& r : rings_)
    if (auto* b = r.slot_for(ts_ms, clock_.max_ts(), reset)) {
      ++b->total;
      auto it = b->by_type.find(type);
      if (it != b->by_type.end())
        ++it->second;
      else
        b->by_type.emplace(type, 1);
    }
  return true;
}

uint64_t event_window::count(int64_t span_ms, const std::string& type) const {
  auto& r = ring_of(rings_, span_ms);
  uint64_t n = 0;
  r.for_window(clock_.max_ts(), [&](const counts& c) {
    if (type.empty()) {
      n += c.total;
    } else if (auto it = c.by_type.find(type); it != c.by_type.end()) {
      n += it->second;
    }
  });
  return n;
}

}  // namespace rtmon
