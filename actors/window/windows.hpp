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
// - advance_to(t) moves max to t if t is later (never back) and adds nothing: the watermark and
//   every window move exactly as if an event at t had been accepted and then not counted. The
//   owning actor advances every series of a service to the service's highest event time, so a
//   series that stops receiving samples empties out instead of keeping its last window forever.
//   On a window that has seen nothing yet it sets max too (the series starts at the service's
//   watermark: its first sample is late if older than that).
// - The windows trust the times they are given: one event (or advance_to) far in the future
//   moves max there, empties every window and makes the normal events after it late. The
//   caller (the owning actor) clamps event times before they get here, so no window does it.
// - Event times must stay within +-2^62 ms (the ingest guarantees far less).
#pragma once

#include <array>
#include <cstdint>
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

namespace window_detail {

constexpr int64_t no_time = INT64_MIN;  // "no event yet" (max_ts) and "empty" (bucket start)

/// The highest event time, the watermark and the late count: what the three window kinds share
/// besides their rings (one clock per window object, for all its rings).
class event_clock {
 public:
  explicit event_clock(int64_t allowed_lateness_ms) : lateness_(allowed_lateness_ms) {}
  /// False (and late + 1) when ts < watermark; else max_ts = max(max_ts, ts).
  bool admit(int64_t ts_ms);
  void advance_to(int64_t ts_ms) {
    if (ts_ms > max_ts_) max_ts_ = ts_ms;
  }
  int64_t watermark() const { return max_ts_ == no_time ? no_time : max_ts_ - lateness_; }
  int64_t max_ts() const { return max_ts_; }
  uint64_t late() const { return late_; }

 private:
  int64_t lateness_;
  int64_t max_ts_ = no_time;
  uint64_t late_ = 0;
};

/// The ring of one window: spec.buckets slots of width w = span / buckets; bucket b (event times
/// [b*w, (b+1)*w)) lives in slot b mod buckets, and each slot remembers the start of the bucket
/// it holds. The window ending at max_ts is the `buckets` buckets ending with the one holding
/// max_ts (see the file comment). `Bucket` is only the payload (a sketch, level counts, ...).
///
/// The ring caches its head (start and slot of the bucket holding max_ts as of the last write),
/// so an in-order write needs no division: the head stays, or steps one bucket forward; only a
/// jump of two buckets or more, or a write into an older bucket, divides.
template <class Bucket>
class bucket_ring {
 public:
  bucket_ring(const window_spec& spec, const Bucket& proto);
  const window_spec& spec() const { return spec_; }
  int64_t width() const { return width_; }
  /// The bucket holding ts (ts <= max_ts, max_ts already updated); if its slot still held an
  /// older bucket, reset(Bucket&) is called first. nullptr when that bucket already left the
  /// window ending at max_ts (an accepted event too old for this window).
  template <class Reset>
  Bucket* slot_for(int64_t ts, int64_t max_ts, Reset&& reset);
  /// f(const Bucket&) for each bucket in the window ending at max_ts.
  template <class F>
  void for_window(int64_t max_ts, F&& f) const;
  /// Some bucket (for settings every bucket shares, such as the sketch accuracy).
  const Bucket& any() const { return slots_.front().bucket; }

 private:
  struct slot {
    int64_t start = no_time;  // start of the bucket held; no_time = never written
    Bucket bucket;
  };
  void move_head(int64_t max_ts);
  int64_t floor_of(int64_t max_ts) const;  // the window ending at max_ts: starts > this

  window_spec spec_;
  int64_t width_;
  std::vector<slot> slots_;
  int64_t head_start_ = no_time;
  size_t head_slot_ = 0;
};

}  // namespace window_detail

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
  /// Moves the window end to ts_ms if that is later; adds nothing (see the file comment).
  void advance_to(int64_t ts_ms) { clock_.advance_to(ts_ms); }
  /// Statistics of the window with this span (must be one of the specs), ending at the
  /// highest event time seen. All zero when the window holds no sample.
  metric_stats stats(int64_t span_ms) const;
  int64_t watermark_ms() const { return clock_.watermark(); }
  int64_t max_ts_ms() const { return clock_.max_ts(); }
  uint64_t late_count() const { return clock_.late(); }

 private:
  // Each bucket's sketch has the window's accuracy; it is cleared (not freed) on reuse.
  using ring = window_detail::bucket_ring<quantile_sketch>;
  std::vector<ring> rings_;
  window_detail::event_clock clock_;
  double accuracy_;
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
  /// Moves the window end to ts_ms if that is later; adds nothing (see the file comment).
  void advance_to(int64_t ts_ms) { clock_.advance_to(ts_ms); }
  log_stats stats(int64_t span_ms) const;
  int64_t watermark_ms() const { return clock_.watermark(); }
  int64_t max_ts_ms() const { return clock_.max_ts(); }
  uint64_t late_count() const { return clock_.late(); }

 private:
  using counts = std::array<uint64_t, log_level_count>;
  using ring = window_detail::bucket_ring<counts>;
  std::vector<ring> rings_;
  window_detail::event_clock clock_;
};

/// Event counts per type for one service.
class event_window {
 public:
  explicit event_window(std::vector<window_spec> specs = default_windows(),
                        int64_t allowed_lateness_ms = 5000);
  bool add(int64_t ts_ms, const std::string& type);
  /// Moves the window end to ts_ms if that is later; adds nothing (see the file comment).
  void advance_to(int64_t ts_ms) { clock_.advance_to(ts_ms); }
  /// Count of events of `type` ("" = all types) in the window with this span.
  uint64_t count(int64_t span_ms, const std::string& type = "") const;
  int64_t watermark_ms() const { return clock_.watermark(); }
  int64_t max_ts_ms() const { return clock_.max_ts(); }
  uint64_t late_count() const { return clock_.late(); }

 private:
  struct counts {
    uint64_t total = 0;
    // On reuse the counts are zeroed, not erased (no allocation for types seen before); types
    // that stayed at zero for a whole turn of the ring are erased then.
    std::map<std::string, uint64_t, std::less<>> by_type;
  };
  using ring = window_detail::bucket_ring<counts>;
  std::vector<ring> rings_;
  window_detail::event_clock clock_;
};

}  // namespace rtmon
