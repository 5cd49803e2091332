// The incident state machine, free of CAF. One incident per fingerprint (rule + service +
// group labels) while it is open. States: pending -> triggered -> acknowledged -> resolved;
// pending may also be cancelled (the breach cleared before `for`). Silenced is an overlay (it
// mutes notifications, not state); flapping is a visible overlay that throttles notifications
// when the incident changes state too often.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/incidents.hpp"

namespace rtmon {

/// Flapping: too many state changes of one fingerprint within a window. The changes counted
/// are those users are told about: "triggered" and "resolved" (pending, cancelled, acknowledged
/// and repeats do not count). Reaching max_changes within window_ms emits "flapping" (notify
/// true) and from then on automatic transitions (actor "rtmon") carry notify=false; user actions
/// still notify. Once the changes within the window drop to max_changes / 2 or fewer (checked on
/// the next input), "stable" is emitted (notify true) after that input's transition.
/// max_changes <= 0 or window_ms <= 0 disables detection.
struct flapping_policy {
  int max_changes = 6;  // state changes within the window that mean "flapping"
  int64_t window_ms = 30 * 60000;
};

/// Resolved and cancelled are terminal, so a fingerprint that flaps does so across several
/// incidents: hand the ended machine's history() to the next machine of the same fingerprint.
struct flap_history {
  std::vector<int64_t> changes;  // times of recent counted state changes
  bool flapping = false;
};

class incident_machine {
 public:
  incident_machine(std::string fingerprint, flapping_policy policy = {}, flap_history history = {});

  // Inputs from the rule (automatic, actor "rtmon"). Each returns the transitions it caused
  // (possibly none); inputs that make no sense in the current state change nothing. A machine
  // that saw no input yet is "not started": it is not open(), status() says pending, and only
  // pending() or fire() start it; opened_ms() is the time of its first transition.
  //
  //   input        not started   pending      triggered     acknowledged  resolved/cancelled
  //   pending      pending       -            -             -             -
  //   fire         triggered     triggered    repeat        repeat        -
  //   repeat       -             -            repeat        repeat        -
  //   clear        -             cancelled    resolved      resolved      -
  //   acknowledge  -             -            acknowledged  -             -
  //   resolve      -             resolved     resolved      resolved      -
  //   silence      -             silenced     silenced      silenced      -
  //   unsilence    -             unsilenced*  unsilenced*   unsilenced*   -
  //   note         -             note         note          note          -
  // (* only while silenced; silence needs until_ms > at_ms.) notify: triggered, acknowledged,
  // resolved (from triggered/acknowledged), flapping and stable notify; pending, repeat,
  // cancelled, silenced, unsilenced and a user's resolve of a pending incident do not. Nothing
  // notifies while silenced(at_ms), and automatic transitions do not while flapping.
  // breach_count() is 1 at "triggered" and +1 per repeat; resolved_ms() is set when the
  // incident closes (resolved or cancelled).
  std::vector<incident_transition> pending(double value, int64_t at_ms, std::string detail);
  std::vector<incident_transition> fire(double value, int64_t at_ms, std::string detail);
  std::vector<incident_transition> repeat(double value, int64_t at_ms);
  std::vector<incident_transition> clear(int64_t at_ms);  // rule resolved or cancelled
  // User actions.
  std::vector<incident_transition> acknowledge(const std::string& actor, int64_t at_ms);
  std::vector<incident_transition> resolve(const std::string& actor, int64_t at_ms);
  std::vector<incident_transition> silence(const std::string& actor, int64_t until_ms,
                                           int64_t at_ms);
  std::vector<incident_transition> unsilence(const std::string& actor, int64_t at_ms);
  /// A note on an open incident: a timeline entry (kind "note", the text as its detail) that
  /// changes no state and notifies nobody. Notes on closed incidents are written by the API.
  std::vector<incident_transition> note(const std::string& actor, std::string text, int64_t at_ms);

  /// Continues an incident persisted earlier (after a restart or a rebalance): status, counts,
  /// times, silence, flapping and the last timeline seq come from its record.
  void restore(const incident_record& r);

  const std::string& fingerprint() const { return fingerprint_; }
  incident_status status() const { return status_; }
  /// Open = pending, triggered or acknowledged. Resolved and cancelled are terminal: a new
  /// breach of the same fingerprint opens a new incident (a new machine).
  bool open() const;
  bool silenced(int64_t at_ms) const { return silenced_until_ > at_ms; }
  int64_t silenced_until_ms() const { return silenced_until_; }
  bool flapping() const { return flapping_; }
  uint64_t breach_count() const { return count_; }
  double last_value() const { return last_value_; }
  int64_t opened_ms() const { return opened_; }
  int64_t last_seen_ms() const { return last_seen_; }
  int64_t acknowledged_ms() const { return acked_; }
  int64_t resolved_ms() const { return resolved_; }
  uint32_t last_seq() const { return seq_; }
  /// Flapping state to hand to the next incident of the same fingerprint (or to persist).
  flap_history history() const;

 private:
  incident_transition make(std::string kind, incident_status to, int64_t at_ms, std::string actor,
                           std::string detail, bool notify);
  bool flap_detection() const;
  // Before a transition: forget changes older than the window; true if flapping just ended.
  bool settle(int64_t at_ms);
  // After a transition: emit "stable", record a counted change, maybe emit "flapping".
  void after(std::vector<incident_transition>& out, int64_t at_ms, bool became_stable,
             bool counted);
  std::string fingerprint_;
  flapping_policy policy_;
  incident_status status_ = incident_status::pending;
  bool started_ = false;
  bool flapping_ = false;
  int64_t silenced_until_ = 0;
  std::vector<int64_t> changes_;  // times of recent state changes (flapping detection)
  uint64_t count_ = 0;
  double last_value_ = 0;
  int64_t opened_ = 0, last_seen_ = 0, acked_ = 0, resolved_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace rtmon
