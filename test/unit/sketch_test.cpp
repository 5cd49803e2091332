#define CAF_SUITE sketch
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/window/sketch.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

const double qs[] = {0, 0.01, 0.5, 0.9, 0.95, 0.99, 1};

// The exact q-quantile as the sketch defines it: rank floor(q * (n - 1)) of the sorted values.
double exact_quantile(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(std::floor(q * static_cast<double>(sorted.size() - 1)))];
}

bool within(double v, double x, double a) { return std::fabs(v - x) <= a * std::fabs(x) + 1e-12; }

quantile_sketch sketch_of(const std::vector<double>& xs, double a = 0.01, size_t max_b = 2048) {
  quantile_sketch s(a, max_b);
  for (auto x : xs) s.add(x);
  return s;
}

// Checks every q of `qs` against the exact quantile; returns the number of misses.
int check_bound(const std::vector<double>& xs, double a, const std::string& what) {
  auto s = sketch_of(xs, a);
  auto sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  int misses = 0;
  for (auto q : qs) {
    double x = exact_quantile(sorted, q), v = s.quantile(q);
    if (!within(v, x, a)) {
      ++misses;
      CAF_MESSAGE(what << ": q=" << q << " exact=" << x << " sketch=" << v);
    }
  }
  CAF_CHECK_EQUAL(s.count(), xs.size());
  // (CAF_CHECK_EQUAL compares doubles with a relative tolerance of 1e-5: == for exactness)
  CAF_CHECK(s.min() == sorted.front());
  CAF_CHECK(s.max() == sorted.back());
  return misses;
}

std::vector<double> draw(size_t n, uint64_t seed, double (*f)(std::mt19937_64&)) {
  std::mt19937_64 rng(seed);
  std::vector<double> xs(n);
  for (auto& x : xs) x = f(rng);
  return xs;
}

double uniform(std::mt19937_64& g) { return std::uniform_real_distribution<double>(0, 1000)(g); }
double exponential(std::mt19937_64& g) { return std::exponential_distribution<double>(0.01)(g); }
double log_normal(std::mt19937_64& g) { return std::lognormal_distribution<double>(3, 2)(g); }
double negative_log_normal(std::mt19937_64& g) { return -log_normal(g); }
double normal(std::mt19937_64& g) { return std::normal_distribution<double>(5, 100)(g); }
// Log-uniform over 1e-3 .. 1e3: every bucket index of that range is used.
double log_uniform(std::mt19937_64& g) {
  return std::pow(10.0, std::uniform_real_distribution<double>(-3, 3)(g));
}

}  // namespace

CAF_TEST(error bound on a uniform distribution) {
  CAF_CHECK_EQUAL(check_bound(draw(100000, 1, uniform), 0.01, "uniform"), 0);
}

CAF_TEST(error bound on an exponential distribution) {
  CAF_CHECK_EQUAL(check_bound(draw(100000, 2, exponential), 0.01, "exponential"), 0);
}

CAF_TEST(error bound on a log normal distribution) {
  CAF_CHECK_EQUAL(check_bound(draw(100000, 3, log_normal), 0.01, "log-normal"), 0);
  CAF_CHECK_EQUAL(check_bound(draw(100000, 4, log_normal), 0.05, "log-normal a=0.05"), 0);
  // a = 0.001 needs ~10x more buckets per factor of value range: 2048 would collapse here.
  auto xs = draw(100000, 5, log_normal);
  auto s = sketch_of(xs, 0.001, 20000);
  auto sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  int misses = 0;
  for (auto q : qs)
    if (!within(s.quantile(q), exact_quantile(sorted, q), 0.001)) ++misses;
  CAF_CHECK_EQUAL(misses, 0);
}

CAF_TEST(error bound on a constant) {
  CAF_CHECK_EQUAL(check_bound(std::vector<double>(1000, 42.5), 0.01, "constant"), 0);
  CAF_CHECK_EQUAL(check_bound(std::vector<double>(1000, -0.003), 0.01, "negative constant"), 0);
  CAF_CHECK_EQUAL(check_bound(std::vector<double>(10, 0.0), 0.01, "zeros"), 0);
  CAF_CHECK_EQUAL(check_bound({7.0}, 0.01, "single value"), 0);
}

CAF_TEST(error bound on negative values) {
  CAF_CHECK_EQUAL(check_bound(draw(100000, 6, negative_log_normal), 0.01, "negative"), 0);
}

CAF_TEST(error bound on mixed sign values with zeros) {
  auto xs = draw(100000, 7, normal);
  for (size_t i = 0; i < xs.size(); i += 97) xs[i] = 0;
  CAF_CHECK_EQUAL(check_bound(xs, 0.01, "mixed"), 0);
  // All quantiles, not only `qs`: the ranks around zero and around the sign change.
  auto s = sketch_of(xs);
  auto sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  int misses = 0;
  for (int i = 0; i <= 1000; ++i) {
    double q = i / 1000.0;
    if (!within(s.quantile(q), exact_quantile(sorted, q), 0.01)) ++misses;
  }
  CAF_CHECK_EQUAL(misses, 0);
}

CAF_TEST(error bound on 1 to 100000) {
  std::vector<double> xs;
  for (int i = 1; i <= 100000; ++i) xs.push_back(i);
  std::shuffle(xs.begin(), xs.end(), std::mt19937_64(8));
  CAF_CHECK_EQUAL(check_bound(xs, 0.01, "1..100000"), 0);
  auto s = sketch_of(xs);
  CAF_CHECK_EQUAL(s.sum(), 5000050000.0);
  CAF_CHECK(within(s.quantile(0.5), 50000, 0.01));  // rank floor(0.5 * 99999) = 49999 -> 50000
}

CAF_TEST(quantiles are monotone in q) {
  auto s = sketch_of(draw(10000, 9, normal));
  double prev = -std::numeric_limits<double>::infinity();
  bool monotone = true;
  for (int i = 0; i <= 1000; ++i) {
    double v = s.quantile(i / 1000.0);
    monotone = monotone && v >= prev;
    prev = v;
  }
  CAF_CHECK(monotone);
}

CAF_TEST(merge equals a sketch of the union) {
  auto a = draw(50000, 10, log_normal);
  auto b = draw(30000, 11, normal);  // other range and signs: the stores must grow both ways
  auto sa = sketch_of(a), sb = sketch_of(b);
  auto all = a;
  all.insert(all.end(), b.begin(), b.end());
  auto su = sketch_of(all);
  sa.merge(sb);
  CAF_CHECK_EQUAL(sa.count(), su.count());
  CAF_CHECK(sa.min() == su.min());
  CAF_CHECK(sa.max() == su.max());
  CAF_CHECK(std::fabs(sa.sum() - su.sum()) <= 1e-9 * std::fabs(su.sum()));
  int differ = 0;
  for (int i = 0; i <= 1000; ++i)
    if (sa.quantile(i / 1000.0) != su.quantile(i / 1000.0)) ++differ;
  CAF_CHECK_EQUAL(differ, 0);
  CAF_CHECK_EQUAL(check_bound(all, 0.01, "union"), 0);
}

CAF_TEST(merge into and from empty sketches) {
  auto xs = draw(1000, 12, exponential);
  auto s = sketch_of(xs);
  quantile_sketch empty, target;
  s.merge(empty);
  CAF_CHECK_EQUAL(s.count(), 1000u);
  target.merge(s);
  CAF_CHECK_EQUAL(target.count(), 1000u);
  CAF_CHECK(target.min() == s.min());
  CAF_CHECK(target.max() == s.max());
  CAF_CHECK_EQUAL(target.quantile(0.95), s.quantile(0.95));
}

CAF_TEST(merge refuses another accuracy) {
  quantile_sketch a(0.01), b(0.02);
  b.add(1);
  bool thrown = false;
  try {
    a.merge(b);
  } catch (const std::invalid_argument&) {
    thrown = true;
  }
  CAF_CHECK(thrown);
}

CAF_TEST(empty sketch gives NaN) {
  quantile_sketch s;
  CAF_CHECK(s.empty());
  CAF_CHECK_EQUAL(s.count(), 0u);
  CAF_CHECK(std::isnan(s.quantile(0.5)));
  CAF_CHECK(std::isnan(s.quantile(0)));
  CAF_CHECK(std::isnan(s.quantile(1)));
  CAF_CHECK(s.min() == std::numeric_limits<double>::infinity());
  CAF_CHECK(s.max() == -std::numeric_limits<double>::infinity());
  s.add(3);
  CAF_CHECK(std::isnan(s.quantile(std::nan(""))));
}

CAF_TEST(min and max are exact) {
  quantile_sketch s;
  for (double x : {3.14159, 1e-7, 123456.789, -2.5, 0.0}) s.add(x);
  CAF_CHECK(s.min() == -2.5);
  CAF_CHECK(s.max() == 123456.789);
  CAF_CHECK(s.quantile(0) == -2.5);
  CAF_CHECK(s.quantile(1) == 123456.789);
  CAF_CHECK_EQUAL(s.quantile(-1), -2.5);  // q outside [0, 1] is clamped
  CAF_CHECK_EQUAL(s.quantile(2), 123456.789);
  CAF_CHECK(within(s.quantile(0.5), 1e-7, 0.01));  // rank 2 of 5
  CAF_CHECK(s.quantile(0.25) == 0.0);              // rank 1 of 5 is the zero
}

CAF_TEST(weighted add equals repeated add) {
  quantile_sketch a, b;
  a.add(10, 5);
  a.add(20, 3);
  for (int i = 0; i < 5; ++i) b.add(10);
  for (int i = 0; i < 3; ++i) b.add(20);
  CAF_CHECK_EQUAL(a.count(), 8u);
  CAF_CHECK_EQUAL(a.sum(), 110.0);
  for (double q : qs) CAF_CHECK_EQUAL(a.quantile(q), b.quantile(q));
  a.add(1, 0);  // n = 0: nothing
  CAF_CHECK_EQUAL(a.count(), 8u);
}

CAF_TEST(non finite values are ignored) {
  quantile_sketch s;
  s.add(1);
  s.add(std::numeric_limits<double>::quiet_NaN());
  s.add(std::numeric_limits<double>::infinity());
  s.add(-std::numeric_limits<double>::infinity());
  CAF_CHECK_EQUAL(s.count(), 1u);
  CAF_CHECK_EQUAL(s.max(), 1.0);
}

CAF_TEST(extreme magnitudes) {
  std::vector<double> xs = {std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                            std::numeric_limits<double>::denorm_min(), 1.0,
                            -std::numeric_limits<double>::max()};
  // Indices span ~ +-37000 buckets: far beyond 2048, so this collapses; the top stays exact.
  auto s = sketch_of(xs);
  CAF_CHECK_EQUAL(s.count(), 5u);
  CAF_CHECK(s.quantile(1) == std::numeric_limits<double>::max());
  CAF_CHECK(s.quantile(0) == -std::numeric_limits<double>::max());
  auto big = sketch_of(xs, 0.01, 100000);  // enough buckets: no collapse, every rank in bound
  auto sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  for (int r = 0; r < 5; ++r) {
    double q = r / 4.0;
    CAF_CHECK(within(big.quantile(q), exact_quantile(sorted, q), 0.01));
  }
}

CAF_TEST(collapse keeps the count and the high quantiles bound) {
  const double a = 0.01;
  const size_t max_b = 128;                 // covers a ratio of gamma^127 ~ 12.7 below the maximum
  auto xs = draw(100000, 13, log_uniform);  // a ratio of 1e6: ~690 buckets needed
  auto s = sketch_of(xs, a, max_b);
  auto sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  CAF_CHECK_EQUAL(s.count(), xs.size());
  CAF_CHECK(s.min() == sorted.front());
  CAF_CHECK(s.max() == sorted.back());
  double gamma = (1 + a) / (1 - a);
  double exact_above = sorted.back() / std::pow(gamma, static_cast<double>(max_b) - 2);
  int checked = 0, misses = 0, underestimates = 0;
  for (int i = 0; i <= 1000; ++i) {
    double q = i / 1000.0, x = exact_quantile(sorted, q), v = s.quantile(q);
    if (x >= exact_above) {
      ++checked;
      if (!within(v, x, a)) ++misses;
    } else if (v < x * (1 - a) - 1e-12) {
      ++underestimates;  // collapsed values are only ever overestimated
    }
  }
  CAF_MESSAGE("collapse: " << checked << " of 1001 quantiles above " << exact_above
                           << " checked against the bound");
  CAF_CHECK_GREATER(checked, 150);  // ln(12.7) / ln(1e6): ~18% of the ranks
  CAF_CHECK_EQUAL(misses, 0);
  CAF_CHECK_EQUAL(underestimates, 0);
  // Merging collapsed sketches collapses the same way.
  auto half1 = std::vector<double>(xs.begin(), xs.begin() + 50000);
  auto half2 = std::vector<double>(xs.begin() + 50000, xs.end());
  auto m = sketch_of(half1, a, max_b);
  m.merge(sketch_of(half2, a, max_b));
  int differ = 0;
  for (int i = 0; i <= 1000; ++i)
    if (m.quantile(i / 1000.0) != s.quantile(i / 1000.0)) ++differ;
  CAF_CHECK_EQUAL(m.count(), s.count());
  CAF_CHECK_EQUAL(differ, 0);
}

CAF_TEST(collapse of negative values keeps the values near zero) {
  const double a = 0.01;
  const size_t max_b = 128;
  auto xs = draw(20000, 14, log_uniform);
  for (auto& x : xs) x = -x;
  auto s = sketch_of(xs, a, max_b);
  auto sorted = xs;
  std::sort(sorted.begin(), sorted.end());
  double gamma = (1 + a) / (1 - a);
  // The highest values are the smallest magnitudes: they keep the bound.
  double exact_above = sorted.back() * std::pow(gamma, static_cast<double>(max_b) - 2);
  int checked = 0, misses = 0;
  for (int i = 0; i <= 1000; ++i) {
    double q = i / 1000.0, x = exact_quantile(sorted, q);
    if (x >= exact_above) {
      ++checked;
      if (!within(s.quantile(q), x, a)) ++misses;
    }
  }
  CAF_CHECK_GREATER(checked, 150);
  CAF_CHECK_EQUAL(misses, 0);
  CAF_CHECK_EQUAL(s.count(), xs.size());
}

CAF_TEST(clear forgets everything and the sketch is reusable) {
  auto s = sketch_of(draw(1000, 15, log_normal));
  s.clear();
  CAF_CHECK(s.empty());
  CAF_CHECK_EQUAL(s.sum(), 0.0);
  CAF_CHECK(std::isnan(s.quantile(0.5)));
  auto xs = draw(1000, 16, exponential);
  for (auto x : xs) s.add(x);
  auto fresh = sketch_of(xs);
  int differ = 0;
  for (int i = 0; i <= 100; ++i)
    if (s.quantile(i / 100.0) != fresh.quantile(i / 100.0)) ++differ;
  CAF_CHECK_EQUAL(differ, 0);
  CAF_CHECK_EQUAL(check_bound(xs, 0.01, "after clear"), 0);
}

CAF_TEST(invalid parameters throw) {
  auto throws = [](double a, size_t b) {
    try {
      quantile_sketch s(a, b);
    } catch (const std::invalid_argument&) {
      return true;
    }
    return false;
  };
  CAF_CHECK(throws(0, 2048));
  CAF_CHECK(throws(1, 2048));
  CAF_CHECK(throws(-0.1, 2048));
  CAF_CHECK(throws(std::nan(""), 2048));
  CAF_CHECK(throws(0.01, 0));
  CAF_CHECK(!throws(0.01, 1));
}

CAF_TEST(cost per add) {
  auto xs = draw(1 << 20, 17, log_normal);
  quantile_sketch s;
  auto t0 = std::chrono::steady_clock::now();
  for (auto x : xs) s.add(x);
  auto t1 = std::chrono::steady_clock::now();
  double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / xs.size();
  CAF_MESSAGE("quantile_sketch::add: " << ns << " ns per add (" << xs.size() << " adds)");
  CAF_CHECK_EQUAL(s.count(), xs.size());
}
