#include "actors/incident/incident_machine.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

#include "actors/rule/rules.hpp"

namespace rtmon {

std::string to_string(incident_status s) {
  switch (s) {
    case incident_status::pending:
      return "pending";
    case incident_status::triggered:
      return "triggered";
    case incident_status::acknowledged:
      return "acknowledged";
    case incident_status::resolved:
      return "resolved";
    case incident_status::cancelled:
      return "cancelled";
  }
  return "?";
}

bool parse_incident_status(const std::string& text, incident_status& out) {
  for (auto s :
       {incident_status::pending, incident_status::triggered, incident_status::acknowledged,
        incident_status::resolved, incident_status::cancelled})
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  return false;
}

namespace {

const std::string automatic = "rtmon";

std::string utc_text(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

incident_machine::incident_machine(std::string fingerprint, flapping_policy policy,
                                   flap_history history)
    : fingerprint_(std::move(fingerprint)),
      policy_(policy),
      flapping_(history.flapping),
      changes_(std::move(history.changes)) {}

bool incident_machine::open() const {
  return started_ &&
         (status_ == incident_status::pending || status_ == incident_status::triggered ||
          status_ == incident_status::acknowledged);
}

void incident_machine::restore(const incident_record& r) {
  started_ = true;
  status_ = r.status;
  count_ = r.breach_count;
  last_value_ = r.last_value;
  opened_ = r.opened_ms;
  last_seen_ = r.last_seen_ms;
  acked_ = r.acknowledged_ms;
  resolved_ = r.resolved_ms;
  silenced_until_ = r.silenced_until_ms;
  flapping_ = r.flapping;
  seq_ = r.last_seq;
}

flap_history incident_machine::history() const { return {changes_, flapping_}; }

bool incident_machine::flap_detection() const {
  return policy_.max_changes > 0 && policy_.window_ms > 0;
}

incident_transition incident_machine::make(std::string kind, incident_status to, int64_t at_ms,
                                           std::string actor, std::string detail, bool notify) {
  incident_transition t;
  // A repeat updates the incident (count, last value) but is no timeline entry: it carries the
  // seq of the latest entry, so the timeline stays 1, 2, 3 ... without gaps.
  t.seq = kind == "repeat" ? seq_ : ++seq_;
  t.kind = std::move(kind);
  t.from = status_;
  t.to = to;
  t.at_ms = at_ms;
  t.actor = std::move(actor);
  t.detail = std::move(detail);
  t.value = last_value_;
  t.notify = notify && !silenced(at_ms);
  if (!started_) {
    started_ = true;
    opened_ = at_ms;
  }
  status_ = to;
  return t;
}

bool incident_machine::settle(int64_t at_ms) {
  if (!flap_detection()) {
    changes_.clear();
    bool was = flapping_;
    flapping_ = false;
    return was;
  }
  auto horizon = at_ms - policy_.window_ms;
  changes_.erase(
      std::remove_if(changes_.begin(), changes_.end(), [&](int64_t t) { return t <= horizon; }),
      changes_.end());
  if (flapping_ && changes_.size() <= static_cast<size_t>(policy_.max_changes / 2)) {
    flapping_ = false;
    return true;
  }
  return false;
}

void incident_machine::after(std::vector<incident_transition>& out, int64_t at_ms,
                             bool became_stable, bool counted) {
  if (became_stable)
    out.push_back(make("stable", status_, at_ms, automatic,
                       std::to_string(changes_.size()) + " state changes in the last " +
                           format_duration(policy_.window_ms) + ": notifications resume",
                       true));
  if (!counted || !flap_detection()) return;
  changes_.push_back(at_ms);
  if (!flapping_ && changes_.size() >= static_cast<size_t>(policy_.max_changes)) {
    flapping_ = true;
    out.push_back(make("flapping", status_, at_ms, automatic,
                       std::to_string(changes_.size()) + " state changes in the last " +
                           format_duration(policy_.window_ms) +
                           ": automatic notifications paused until it settles",
                       true));
  }
}

std::vector<incident_transition> incident_machine::pending(double value, int64_t at_ms,
                                                           std::string detail) {
  std::vector<incident_transition> out;
  if (started_) return out;
  bool stable = settle(at_ms);
  last_value_ = value;
  last_seen_ = at_ms;
  out.push_back(
      make("pending", incident_status::pending, at_ms, automatic, std::move(detail), false));
  after(out, at_ms, stable, false);
  return out;
}

std::vector<incident_transition> incident_machine::fire(double value, int64_t at_ms,
                                                        std::string detail) {
  if (started_ && status_ != incident_status::pending) {
    if (open()) return repeat(value, at_ms);  // already triggered: a re-fire is a repeat
    return {};
  }
  std::vector<incident_transition> out;
  bool stable = settle(at_ms);
  last_value_ = value;
  last_seen_ = at_ms;
  count_ = 1;
  out.push_back(make("triggered", incident_status::triggered, at_ms, automatic, std::move(detail),
                     !flapping_));
  after(out, at_ms, stable, true);
  return out;
}

std::vector<incident_transition> incident_machine::repeat(double value, int64_t at_ms) {
  std::vector<incident_transition> out;
  if (!started_ ||
      (status_ != incident_status::triggered && status_ != incident_status::acknowledged))
    return out;
  bool stable = settle(at_ms);
  last_value_ = value;
  last_seen_ = std::max(last_seen_, at_ms);
  ++count_;
  out.push_back(make("repeat", status_, at_ms, automatic, "value " + format_number(value), false));
  after(out, at_ms, stable, false);
  return out;
}

std::vector<incident_transition> incident_machine::clear(int64_t at_ms) {
  std::vector<incident_transition> out;
  if (!open()) return out;
  bool stable = settle(at_ms);
  resolved_ = at_ms;
  if (status_ == incident_status::pending) {
    out.push_back(make("cancelled", incident_status::cancelled, at_ms, automatic,
                       "cleared before it fired", false));
    after(out, at_ms, stable, false);
  } else {
    out.push_back(
        make("resolved", incident_status::resolved, at_ms, automatic, "recovered", !flapping_));
    after(out, at_ms, stable, true);
  }
  return out;
}

std::vector<incident_transition> incident_machine::acknowledge(const std::string& actor,
                                                               int64_t at_ms) {
  std::vector<incident_transition> out;
  if (!started_ || status_ != incident_status::triggered) return out;
  bool stable = settle(at_ms);
  acked_ = at_ms;
  out.push_back(make("acknowledged", incident_status::acknowledged, at_ms, actor,
                     "acknowledged by " + actor, true));
  after(out, at_ms, stable, false);
  return out;
}

std::vector<incident_transition> incident_machine::note(const std::string& actor, std::string text,
                                                        int64_t at_ms) {
  std::vector<incident_transition> out;
  if (!open()) return out;
  out.push_back(make("note", status_, at_ms, actor, std::move(text), false));
  return out;
}

std::vector<incident_transition> incident_machine::resolve(const std::string& actor,
                                                           int64_t at_ms) {
  std::vector<incident_transition> out;
  if (!open()) return out;
  bool stable = settle(at_ms);
  // Nobody was told about a pending incident, so nobody needs to hear it was resolved.
  bool was_notified = status_ != incident_status::pending;
  resolved_ = at_ms;
  out.push_back(make("resolved", incident_status::resolved, at_ms, actor, "resolved by " + actor,
                     was_notified));
  after(out, at_ms, stable, was_notified);
  return out;
}

std::vector<incident_transition> incident_machine::silence(const std::string& actor,
                                                           int64_t until_ms, int64_t at_ms) {
  std::vector<incident_transition> out;
  if (!open() || until_ms <= at_ms) return out;
  bool stable = settle(at_ms);
  silenced_until_ = until_ms;
  out.push_back(make("silenced", status_, at_ms, actor,
                     "silenced by " + actor + " until " + utc_text(until_ms), false));
  after(out, at_ms, stable, false);
  return out;
}

std::vector<incident_transition> incident_machine::unsilence(const std::string& actor,
                                                             int64_t at_ms) {
  std::vector<incident_transition> out;
  if (!open() || !silenced(at_ms)) return out;
  bool stable = settle(at_ms);
  silenced_until_ = 0;
  out.push_back(make("unsilenced", status_, at_ms, actor, "unsilenced by " + actor, false));
  after(out, at_ms, stable, false);
  return out;
}

}  // namespace rtmon
