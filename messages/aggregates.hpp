// Aggregates: fixed-width event-time buckets per service and signal, upserted into the
// `aggregates` table so Grafana and the UI chart them. A bucket is always written whole (its
// full value, never an increment), so a replay or a repeated write changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace rtmon {

struct aggregate_row {
  std::string service;
  std::string signal;                // "log", "metric" or "event"
  std::string name;                  // metric name; event type ("" = all types); "" for logs
  std::string series = "{}";         // JSON object: the tag values that define the series
  int64_t bucket_ms = 0;             // bucket start, Unix ms (a multiple of the width)
  int32_t width_s = 0;               // bucket width in seconds
  uint64_t count = 0;                // samples / log lines / events
  double sum = 0, min = 0, max = 0;  // metrics (0 otherwise)
  double p50 = 0, p95 = 0, p99 = 0;  // metrics: from the bucket's quantile sketch
  uint64_t errors = 0;               // logs: error + fatal
  std::string detail = "{}";         // JSON object: logs {"debug": n, ...}; else {}
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, aggregate_row& x) {
  return f(caf::meta::type_name("aggregate_row"), x.service, x.signal, x.name, x.series,
           x.bucket_ms, x.width_s, x.count, x.sum, x.min, x.max, x.p50, x.p95, x.p99, x.errors,
           x.detail);
}

}  // namespace rtmon
