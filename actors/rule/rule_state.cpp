// Evaluation of one rule for one service (and group): the alert state machine
// inactive -> pending -> firing with for, hysteresis and keep_firing_for.
#include <cmath>

#include "actors/rule/rules.hpp"

namespace rtmon {

rule_state::rule_state(const rule_spec& spec) : spec_(&spec) {}

bool rule_state::breaching(double v) const {
  switch (spec_->op) {
    case comparison::gt:
      return v > spec_->threshold;
    case comparison::ge:
      return v >= spec_->threshold;
    case comparison::lt:
      return v < spec_->threshold;
    case comparison::le:
      return v <= spec_->threshold;
  }
  return false;
}

bool rule_state::recovered(double v) const {
  if (!spec_->has_recovery) return !breaching(v);
  // The rule's comparison applied to the recovery value no longer holds: for '>' recovered
  // means v <= recovery, for '>=' v < recovery, for '<' v >= recovery, for '<=' v > recovery.
  // So recovery == threshold is exactly "no hysteresis".
  switch (spec_->op) {
    case comparison::gt:
      return v <= spec_->recovery;
    case comparison::ge:
      return v < spec_->recovery;
    case comparison::lt:
      return v >= spec_->recovery;
    case comparison::le:
      return v > spec_->recovery;
  }
  return false;
}

// A breach begins: pending while `for` runs, firing at once without one.
alert_change::kind_t rule_state::start(int64_t now_ms) {
  since_ = now_ms;
  state_ = spec_->for_ms <= 0 ? alert_state::firing : alert_state::pending;
  return state_ == alert_state::firing ? alert_change::firing : alert_change::pending;
}

alert_change rule_state::evaluate(double value, bool sufficient, int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  if (spec_->kind != rule_kind::threshold && spec_->kind != rule_kind::error_rate) return ch;
  if (!std::isfinite(value)) sufficient = false;
  if (sufficient) last_value_ = value;
  ch.value = last_value_;
  switch (state_) {
    case alert_state::inactive:
      if (sufficient && breaching(value)) {
        recovered_since_ = -1;
        ch.kind = start(now_ms);
      }
      return ch;
    case alert_state::pending:
      if (!sufficient || !breaching(value)) {
        state_ = alert_state::inactive;
        ch.kind = alert_change::cancelled;
      } else if (now_ms - since_ >= spec_->for_ms) {
        state_ = alert_state::firing;
        since_ = now_ms;
        ch.kind = alert_change::firing;
      }
      return ch;
    case alert_state::firing:
      if (!sufficient) return ch;  // no data is not recovery (absence rules cover silence)
      if (breaching(value)) {
        recovered_since_ = -1;
        ch.kind = alert_change::repeat;
      } else if (recovered(value)) {
        if (recovered_since_ < 0) recovered_since_ = now_ms;
        if (now_ms - recovered_since_ >= spec_->keep_firing_for_ms) {
          state_ = alert_state::inactive;
          recovered_since_ = -1;
          ch.kind = alert_change::resolved;
        }
      }
      // Otherwise in the hysteresis band: still firing, nothing to report.
      return ch;
  }
  return ch;
}

void rule_state::restore(alert_state s, int64_t since_ms, double value) {
  state_ = s;
  since_ = since_ms;
  last_value_ = value;
  recovered_since_ = -1;
  if (spec_->kind == rule_kind::event_match && s == alert_state::firing) last_match_ = since_ms;
}

alert_change rule_state::saw_data(int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  if (spec_->kind != rule_kind::absence) return ch;
  if (last_data_ >= 0)
    ch.value = static_cast<double>(std::max<int64_t>(0, now_ms - last_data_)) / 1000.0;
  if (now_ms > last_data_) last_data_ = now_ms;
  if (state_ == alert_state::firing) {
    ch.kind = alert_change::resolved;
  } else if (state_ == alert_state::pending) {
    ch.kind = alert_change::cancelled;
  }
  if (ch.kind != alert_change::none) last_value_ = ch.value;
  state_ = alert_state::inactive;
  return ch;
}

alert_change rule_state::on_event(bool matches, int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  if (spec_->kind != rule_kind::event_match || !matches) return ch;
  if (now_ms > last_match_) last_match_ = now_ms;
  if (state_ == alert_state::firing) {
    last_value_ += 1;
    ch.kind = alert_change::repeat;
  } else {
    state_ = alert_state::firing;
    since_ = now_ms;
    last_value_ = 1;
    ch.kind = alert_change::firing;
  }
  ch.value = last_value_;
  return ch;
}

alert_change rule_state::advance(int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  switch (spec_->kind) {
    case rule_kind::threshold:
    case rule_kind::error_rate:
      if (state_ == alert_state::firing && recovered_since_ >= 0 &&
          now_ms - recovered_since_ >= spec_->keep_firing_for_ms) {
        state_ = alert_state::inactive;
        recovered_since_ = -1;
        ch.kind = alert_change::resolved;
        ch.value = last_value_;
      }
      return ch;
    case rule_kind::absence: {
      if (last_data_ < 0) return ch;  // never sent anything: nothing can be absent
      int64_t silent = now_ms - last_data_;
      if (silent < spec_->absent_for_ms) return ch;
      last_value_ = static_cast<double>(silent) / 1000.0;
      ch.value = last_value_;
      if (state_ == alert_state::inactive) {
        ch.kind = start(now_ms);
      } else if (state_ == alert_state::pending && now_ms - since_ >= spec_->for_ms) {
        state_ = alert_state::firing;
        since_ = now_ms;
        ch.kind = alert_change::firing;
      }
      return ch;
    }
    case rule_kind::event_match:
      if (state_ == alert_state::firing && now_ms - last_match_ >= spec_->keep_firing_for_ms) {
        state_ = alert_state::inactive;
        ch.kind = alert_change::resolved;
        ch.value = last_value_;
      }
      return ch;
  }
  return ch;
}

}  // namespace rtmon
