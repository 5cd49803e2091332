// The hub's own metrics in Prometheus text format (GET /metrics). Counters and histograms are
// lock-free on the hot path; callers keep the references registration returns.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rtmon {

class counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v);
  std::string render(const std::string& name, const std::string& labels) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

class metrics_registry {
 public:
  /// `labels` is the rendered label set without braces, e.g. `route="/logs",code="202"`.
  counter& get_counter(const std::string& name, const std::string& help,
                       const std::string& labels = "");
  histogram& get_histogram(const std::string& name, const std::string& help,
                           const std::string& labels = "");
  /// A value read at scrape time.
  void add_gauge(const std::string& name, const std::string& help, std::function<double()> fn,
                 const std::string& labels = "");
  std::string render() const;

  /// Latency buckets in seconds, 0.5 ms .. 30 s.
  static std::vector<double> latency_bounds();

 private:
  struct family {
    std::string help, type;
    std::map<std::string, std::unique_ptr<counter>> counters;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
    std::map<std::string, std::function<double()>> gauges;
  };
  mutable std::mutex mx_;
  std::map<std::string, family> families_;
};

}  // namespace rtmon
