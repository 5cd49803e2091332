// Event-time sliding windows for one service and signal. Time is Unix milliseconds (event time,
// never the wall clock). Each window of span S is a ring of `buckets` buckets of
// width S / buckets (defaults: 1 m of 1 s buckets, 5 m of 5 s, 15 m of 15 s), so a
// window's statistics are exact up to one bucket at its old edge.
//
// Watermark = highest event time seen - allowed lateness. An item older than the watermark is
// late: it is counted (late_count) and not added, never silently dropped. Windows end at the
// highest event time seen ("now" for the window is event time).
//
// Exact semantics (width w = span / buckets, which must divide the span):
// - Bucket b holds event times [b*w, (b+1)*w): an event exactly on an edge belongs to the later
//   bucket. Its ring slot is b mod buckets (floor division, so negative times work too); the slot
//   remembers the bucket's start, and a slot still holding an older bucket is reset when written.
// - With max = the highest event time seen and B = the bucket containing max, a window covers
//   the `buckets` buckets ending with B, i.e. buckets whose start is > B.start - span (the same
//   as start > max - span). So it covers event times [B.start - span + w, max]: a sample at
//   t leaves a window once max reaches floor(t / w) * w + span. Old buckets expire lazily: stats
//   ignore them, and the next write to their slot resets them.
// - An add with ts < watermark (= max - lateness) is late: late_count + 1, returns false. An add
//   with ts == watermark is accepted. An accepted add moves max forward if ts > max; it goes to
//   its own (possibly older) bucket in every window that still covers that bucket. With a
//   lateness of at least span - w, an accepted event can be too old for a short window: it is
//   then added only to the longer windows that still cover it (not counted as late).
// - stats()/count() for a span that is not one of the specs throw std::invalid_argument; the
//   constructors throw it for a span <= 0, buckets <= 0, a span not divisible by buckets, a
//   repeated span, or a negative lateness.
// - Event times must stay within +-2^62 ms (the ingest guarantees far less).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actors/window/sketch.hpp"
#include "messages/levels.hpp"

namespace rtmon {

struct window_spec {
  int64_t span_ms = 60000;
  int buckets = 60;
};

/// The default windows: 1 m, 5 m and 15 m of 60 buckets each.
std::vector<window_spec> default_windows();

struct metric_stats {
  uint64_t count = 0;
  double sum = 0, min = 0, max = 0, avg = 0;
  double p50 = 0, p95 = 0, p99 = 0;
  double rate_per_s = 0;  // count / span in seconds
};

/// One metric series (service, metric name, tag set that matters).
class metric_window {
 public:
  explicit metric_window(std::vector<window_spec> specs = default_windows(),
                         int64_t allowed_lateness_ms = 5000, double sketch_accuracy = 0.01);
  /// False if the sample was late (counted in late_count()). A non-finite value is ignored
  /// (false, not counted as late; the ingest refuses those already).
  bool add(int64_t ts_ms, double value);
  /// Statistics of the window with this span (must be one of the specs), ending at the
  /// highest event time seen. All zero when the window holds no sample.
  metric_stats stats(int64_t span_ms) const;
  int64_t watermark_ms() const;
  int64_t max_ts_ms() const { return max_ts_; }
  uint64_t late_count() const { return late_; }

 private:
  struct bucket {
    int64_t start = INT64_MIN;  // bucket start (ms); INT64_MIN = empty
    quantile_sketch sketch;     // with the window's accuracy; cleared (not freed) on reuse
  };
  struct ring {
    window_spec spec;
    std::vector<bucket> buckets;
    int64_t head_start = INT64_MIN;  // start of the bucket holding max_ts (cached per ring, so
    size_t head_slot = 0;            // an in-order add needs no division), and its slot
  };
  std::vector<ring> rings_;
  int64_t lateness_;
  double accuracy_;
  int64_t max_ts_ = INT64_MIN;
  uint64_t late_ = 0;
};

/// "error" -> log_level::error; unknown text -> info (rules count what they cannot place as
/// info rather than drop it). Names and aliases: messages/levels.hpp.
log_level parse_log_level(const std::string& text);

struct log_stats {
  uint64_t total = 0;
  uint64_t errors = 0;    // error + fatal
  double error_rate = 0;  // errors / total (0 when total is 0)
  std::array<uint64_t, log_level_count> by_level{};
};

/// Log counts per level for one service.
class log_window {
 public:
  explicit log_window(std::vector<window_spec> specs = default_windows(),
                      int64_t allowed_lateness_ms = 5000);
  bool add(int64_t ts_ms, log_level level);
  log_stats stats(int64_t span_ms) const;
  int64_t watermark_ms() const;
  int64_t max_ts_ms() const { return max_ts_; }
  uint64_t late_count() const { return late_; }

 private:
  struct bucket {
    int64_t start = INT64_MIN;
    std::array<uint64_t, log_level_count> counts{};
  };
  struct ring {
    window_spec spec;
    std::vector<bucket> buckets;
    int64_t head_start = INT64_MIN;  // start of the bucket holding max_ts (cached per ring, so
    size_t head_slot = 0;            // an in-order add needs no division), and its slot
  };
  std::vector<ring> rings_;
  int64_t lateness_;
  int64_t max_ts_ = INT64_MIN;
  uint64_t late_ = 0;
};

/// Event counts per type for one service.
class event_window {
 public:
  explicit event_window(std::vector<window_spec> specs = default_windows(),
                        int64_t allowed_lateness_ms = 5000);
  bool add(int64_t ts_ms, const std::string& type);
  /// Count of events of `type` ("" = all types) in the window with this span.
  uint64_t count(int64_t span_ms, const std::string& type = "") const;
  int64_t watermark_ms() const;
  int64_t max_ts_ms() const { return max_ts_; }
  uint64_t late_count() const { return late_; }

 private:
  struct bucket {
    int64_t start = INT64_MIN;
    uint64_t total = 0;
    // On reuse the counts are zeroed, not erased (no allocation for types seen before); types
    // that stayed at zero for a whole turn of the ring are erased then.
    std::map<std::string, uint64_t, std::less<>> counts;
  };
  struct ring {
    window_spec spec;
    std::vector<bucket> buckets;
    int64_t head_start = INT64_MIN;  // start of the bucket holding max_ts (cached per ring, so
    size_t head_slot = 0;            // an in-order add needs no division), and its slot
  };
  std::vector<ring> rings_;
  int64_t lateness_;
  int64_t max_ts_ = INT64_MIN;
  uint64_t late_ = 0;
};

}  // namespace rtmon
