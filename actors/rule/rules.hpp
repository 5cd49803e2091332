// Alert rules: their specification (parsed from config/rules.json, validated with errors that
// name the rule and the field) and the per-(rule, service, group) evaluation state, free of CAF.
// Times are Unix milliseconds. Threshold and error-rate rules are evaluated on every window
// update with the window's event time; absence and expiry (keep_firing_for, event-match
// expiry) need the passage of time and are driven by advance(now) from a timer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "messages/processing.hpp"

namespace rtmon {

enum class rule_kind : uint8_t { threshold, error_rate, absence, event_match };
enum class comparison : uint8_t { gt, ge, lt, le };
enum class metric_stat : uint8_t { avg, min, max, sum, count, rate, p50, p95, p99 };
enum class severity : uint8_t { info, warning, critical };

std::string to_string(rule_kind);
std::string to_string(comparison);   // ">", ">=", "<", "<="
std::string to_string(metric_stat);  // "avg", ..., "p99"
std::string to_string(severity);     // "info", "warning", "critical"

/// Compact number for humans: 6 significant digits, e.g. 0.12, 250, 1.5e+06.
std::string format_number(double v);
/// Compact duration: 60000 -> "1m", 1500 -> "1500ms", 7200000 -> "2h", 0 -> "0s".
std::string format_duration(int64_t ms);
/// "500ms", "30s", "1m", "1h", "1d" or a sum of parts such as "1m30s"; at most a year.
bool parse_duration(std::string_view text, int64_t& out_ms);

/// event_match rules resolve this long after their last matching event unless
/// keep_firing_for says otherwise.
constexpr int64_t default_event_keep_firing_ms = 5 * 60000;

struct rule_spec {
  std::string name;  // unique, [A-Za-z0-9_.-]+
  rule_kind kind = rule_kind::threshold;
  severity sev = severity::warning;
  std::vector<std::string> services;  // empty: every service that sends data
  // threshold: a statistic of a metric over a window; error_rate: errors/total of logs
  std::string metric;  // threshold only: metric name
  metric_stat stat = metric_stat::avg;
  int64_t window_ms = 60000;  // must be one of the configured window spans
  comparison op = comparison::gt;
  double threshold = 0;
  bool has_recovery = false;  // hysteresis: while firing, clears only past `recovery`
  double recovery = 0;
  uint64_t min_count = 0;  // fewer samples/logs in the window: not evaluated (not breaching)
  int64_t for_ms = 0;      // pending this long before firing
  int64_t keep_firing_for_ms = 0;  // keep firing this long after recovering
  // absence: no data from a service that was sending, for this long (processing time)
  int64_t absent_for_ms = 0;
  // event_match: events of this type whose attrs contain these key/values (string compare)
  std::string event_type;
  std::map<std::string, std::string> match_attrs;
  std::map<std::string, std::string> labels;
  std::vector<std::string> group_by;  // metric tag names: one evaluation state per group
  std::string summary;                // template, see render_summary
};

/// The rules in force (see messages/processing.hpp: shared by pointer between actors).
struct rule_set {
  std::vector<rule_spec> rules;
  const rule_spec* find(const std::string& name) const {
    for (const auto& r : rules)
      if (r.name == name) return &r;
    return nullptr;
  }
};

struct rules_parse_result {
  std::vector<rule_spec> rules;  // the valid rules only, in file order
  // e.g. "rule 'api-latency': field 'window': must be one of 1m, 5m, 15m"
  std::vector<std::string> errors;
};

/// Parses the rules file: {"rules": [{...}, ...]}. Durations are strings like "30s", "1m",
/// "5m", "1h" (or integer milliseconds). `window_spans_ms` lists the valid windows.
///
/// Every problem is reported, not just the first: "rule 'NAME': field 'F': problem", or
/// "rule #N: ..." (N counts from 1) while the name is missing or invalid, or "rules file: ..."
/// for the file itself. Errors are: unknown fields (with a "did you mean" hint), fields the
/// rule's type does not use, wrong JSON types, missing required fields, duplicate names (the
/// first definition is kept). Fields per type (besides name, type, severity, services,
/// labels, summary, which every type takes; type is required, severity defaults to warning):
///   threshold:   metric*, threshold*, stat (avg), window (1m), op (>), recovery, min_count,
///                for, keep_firing_for, group_by
///   error_rate:  threshold* (a fraction 0..1), window, op, recovery (0..1), min_count, for,
///                keep_firing_for
///   absence:     absent_for* (> 0), for
///   event_match: event_type*, match, keep_firing_for (> 0, default 5m)
/// recovery must be <= threshold for > and >=, >= threshold for < and <=. A caller should
/// refuse to load a file with errors; `rules` lets it say which rules were fine.
rules_parse_result parse_rules(std::string_view json_text,
                               const std::vector<int64_t>& window_spans_ms);

/// Fills a summary template. Placeholders: {rule} {service} {severity} {value} {threshold}
/// {value_pct} {threshold_pct} (x 100 with a % sign, for ratios)
/// {stat} {metric} {window} {op} {event_type} and {labels.NAME} / {group.NAME}; unknown ones
/// (and labels or group keys that are not there) stay as written. Numbers use format_number,
/// {window} format_duration; {metric} is "error_rate" for error-rate rules. An empty template
/// gives a default per type, e.g. "api-latency: p95(response_time) over 5m is 612 (> 500) on
/// api". `value` is what alert_change::value carries.
std::string render_summary(const rule_spec& spec, const std::string& service, double value,
                           const std::map<std::string, std::string>& group);

/// True if the rule applies to this service (its `services` list is empty or names it).
bool applies_to(const rule_spec& spec, const std::string& service);
/// event_match: the event has the rule's type and its attrs contain every match_attrs
/// key with exactly that (string) value.
bool matches_event(const rule_spec& spec, const std::string& type,
                   const std::map<std::string, std::string>& attrs);

enum class alert_state : uint8_t { inactive, pending, firing };
std::string to_string(alert_state);

/// Evaluation state of one rule for one service (and group). Holds a pointer to the spec,
/// which must outlive it. Calls for another rule type return `none` and change nothing.
///
/// threshold / error_rate: breaching(v) = v op threshold. While firing, with a recovery value
/// the alert recovers once "v op recovery" no longer holds (for > : v <= recovery, >= : v <
/// recovery, < : v >= recovery, <= : v > recovery; so recovery == threshold means no
/// hysteresis); without one, once it stops breaching. Between the two (the hysteresis band) it
/// keeps firing and reports nothing. inactive + breach -> pending (or firing at once when
/// for = 0); pending + breach for `for` -> firing; pending + no breach -> cancelled; firing +
/// breach -> repeat; firing + recovered -> resolved, or, with keep_firing_for, resolved once it
/// has been recovered that long (by evaluate or advance; a breach meanwhile restarts the wait,
/// a value in the band does not). Insufficient data (min_count not met, or a NaN/inf value)
/// cancels a pending alert but never resolves a firing one: no data is not recovery, the
/// absence rule covers silence. `for` completes only on evaluate (a fresh breaching value).
///
/// absence: advance(now) fires (pending first if for > 0) once the service, having sent data
/// at least once, has been silent for absent_for; saw_data resolves / cancels. No repeats
/// while the silence lasts. event_match: each matching event fires or repeats; advance
/// resolves keep_firing_for after the last match.
class rule_state {
 public:
  explicit rule_state(const rule_spec& spec);

  /// threshold / error_rate: the window's current value. `sufficient` is false when min_count
  /// is not met (treated as not breaching). `now_ms` is the window's event time.
  alert_change evaluate(double value, bool sufficient, int64_t now_ms);
  /// absence: data arrived at processing time now_ms (clears an absence alert).
  alert_change saw_data(int64_t now_ms);
  /// event_match: one event arrived; `matches` says whether it matched the rule.
  alert_change on_event(bool matches, int64_t now_ms);
  /// Time passed without data (timer, processing time): absence fires, keep_firing_for and
  /// event-match expiry resolve, `for` completes for absence.
  alert_change advance(int64_t now_ms);

  /// Takes over the state of an alert whose incident is still open (after a restart or a
  /// rebalance the incident in Postgres is the truth): pending or firing since `since_ms`.
  void restore(alert_state s, int64_t since_ms, double value);

  alert_state state() const { return state_; }
  double last_value() const { return last_value_; }
  int64_t since_ms() const { return since_; }

 private:
  bool breaching(double v) const;
  alert_change::kind_t start(int64_t now_ms);
  bool recovered(double v) const;
  const rule_spec* spec_;
  alert_state state_ = alert_state::inactive;
  double last_value_ = 0;
  int64_t since_ = 0;             // start of the current pending/firing state
  int64_t recovered_since_ = -1;  // firing but recovered, waiting for keep_firing_for
  int64_t last_data_ = -1;        // absence: last data seen
  int64_t last_match_ = -1;       // event_match: last matching event
};

}  // namespace rtmon
