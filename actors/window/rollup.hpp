// Rollups: fixed-width event-time buckets of one service's signals, turned into aggregate_rows
// (messages/aggregates.hpp) that the store upserts into the `aggregates` table. CAF-free: the
// owning actor feeds it and periodically calls take_dirty().
//
// Why whole values: a row is keyed by (service, signal, name, series, width, bucket start) and
// every upsert replaces it, so a replay or a repeated flush is harmless. The price is that a
// bucket must stay in memory until it can no longer change; after that, a new value for it
// would overwrite the stored row with a partial one, so it is refused (counted as late).
//
// Exact semantics (time is event time in Unix ms, never the wall clock):
// - Buckets: for each configured width w (seconds; W = 1000 * w ms) an item at ts goes to the
//   bucket starting at floor(ts / W) * W (floor division: negative times work), covering
//   [start, start + W). An item exactly on an edge belongs to the later bucket.
// - Keys: logs are signal "log", name "", series "{}"; metrics "metric" with the metric name
//   and series_json as given (the caller passes a canonical JSON text: the table keys on jsonb,
//   so two spellings of one series here would be two buckets overwriting each other's row);
//   events "event", counted twice: under name = type and under name = "" (all types). An event
//   with type "" is counted once (under "").
// - Watermark = the highest event time seen (by an add or advance_to) - allowed_lateness_ms;
//   none (INT64_MIN) until anything was seen. A bucket is final when its end <= watermark.
// - take_dirty() returns one row per bucket changed since the previous take (each with its
//   full current value, never an increment), sorted by (signal, name, series, width_s,
//   bucket_ms) with signals in text order ("event" < "log" < "metric"), and clears the changed
//   marks. Then every final bucket is evicted (it was returned now or at an earlier take with
//   the value it still has). So the rows of a bucket are written as long as it changes, and
//   the last one written is its final value.
// - Late: let T = the watermark at the last take_dirty() (none before the first). A bucket
//   with end <= T was final at that take, so it was returned and evicted if it existed; an add
//   for such a bucket is refused: late_count() + 1 per add refused by at least one of its
//   buckets (with widths 10 and 60, an add can be too late for its 10 s bucket and still go to
//   its 60 s bucket). Buckets that became final after T are still open (or not yet created)
//   and take late adds: their rows are rewritten whole at the next take, then they are
//   evicted. (A bucket that never had data before T is refused too: it cannot be told from an
//   evicted one without remembering every evicted key.) Since end <= T implies ts < T <=
//   watermark, only items older than the watermark are ever refused.
// - Memory: at most max_open_buckets buckets are open. When that many are, an add that needs a
//   new bucket (a new series, or a new time bucket of a known one) does not get it:
//   overflow_count() + 1 per bucket refused, and the item still goes to its other buckets that
//   are open. take_dirty() frees the final buckets. Each metric bucket holds a quantile sketch
//   (see sketch.hpp for its size).
// - Metrics: count, sum, min, max are exact; p50, p95, p99 come from the bucket's sketch
//   (relative error sketch_accuracy, sketch.hpp). A non-finite value is ignored entirely (not
//   late, no bucket; the ingest refuses those already). Other signals leave these fields 0.
// - Logs: count = lines, errors = error + fatal lines, detail = a JSON object of the non-zero
//   counts per level name, keys in alphabetical order, e.g. {"error":3,"info":10}. Other
//   signals have detail "{}".
// - The rollup trusts the times it is given: one item far in the future moves the watermark
//   there, finalizes (and evicts at the next take) every bucket and makes the normal items
//   after it late. The owning actor clamps event times before they get here.
// - The constructor throws std::invalid_argument for no widths, a width <= 0 or repeated, a
//   negative lateness, max_open_buckets == 0 or an invalid sketch accuracy (sketch.hpp).
// - Event times must stay within +-2^62 ms.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/window/sketch.hpp"
#include "messages/aggregates.hpp"
#include "messages/levels.hpp"

namespace rtmon {

struct rollup_options {
  std::vector<int32_t> widths_s = {10, 60};
  int64_t allowed_lateness_ms = 5000;
  double sketch_accuracy = 0.01;
  size_t max_open_buckets = 10000;
};

/// The rollups of one service (see the file comment for the exact semantics).
class rollup {
 public:
  explicit rollup(std::string service, rollup_options opts = {});

  void add_metric(int64_t ts_ms, const std::string& name, const std::string& series_json,
                  double value);
  void add_log(int64_t ts_ms, log_level level);
  /// Counted under name = type and under name = "" (all types).
  void add_event(int64_t ts_ms, const std::string& type);
  /// The service's event time moved to ts_ms (ignored unless later): the watermark moves.
  void advance_to(int64_t ts_ms);

  /// Rows of the buckets changed since the last call, with their full values, in key order;
  /// then evicts the final buckets.
  std::vector<aggregate_row> take_dirty();

  uint64_t late_count() const { return late_; }
  size_t open_buckets() const { return open_; }
  uint64_t overflow_count() const { return overflow_; }
  int64_t watermark_ms() const;
  const std::string& service() const { return service_; }

 private:
  enum class signal : uint8_t { event, log, metric };  // text order of the signal names

  // What identifies a series of buckets, and its buckets by (width_s, bucket start).
  struct series_key {
    signal sig;
    std::string name;
    std::string series;
  };
  struct series_less {
    using is_transparent = void;
    using view = std::tuple<signal, std::string_view, std::string_view>;
    static view of(const series_key& k) { return {k.sig, k.name, k.series}; }
    static const view& of(const view& v) { return v; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return of(a) < of(b);
    }
  };
  struct bucket {
    uint64_t count = 0;
    std::array<uint64_t, log_level_count> levels{};  // logs
    std::optional<quantile_sketch> sketch;           // metrics
    bool dirty = false;
  };
  using bucket_key = std::pair<int32_t, int64_t>;  // width_s, bucket start (ms)
  using buckets = std::map<bucket_key, bucket>;
  using series_map = std::map<series_key, buckets, series_less>;
  struct bucket_ref {
    series_map::iterator series;
    buckets::iterator it;
  };
  struct expiry {  // a bucket and its end: a min-heap of these finds the final buckets
    int64_t end_ms;
    bucket_ref ref;
  };

  // Adds to every width's bucket of (sig, name, series) holding ts; f(bucket&) does the add.
  // False when at least one bucket was refused as late.
  template <class F>
  bool add(signal sig, std::string_view name, std::string_view series, int64_t ts_ms, F f);
  aggregate_row row_of(const bucket_ref& ref) const;

  std::string service_;
  rollup_options opts_;
  series_map series_;
  std::vector<bucket_ref> dirty_;
  std::vector<expiry> expiries_;  // heap ordered by end_ms (smallest on top)
  int64_t max_ts_ = INT64_MIN;
  int64_t taken_watermark_ = INT64_MIN;
  size_t open_ = 0;
  uint64_t late_ = 0, overflow_ = 0;
};

}  // namespace rtmon
