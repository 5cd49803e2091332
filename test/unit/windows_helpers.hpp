#pragma once
// Shared by the window suites (windows, windows_advance, windows_model).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "actors/window/windows.hpp"

namespace rtmon::test_windows {

// Aligned to every default bucket width (1 s, 5 s, 15 s) and to the minute.
inline constexpr int64_t t0 = 1700000100000;
inline constexpr int64_t m1 = 60000, m5 = 300000, m15 = 900000;

inline const std::vector<window_spec> ten_seconds = {{10000, 10}};  // 1 s buckets

// CAF_CHECK_EQUAL keeps references to its arguments: these return plain values.
inline uint64_t count_of(const metric_window& w, int64_t span) { return w.stats(span).count; }
inline double min_of(const metric_window& w, int64_t span) { return w.stats(span).min; }
inline double max_of(const metric_window& w, int64_t span) { return w.stats(span).max; }
inline double sum_of(const metric_window& w, int64_t span) { return w.stats(span).sum; }

template <class F>
inline bool throws_invalid(F f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

inline double exact_quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(std::floor(q * static_cast<double>(xs.size() - 1)))];
}

inline bool within(double v, double x, double a) {
  return std::fabs(v - x) <= a * std::fabs(x) + 1e-12;
}

}  // namespace rtmon::test_windows
