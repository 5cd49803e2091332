#include "actors/window/sketch.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace rtmon {

// -- store --------------------------------------------------------------------------------------

void quantile_sketch::store::reserve_range(int64_t lo, int64_t hi) {
  auto size = static_cast<int64_t>(bins_.size());
  if (lo >= offset_ && hi < offset_ + size) return;
  int64_t need = hi - lo + 1;
  if (total_ == 0 && need <= size) {  // recycled after clear(): all zero, just re-center
    offset_ = lo - (size - need) / 2;
    return;
  }
  // Grow geometrically (amortised O(1) per new key), with room on the side that grew; never
  // much beyond max_bins, since the occupied range never exceeds it.
  int64_t new_size = std::max(need + 16, size + size / 2);
  new_size = std::max(need, std::min(new_size, max_bins_ + 16));
  int64_t slack = new_size - need;
  int64_t new_offset;
  if (total_ == 0 || size == 0)
    new_offset = lo - slack / 2;
  else if (lo < offset_)
    new_offset = lo - slack + slack / 4;  // growing downwards: 3/4 of the slack below
  else
    new_offset = lo - slack / 4;  // growing upwards: 3/4 of the slack above
  std::vector<uint64_t> grown(static_cast<size_t>(new_size), 0);
  // Copy what the old and new ranges share (every non-zero counter lies in [lo, hi]).
  for (int64_t k = std::max(offset_, new_offset),
               end = std::min(offset_ + size, new_offset + new_size);
       k < end; ++k)
    grown[static_cast<size_t>(k - new_offset)] = bins_[static_cast<size_t>(k - offset_)];
  bins_.swap(grown);
  offset_ = new_offset;
}

void quantile_sketch::store::add(int64_t key, uint64_t n) {
  if (total_ == 0) {
    reserve_range(key, key);
    lo_ = hi_ = key;
  } else if (key < lo_) {
    // Too far below the highest key: counted in the lowest bucket kept.
    key = std::max(key, hi_ - max_bins_ + 1);
    if (key < lo_) {
      reserve_range(key, hi_);
      lo_ = key;
    }
  } else if (key > hi_) {
    int64_t new_lo = key - max_bins_ + 1;
    if (new_lo > lo_) {  // collapse the keys below new_lo into new_lo
      uint64_t collapsed = 0;
      for (int64_t k = lo_, stop = std::min(hi_, new_lo - 1); k <= stop; ++k) {
        collapsed += bin(k);
        bin(k) = 0;
      }
      lo_ = new_lo;
      reserve_range(new_lo, key);
      bin(new_lo) += collapsed;
    } else {
      reserve_range(lo_, key);
    }
    hi_ = key;
  }
  bin(key) += n;
  total_ += n;
}

void quantile_sketch::store::merge(const store& other) {
  if (other.total_ == 0) return;
  int64_t lo = total_ == 0 ? other.lo_ : std::min(lo_, other.lo_);
  int64_t hi = total_ == 0 ? other.hi_ : std::max(hi_, other.hi_);
  if (hi - lo + 1 <= max_bins_) {  // the usual case: one range check, then element-wise sums
    reserve_range(lo, hi);
    for (int64_t k = other.lo_; k <= other.hi_; ++k) bin(k) += other.bin(k);
    lo_ = lo;
    hi_ = hi;
    total_ += other.total_;
  } else {  // needs a collapse: highest keys first, so the range shifts once
    for (int64_t k = other.hi_; k >= other.lo_; --k)
      if (auto c = other.bin(k)) add(k, c);
  }
}

void quantile_sketch::store::clear() {
  if (total_ > 0)
    std::fill(bins_.begin() + (lo_ - offset_), bins_.begin() + (hi_ - offset_ + 1), 0);
  total_ = 0;
  lo_ = 0;
  hi_ = -1;
}

int64_t quantile_sketch::store::key_at_rank(uint64_t rank) const {
  uint64_t seen = 0;
  for (int64_t k = lo_; k < hi_; ++k) {
    seen += bin(k);
    if (seen > rank) return k;
  }
  return hi_;
}

// -- quantile_sketch ----------------------------------------------------------------------------

quantile_sketch::quantile_sketch(double relative_accuracy, size_t max_buckets)
    : accuracy_(relative_accuracy),
      max_buckets_(max_buckets),
      positive_(max_buckets),
      negative_(max_buckets),
      min_(std::numeric_limits<double>::infinity()),
      max_(-std::numeric_limits<double>::infinity()) {
  // Below 1e-6 the bucket indices of extreme doubles would no longer fit comfortably.
  if (!(relative_accuracy >= 1e-6 && relative_accuracy < 1))
    throw std::invalid_argument("quantile_sketch: relative accuracy must be in [1e-6, 1), got " +
                                std::to_string(relative_accuracy));
  if (max_buckets < 1) throw std::invalid_argument("quantile_sketch: max_buckets must be >= 1");
  gamma_ = (1 + accuracy_) / (1 - accuracy_);
  log_gamma_ = std::log(gamma_);
  inv_log_gamma_ = 1 / log_gamma_;
}

int64_t quantile_sketch::index_of(double magnitude) const {
  return static_cast<int64_t>(std::ceil(std::log(magnitude) * inv_log_gamma_));
}

double quantile_sketch::value_of(int64_t index) const {
  return 2 * std::exp(static_cast<double>(index) * log_gamma_) / (gamma_ + 1);
}

void quantile_sketch::add(double value, uint64_t n) {
  if (n == 0 || !std::isfinite(value)) return;
  if (value > 0)
    positive_.add(index_of(value), n);
  else if (value < 0)
    negative_.add(-index_of(-value), n);
  else
    zeros_ += n;
  count_ += n;
  sum_ += n == 1 ? value : value * static_cast<double>(n);
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void quantile_sketch::add_indexed(double value, int64_t index) {
  if (value > 0)
    positive_.add(index, 1);
  else if (value < 0)
    negative_.add(-index, 1);
  else
    ++zeros_;
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void quantile_sketch::merge(const quantile_sketch& other) {
  if (other.accuracy_ != accuracy_)
    throw std::invalid_argument("quantile_sketch::merge: relative accuracies differ");
  if (other.count_ == 0) return;
  positive_.merge(other.positive_);
  negative_.merge(other.negative_);
  zeros_ += other.zeros_;
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

double quantile_sketch::quantile(double q) const {
  if (count_ == 0 || std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0) return min_;
  if (q >= 1) return max_;
  auto rank = static_cast<uint64_t>(std::floor(q * static_cast<double>(count_ - 1)));
  double v;
  if (rank < negative_.total()) {
    v = -value_of(-negative_.key_at_rank(rank));
  } else if ((rank -= negative_.total()) < zeros_) {
    v = 0;
  } else {
    v = value_of(positive_.key_at_rank(rank - zeros_));
  }
  // The true value lies in [min, max]: clamping only moves the estimate closer to it.
  return std::clamp(v, min_, max_);
}

void quantile_sketch::clear() {
  positive_.clear();
  negative_.clear();
  zeros_ = count_ = 0;
  sum_ = 0;
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
}

}  // namespace rtmon
