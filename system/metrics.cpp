#include "system/metrics.hpp"

#include <cmath>
#include <sstream>

namespace rtmon {

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size()]) {
  for (size_t i = 0; i < bounds_.size(); ++i) buckets_[i] = 0;
}

void histogram::observe(double v) {
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (v <= bounds_[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(std::max(v, 0.0) * 1e6)),
                        std::memory_order_relaxed);
}

std::string histogram::render(const std::string& name, const std::string& labels) const {
  std::ostringstream out;
  auto sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds_.size(); ++i)
    out << name << "_bucket{" << labels << sep << "le=\"" << bounds_[i] << "\"} "
        << buckets_[i].load() << '\n';
  out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << count_.load() << '\n';
  auto braces = labels.empty() ? std::string{} : "{" + labels + "}";
  out << name << "_sum" << braces << ' ' << static_cast<double>(sum_micros_.load()) / 1e6 << '\n';
  out << name << "_count" << braces << ' ' << count_.load() << '\n';
  return out.str();
}

std::vector<double> metrics_registry::latency_bounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

counter& metrics_registry::get_counter(const std::string& name, const std::string& help,
                                       const std::string& labels) {
  std::lock_guard<std::mutex> guard{mx_};
  auto& f = families_[name];
  f.help = help;
  f.type = "counter";
  auto& c = f.counters[labels];
  if (!c) c = std::make_unique<counter>();
  return *c;
}

histogram& metrics_registry::get_histogram(const std::string& name, const std::string& help,
                                           const std::string& labels) {
  std::lock_guard<std::mutex> guard{mx_};
  auto& f = families_[name];
  f.help = help;
  f.type = "histogram";
  auto& h = f.histograms[labels];
  if (!h) h = std::make_unique<histogram>(latency_bounds());
  return *h;
}

void metrics_registry::add_gauge(const std::string& name, const std::string& help,
                                 std::function<double()> fn, const std::string& labels) {
  std::lock_guard<std::mutex> guard{mx_};
  auto& f = families_[name];
  f.help = help;
  f.type = "gauge";
  f.gauges[labels] = std::move(fn);
}

std::string metrics_registry::render() const {
  std::lock_guard<std::mutex> guard{mx_};
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    out << "# HELP " << name << ' ' << f.help << '\n' << "# TYPE " << name << ' ' << f.type << '\n';
    for (const auto& [labels, c] : f.counters)
      out << name << (labels.empty() ? "" : "{" + labels + "}") << ' ' << c->value() << '\n';
    for (const auto& [labels, h] : f.histograms) out << h->render(name, labels);
    for (const auto& [labels, g] : f.gauges)
      out << name << (labels.empty() ? "" : "{" + labels + "}") << ' ' << g() << '\n';
  }
  return out.str();
}

}  // namespace rtmon
