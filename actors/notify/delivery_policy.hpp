// When to try a notification again, and how fast a destination may be sent to. Pure, so the
// dispatcher and notifier actors stay thin and these rules are tested directly.
#pragma once

#include <cstdint>

#include "messages/notifications.hpp"

namespace rtmon {

/// Wall-clock Unix ms: notification times are compared with Postgres's now() and receivers'
/// Retry-After, so they are real time, not the actor clock.
int64_t wall_ms();

/// Retries: exponential back-off with jitter, never sooner than the receiver's Retry-After;
/// giving up after max_attempts or once the notification is older than max_age_ms.
struct retry_policy {
  int64_t base_ms = 1000;           // first retry after ~1 s
  int64_t max_backoff_ms = 300000;  // back-off grows to 5 min at most
  uint32_t max_attempts = 15;       // ~ an hour of retries
  int64_t max_age_ms = 24 * 3600 * 1000ll;

  /// When the row is due again after attempt `a` (Unix ms), or 0 when it is finished (delivered,
  /// failed, muted, or given up). `jitter` in [0, 1) spreads retries of many rows (±20 %).
  int64_t next_attempt_ms(const delivery_attempt& a, int64_t now_ms, int64_t created_ms,
                          double jitter) const;
};

/// A destination's pace: a token bucket (rate per second, burst), plus a hold until a time the
/// receiver asked for (Retry-After on 429/503).
class destination_pace {
 public:
  destination_pace(double rate_per_s, int burst);
  /// The earliest time (Unix ms, >= now) a message may go.
  int64_t ready_at(int64_t now_ms);
  /// A message goes now (call only when ready_at(now) == now).
  void take(int64_t now_ms);
  /// Nothing goes before `until_ms`.
  void hold(int64_t until_ms);

 private:
  void refill(int64_t now_ms);
  double rate_per_ms_;
  double burst_;
  double tokens_;
  int64_t last_ms_ = -1;
  int64_t hold_until_ = 0;
};

}  // namespace rtmon
