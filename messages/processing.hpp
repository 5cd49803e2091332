// What flows through the processing tree once raw rows are durable: a partition's rows split
// per service, rule inputs computed by window actors, the alert changes rule actors report and
// the rule set they all share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/aggregates.hpp"
#include "messages/batches.hpp"
#include "messages/reloadable.hpp"

namespace rtmon {

struct rule_set;
using rule_set_ptr = std::shared_ptr<const rule_set>;

/// The rows of one service within a durable store batch (indexes into it: no copies).
/// `warmup`: the rows are replayed after a restart or a rebalance to rebuild window and rule
/// state; their effects (aggregates, incidents, notifications) happened before, so none are
/// produced again.
struct service_batch {
  store_batch_ptr rows;
  std::string service;
  std::vector<uint32_t> logs, metrics, events, commands;
  bool warmup = false;
  rule_set_ptr rules;  // the rules in force when the batch was split (null: the actor's own)
};
using service_batch_ptr = std::shared_ptr<const service_batch>;

/// Splits a batch by service, in row order.
std::vector<service_batch_ptr> split_by_service(const store_batch_ptr& rows, bool warmup,
                                                rule_set_ptr rules = nullptr);

/// What a window actor hands a rule actor after an update.
struct rule_input {
  enum kind_t : uint8_t {
    statistic,  // threshold / error_rate: the window statistic the rule watches
    events,     // event_match: `matches` matching events arrived (each one counts)
  } kind = statistic;
  std::string rule;          // rule name
  std::string group = "{}";  // JSON object of the group_by values ("{}": no grouping)
  double value = 0;
  bool sufficient = false;  // min_count met
  uint32_t matches = 0;
  int64_t now_ms = 0;  // the window's event time
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rule_input& x) {
  return f(caf::meta::type_name("rule_input"), x.kind, x.rule, x.group, x.value, x.sufficient,
           x.matches, x.now_ms);
}

/// A window actor's answer to an update: the inputs for every rule it feeds.
struct window_report {
  std::vector<rule_input> inputs;
  int64_t max_ts_ms = 0;  // the service's event time as this window knows it
  // The aggregate buckets this update changed, to persist (empty for a warm-up update).
  std::vector<aggregate_row> aggregates;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, window_report& x) {
  return f(caf::meta::type_name("window_report"), x.inputs, x.max_ts_ms, x.aggregates);
}

/// What one evaluation step of a rule changed. `value`: threshold/error_rate the window value
/// (the last sufficient one for resolved); absence the seconds since the service's last data;
/// event_match the number of matching events since the alert started firing.
struct alert_change {
  enum kind_t : uint8_t {
    none,       // nothing to report
    pending,    // inactive -> pending (breach started, waiting for `for`)
    cancelled,  // pending -> inactive (recovered before `for` elapsed)
    firing,     // -> firing (for elapsed, or for = 0)
    repeat,     // still firing and breaching again: value/count update
    resolved,   // firing -> inactive (recovered, after keep_firing_for)
  } kind = none;
  double value = 0;
  int64_t at_ms = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert_change& x) {
  return f(caf::meta::type_name("alert_change"), x.kind, x.value, x.at_ms);
}
std::string to_string(alert_change::kind_t k);

/// An alert change routed to the incident of its fingerprint, with what the incident needs to
/// describe itself.
struct alert {
  alert_change change;
  std::string rule, service, group = "{}";
  std::string summary;  // rendered from the rule's template
  bool warmup = false;  // replayed: update state, produce nothing
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert& x) {
  return f(caf::meta::type_name("alert"), x.change, x.rule, x.service, x.group, x.summary,
           x.warmup);
}

/// The rules in force, replaced as a whole when the rules file is reloaded (SIGHUP). Read by
/// processors for every batch; thread-safe.
using rules_source = reloadable<rule_set>;
using rules_source_ptr = std::shared_ptr<rules_source>;

/// The incident fingerprint of a rule, service and group: stable across processes and restarts.
std::string fingerprint(const std::string& rule, const std::string& service,
                        const std::string& group_json);

}  // namespace rtmon

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rtmon::service_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rtmon::rule_set_ptr)
