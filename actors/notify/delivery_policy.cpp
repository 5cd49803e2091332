#include "actors/notify/delivery_policy.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace rtmon {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t retry_policy::next_attempt_ms(const delivery_attempt& a, int64_t now_ms, int64_t created_ms,
                                      double jitter) const {
  if (a.outcome != delivery_outcome::retry && a.outcome != delivery_outcome::ambiguous) return 0;
  if (a.attempt >= max_attempts || now_ms - created_ms >= max_age_ms) return 0;
  auto exp = std::min<uint32_t>(a.attempt > 0 ? a.attempt - 1 : 0, 30);
  auto backoff = std::min<double>(static_cast<double>(max_backoff_ms),
                                  static_cast<double>(base_ms) * std::pow(2.0, exp));
  backoff *= 0.8 + 0.4 * std::clamp(jitter, 0.0, 1.0);
  auto wait = static_cast<int64_t>(backoff);
  // The receiver knows best when it can take more; a Retry-After beyond our own back-off wins.
  if (a.retry_after_ms >= 0) wait = std::max(wait, a.retry_after_ms);
  return now_ms + std::max<int64_t>(wait, 1);
}

destination_pace::destination_pace(double rate_per_s, int burst)
    : rate_per_ms_(rate_per_s / 1000.0), burst_(std::max(1, burst)), tokens_(burst_) {}

void destination_pace::refill(int64_t now_ms) {
  // Time spent held earns no tokens: the receiver asked for a pause, not for a burst after it.
  auto from = std::max(last_ms_, hold_until_);
  if (last_ms_ >= 0 && now_ms > from)
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - from) * rate_per_ms_);
  if (now_ms > last_ms_) last_ms_ = now_ms;
}

int64_t destination_pace::ready_at(int64_t now_ms) {
  refill(now_ms);
  auto t = now_ms;
  if (tokens_ < 1.0) t += static_cast<int64_t>(std::ceil((1.0 - tokens_) / rate_per_ms_));
  return std::max(t, hold_until_);
}

void destination_pace::take(int64_t now_ms) {
  refill(now_ms);
  tokens_ = std::max(0.0, tokens_ - 1.0);
}

void destination_pace::hold(int64_t until_ms) {
  hold_until_ = std::max(hold_until_, until_ms);
  // After a hold the receiver gets one message, not a burst: it just said it was overloaded.
  tokens_ = 1.0;
}

}  // namespace rtmon
