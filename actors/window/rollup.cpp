#include "actors/window/rollup.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rtmon {

namespace {

constexpr int64_t no_time = INT64_MIN;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

const char* signal_name(int s) {
  static const char* names[] = {"event", "log", "metric"};
  return names[s];
}

// Heap order for the expiries: the smallest end on top.
constexpr auto ends_later = [](const auto& x, const auto& y) { return x.end_ms > y.end_ms; };

// Log levels in the alphabetical order of their names (the key order of `detail`).
const std::array<size_t, log_level_count>& levels_by_name() {
  static const auto order = [] {
    std::array<size_t, log_level_count> o{};
    for (size_t i = 0; i < log_level_count; ++i) o[i] = i;
    std::sort(o.begin(), o.end(), [](size_t a, size_t b) {
      return to_string(static_cast<log_level>(a)) < to_string(static_cast<log_level>(b));
    });
    return o;
  }();
  return order;
}

}  // namespace

rollup::rollup(std::string service, rollup_options opts)
    : service_(std::move(service)), opts_(std::move(opts)) {
  if (opts_.widths_s.empty()) throw std::invalid_argument("rollup: no bucket widths");
  for (size_t i = 0; i < opts_.widths_s.size(); ++i) {
    if (opts_.widths_s[i] <= 0)
      throw std::invalid_argument("rollup: bucket width " + std::to_string(opts_.widths_s[i]) +
                                  " s (must be > 0)");
    for (size_t j = 0; j < i; ++j)
      if (opts_.widths_s[j] == opts_.widths_s[i])
        throw std::invalid_argument("rollup: bucket width " + std::to_string(opts_.widths_s[i]) +
                                    " s is configured twice");
  }
  if (opts_.allowed_lateness_ms < 0)
    throw std::invalid_argument("rollup: allowed lateness must be >= 0");
  if (opts_.max_open_buckets == 0)
    throw std::invalid_argument("rollup: max_open_buckets must be > 0");
  quantile_sketch check(opts_.sketch_accuracy);  // throws for an invalid accuracy
}

int64_t rollup::watermark_ms() const {
  return max_ts_ == no_time ? no_time : max_ts_ - opts_.allowed_lateness_ms;
}

void rollup::advance_to(int64_t ts_ms) { max_ts_ = std::max(max_ts_, ts_ms); }

template <class F>
bool rollup::add(signal sig, std::string_view name, std::string_view series, int64_t ts_ms, F f) {
  max_ts_ = std::max(max_ts_, ts_ms);
  const series_less::view key{sig, name, series};
  auto s = series_.find(key);
  bool refused = false;
  for (auto width : opts_.widths_s) {
    const int64_t w = int64_t{width} * 1000;
    const int64_t start = floor_div(ts_ms, w) * w;
    if (start + w <= taken_watermark_) {  // final at the last take: returned and evicted
      refused = true;
      continue;
    }
    buckets::iterator b;
    bool open = s != series_.end() && (b = s->second.find({width, start})) != s->second.end();
    if (!open) {
      if (open_ >= opts_.max_open_buckets) {
        ++overflow_;
        continue;
      }
      if (s == series_.end())
        s = series_.emplace(series_key{sig, std::string(name), std::string(series)}, buckets{})
                .first;
      b = s->second.emplace(bucket_key{width, start}, bucket{}).first;
      if (sig == signal::metric) b->second.sketch.emplace(opts_.sketch_accuracy);
      ++open_;
      expiries_.push_back({start + w, {s, b}});
      std::push_heap(expiries_.begin(), expiries_.end(), ends_later);
    }
    f(b->second);
    if (!b->second.dirty) {
      b->second.dirty = true;
      dirty_.push_back({s, b});
    }
  }
  return !refused;
}

void rollup::add_metric(int64_t ts_ms, const std::string& name, const std::string& series_json,
                        double value) {
  if (!std::isfinite(value)) return;
  bool ok = add(signal::metric, name, series_json, ts_ms, [value](bucket& b) {
    ++b.count;
    b.sketch->add(value);
  });
  if (!ok) ++late_;
}

void rollup::add_log(int64_t ts_ms, log_level level) {
  auto i = static_cast<size_t>(level);
  if (i >= log_level_count) i = static_cast<size_t>(log_level::info);
  bool ok = add(signal::log, "", "{}", ts_ms, [i](bucket& b) {
    ++b.count;
    ++b.levels[i];
  });
  if (!ok) ++late_;
}

void rollup::add_event(int64_t ts_ms, const std::string& type) {
  auto count = [](bucket& b) { ++b.count; };
  // Refusal depends only on ts and the width, so both names agree on it.
  bool ok = add(signal::event, "", "{}", ts_ms, count);
  if (!type.empty()) add(signal::event, type, "{}", ts_ms, count);
  if (!ok) ++late_;
}

aggregate_row rollup::row_of(const bucket_ref& ref) const {
  const auto& k = ref.series->first;
  const auto& b = ref.it->second;
  aggregate_row r;
  r.service = service_;
  r.signal = signal_name(static_cast<int>(k.sig));
  r.name = k.name;
  r.series = k.series;
  r.width_s = ref.it->first.first;
  r.bucket_ms = ref.it->first.second;
  r.count = b.count;
  if (k.sig == signal::metric && b.sketch && !b.sketch->empty()) {
    r.sum = b.sketch->sum();
    r.min = b.sketch->min();
    r.max = b.sketch->max();
    r.p50 = b.sketch->quantile(0.5);
    r.p95 = b.sketch->quantile(0.95);
    r.p99 = b.sketch->quantile(0.99);
  } else if (k.sig == signal::log) {
    r.errors = b.levels[static_cast<size_t>(log_level::error)] +
               b.levels[static_cast<size_t>(log_level::fatal)];
    std::string d = "{";
    for (auto i : levels_by_name()) {
      if (b.levels[i] == 0) continue;
      if (d.size() > 1) d += ',';
      d += '"' + to_string(static_cast<log_level>(i)) + "\":" + std::to_string(b.levels[i]);
    }
    r.detail = d + '}';
  }
  return r;
}

std::vector<aggregate_row> rollup::take_dirty() {
  std::sort(dirty_.begin(), dirty_.end(), [](const bucket_ref& a, const bucket_ref& b) {
    if (a.series != b.series) return series_less{}(a.series->first, b.series->first);
    return a.it->first < b.it->first;
  });
  std::vector<aggregate_row> rows;
  rows.reserve(dirty_.size());
  for (auto& ref : dirty_) {
    rows.push_back(row_of(ref));
    ref.it->second.dirty = false;
  }
  dirty_.clear();
  // Every final bucket has now been returned with the value it keeps: evict it.
  const int64_t wm = watermark_ms();
  while (!expiries_.empty() && expiries_.front().end_ms <= wm) {
    std::pop_heap(expiries_.begin(), expiries_.end(), ends_later);
    auto ref = expiries_.back().ref;
    expiries_.pop_back();
    ref.series->second.erase(ref.it);
    if (ref.series->second.empty()) series_.erase(ref.series);
    --open_;
  }
  taken_watermark_ = wm;
  return rows;
}

}  // namespace rtmon
