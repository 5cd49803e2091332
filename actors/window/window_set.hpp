// The windows of one service and signal, free of CAF: what a WINDOW actor holds. It feeds the
// sliding windows the rules read (only the series some rule watches: a metric name and its
// group_by values) and the aggregate buckets of every series, and computes each rule's input
// after an update.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/rule/rules.hpp"
#include "actors/window/rollup.hpp"
#include "actors/window/windows.hpp"
#include "messages/batches.hpp"
#include "messages/processing.hpp"

namespace rtmon {

struct window_options {
  std::vector<window_spec> specs = default_windows();
  int64_t allowed_lateness_ms = 5000;
  rollup_options rollup;
  // Metric tags that make an aggregate series of their own (with the metric name).
  std::vector<std::string> series_tags{"endpoint"};
  size_t max_series = 1000;  // rule windows per service and signal; beyond: overflow counted
  // Events further ahead of processing time than this are stored but kept out of the windows:
  // one far-future timestamp would otherwise move event time and empty every window.
  int64_t max_future_ms = 120000;
};

class window_set {
 public:
  window_set(signal_kind kind, std::string service, window_options opts = {});

  /// Adds this signal's rows of the batch and returns the input of every rule that reads this
  /// signal for the service. `proc_ms`: processing time (for the future-timestamp guard).
  window_report apply(const service_batch& b, const rule_set& rules, int64_t proc_ms);
  /// Aggregate rows of the buckets changed since the last call (full values).
  std::vector<aggregate_row> take_aggregates() { return rollup_.take_dirty(); }

  uint64_t late_count() const;
  uint64_t future_count() const { return future_; }
  uint64_t overflow_count() const { return overflow_ + rollup_.overflow_count(); }
  size_t series_count() const { return metrics_.size(); }
  int64_t max_ts_ms() const { return max_ts_; }

 private:
  void apply_metrics(const service_batch& b, const rule_set& rules, int64_t proc_ms);
  void apply_logs(const service_batch& b, int64_t proc_ms);
  void apply_events(const service_batch& b, const rule_set& rules, int64_t proc_ms,
                    std::map<std::string, uint32_t>& matches);
  metric_window* series(const std::string& name, const std::string& group_json);

  signal_kind kind_;
  std::string service_;
  window_options opts_;
  rollup rollup_;
  struct metric_series {
    std::unique_ptr<metric_window> window;
    std::vector<std::string> group_keys;  // the tag names of its group, so no JSON is re-read
  };
  std::map<std::string, metric_series> metrics_;  // "name\ngroup json"
  std::unique_ptr<log_window> logs_;
  std::unique_ptr<event_window> events_;
  int64_t max_ts_ = INT64_MIN;
  uint64_t future_ = 0, overflow_ = 0, late_metrics_ = 0;
};

/// {"a":"1","b":"x"}: the values of `keys` in the tags JSON object (strings as they are, other
/// values as JSON text), keys sorted; "{}" when none is present.
std::string select_tags(const std::string& tags_json, const std::vector<std::string>& keys);
/// The same selection from tags already flattened (flat_attrs): rows are parsed once.
std::string pick_tags(const std::map<std::string, std::string>& tags,
                      const std::vector<std::string>& keys);
/// The attrs JSON object as key -> text (strings as they are, other values as JSON text).
std::map<std::string, std::string> flat_attrs(const std::string& attrs_json);

}  // namespace rtmon
