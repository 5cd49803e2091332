#include "actors/window/window_actor.hpp"

#include <caf/all.hpp>

#include "actors/common/processing_time.hpp"

namespace rtmon {

namespace {

using self_ptr = window_actor::stateful_pointer<window_actor_state>;

// Late, future and overflowing data is counted, never dropped silently (/metrics).
void count(window_actor_state& st) {
  if (!st.metrics) return;
  auto& w = *st.windows;
  auto bump = [&](const char* name, const char* help, uint64_t now, uint64_t& reported) {
    if (now > reported) st.metrics->get_counter(name, help).inc(now - reported);
    reported = now;
  };
  bump("rtmon_window_late_total", "Items older than the watermark: counted, not windowed",
       w.late_count(), st.reported_late);
  bump("rtmon_window_future_total",
       "Items too far ahead of processing time: stored, kept out of the windows", w.future_count(),
       st.reported_future);
  bump("rtmon_window_series_overflow_total",
       "Items of series beyond the per-service cardinality cap (not windowed)", w.overflow_count(),
       st.reported_overflow);
}

}  // namespace

window_actor::behavior_type window(self_ptr self, signal_kind kind, std::string service,
                                   window_options opts, rule_set_ptr rules,
                                   metrics_registry* metrics) {
  auto& st = self->state;
  st.windows = std::make_unique<window_set>(kind, std::move(service), std::move(opts));
  st.rules = std::move(rules);
  st.metrics = metrics;
  return {
      [=](atom::observe, const service_batch_ptr& b) -> caf::result<window_report> {
        auto& st = self->state;
        if (b->rules) st.rules = b->rules;  // reloaded rules come with the data
        auto report = st.windows->apply(*b, *st.rules, processing_ms(self));
        auto rows = st.windows->take_aggregates();
        count(st);
        // Warm-up rebuilds state only: these buckets were written before (their offsets were
        // committed after the write). A bucket still open at the end of the warm-up is
        // written whole by the next live update.
        if (!b->warmup) report.aggregates = std::move(rows);
        return report;
      },
  };
}

}  // namespace rtmon
