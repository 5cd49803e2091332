// A mergeable quantile sketch with a relative error guarantee (the DDSketch construction:
// logarithmic buckets of ratio gamma = (1 + a) / (1 - a)). For any quantile q, the returned
// value v satisfies |v - x_q| <= a * |x_q| for the true q-quantile x_q of the inserted values,
// as long as no bucket collapse happened (collapse merges the lowest buckets when more than
// max_buckets are in use, which only loses accuracy for the smallest values).
//
// Definitions (what the tests check):
// - A value x != 0 goes to bucket i = ceil(log_gamma(|x|)), which holds |x| in
//   (gamma^(i-1), gamma^i]; the bucket's representative is 2 * gamma^i / (gamma + 1), within
//   a relative error a of every value in the bucket. Positive and negative values have separate
//   stores; exact zeros have their own count.
// - The q-quantile is the value of rank floor(q * (count - 1)) (0-based, ascending), i.e. the
//   "lower" quantile, estimated by its bucket's representative clamped to [min, max]. q <= 0 gives
//   the exact min, q >= 1 the exact max, an empty sketch or a NaN q gives NaN.
// - Collapse: each store (positive, negative) spans at most max_buckets consecutive bucket
//   indices. When a new value would widen that span, the buckets of the LOWEST values are merged
//   into the lowest bucket kept (for positive values: the smallest magnitudes; for negative
//   values: the largest magnitudes). Counts are never lost; the high quantiles keep the bound.
//   With a = 0.01 and 2048 buckets one store covers a ratio of ~6e17 between its largest and
//   smallest magnitude, so collapse is rare in practice.
// - count, sum, min and max are exact. Non-finite values (NaN, +-inf) and n == 0 are ignored
//   (the ingest refuses non-finite numbers before they get here).
//
// Storage: each store is a contiguous array of counters (a "dense store") over the occupied
// index range, not a std::map: add() is an array increment (no allocation once the range is
// allocated), merge() is an element-wise sum, and clear() zeroes the counters but keeps the
// allocation, so a window bucket that is recycled allocates nothing in steady state. Memory is
// 8 bytes per bucket index in the occupied range (a = 0.01: ~115 counters per factor 10 of value
// range, e.g. ~3.7 KB for 1 ms..10 s), bounded by about max_buckets counters per store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rtmon {

class quantile_sketch {
 public:
  /// Throws std::invalid_argument unless 1e-6 <= relative_accuracy < 1 and max_buckets >= 1.
  explicit quantile_sketch(double relative_accuracy = 0.01, size_t max_buckets = 2048);

  /// Adds a finite value n times. Negative values and zero are supported.
  void add(double value, uint64_t n = 1);
  /// Adds every value of `other`. Throws std::invalid_argument unless `other` has the same
  /// relative accuracy (max_buckets may differ: this sketch's limit applies).
  void merge(const quantile_sketch& other);
  /// The q-quantile, q in [0, 1] (0 = min, 1 = max); NaN when empty.
  double quantile(double q) const;

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double min() const { return min_; }  // exact; +inf when empty
  double max() const { return max_; }  // exact; -inf when empty
  double relative_accuracy() const { return accuracy_; }
  bool empty() const { return count_ == 0; }
  /// Forgets every value; keeps the allocated counters for reuse.
  void clear();

 private:
  // Counters for consecutive integer keys. Keys ascend with the values they stand for: the
  // positive store uses key = i, the negative store key = -i, so "lowest key" always means
  // "lowest values" and both stores collapse the same way.
  class store {
   public:
    explicit store(size_t max_bins) : max_bins_(static_cast<int64_t>(max_bins)) {}
    void add(int64_t key, uint64_t n);
    void merge(const store& other);
    void clear();
    uint64_t total() const { return total_; }
    /// The key holding the value of 0-based rank `rank` (< total()) in ascending order.
    int64_t key_at_rank(uint64_t rank) const;

   private:
    uint64_t& bin(int64_t key) { return bins_[static_cast<size_t>(key - offset_)]; }
    uint64_t bin(int64_t key) const { return bins_[static_cast<size_t>(key - offset_)]; }
    // Makes [lo, hi] addressable, keeping the counters of the occupied range.
    void reserve_range(int64_t lo, int64_t hi);

    std::vector<uint64_t> bins_;  // bins_[k] counts key offset_ + k; zero outside [lo_, hi_]
    int64_t offset_ = 0;
    int64_t lo_ = 0, hi_ = -1;  // occupied keys (meaningful when total_ > 0)
    uint64_t total_ = 0;
    int64_t max_bins_;
  };

  int64_t index_of(double magnitude) const;  // ceil(log_gamma(magnitude)), magnitude > 0
  double value_of(int64_t index) const;      // 2 * gamma^index / (gamma + 1)
  // add(value) with index = index_of(|value|) computed by the caller (ignored for 0): lets
  // metric_window take the logarithm once for all the windows a sample goes to.
  void add_indexed(double value, int64_t index);
  friend class metric_window;

  double accuracy_, gamma_, log_gamma_, inv_log_gamma_;
  size_t max_buckets_;
  store positive_, negative_;
  uint64_t zeros_ = 0, count_ = 0;
  double sum_ = 0, min_, max_;
};

}  // namespace rtmon
