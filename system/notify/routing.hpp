// Notification routing (config/notifications.json): the channels, and which incidents'
// transitions go to which of them, re-notified how often. Pure: loaded once (secrets resolved
// from the environment or files), then consulted by the incident store inside each transition's
// transaction (the outbox rows) and by the dispatcher (re-notifications).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "messages/incidents.hpp"
#include "messages/reloadable.hpp"
#include "system/notify/channel.hpp"

namespace rtmon::notify {

/// Which incidents a route takes. An empty list matches anything; labels must all be among the
/// incident's rule labels or group values.
struct route_match {
  std::vector<std::string> services, rules, severities;
  std::map<std::string, std::string> labels;
  bool matches(const incident_record& r) const;
};

struct route {
  route_match match;
  std::vector<std::string> channels;  // names; disabled channels are skipped
  // Timeline kinds that notify (of those the state machine marks notify=true).
  std::vector<std::string> events{"triggered", "acknowledged", "resolved", "flapping", "stable"};
  int64_t renotify_ms = 0;  // while triggered and not acknowledged; 0 = never
  // With a group wait, the first alerts of incidents that agree on `group_by` (service, rule,
  // severity, or a label / group-by value name; none: the whole route is one group) and come
  // due within the wait of the group's first one go out as one Slack message or email.
  // Webhooks always get one event per incident (their receivers deduplicate by incident).
  // 0: the first alert is not delayed and never grouped.
  int64_t group_wait_ms = 0;
  std::vector<std::string> group_by;
  bool stop = false;  // later routes are not consulted when this one matched
};

/// A channel a transition goes to, when its first attempt may start, and the group it joins
/// (empty: none).
struct route_hit {
  const channel* target = nullptr;
  int64_t delay_ms = 0;
  std::string group_key;
};

/// "service=api, host=a|b": the group's values from a group key (see route_transition); empty
/// for a route without group_by. What messages and the API show of a group.
std::string group_values(const std::string& group_key);

class routing {
 public:
  std::map<std::string, channel> channels;  // enabled ones only
  std::vector<std::string> disabled;        // "name: why" (e.g. its URL variable is unset)
  std::vector<route> routes;

  /// The channels a timeline entry of `r` goes to (each at most once; the first matching route
  /// naming a channel decides its delay and group). None unless `t.notify`. The group key is
  /// "<route index>|<channel>|<name>=<value>|..." for a `triggered` entry on a route with a
  /// group wait, to a Slack or email channel.
  std::vector<route_hit> route_transition(const incident_record& r,
                                          const incident_transition& t) const;
  /// Channels re-notified while `r` stays triggered, with their intervals (the shortest per
  /// channel).
  std::vector<std::pair<const channel*, int64_t>> renotify(const incident_record& r) const;
  const channel* find(const std::string& name) const;
  bool empty() const { return channels.empty(); }
};
using routing_ptr = std::shared_ptr<const routing>;

/// The routing in force, shared by the incident store (outbox rows), the outbox (claims,
/// re-notifications) and the notifiers (channels); SIGHUP replaces it (system/serve.cpp). Each
/// use takes a snapshot, so a transaction or an attempt finishes with the routing it began
/// with. Rows of a channel that a reload removed stay pending (visible) until it returns.
using routing_source = reloadable<routing>;
using routing_source_ptr = std::shared_ptr<routing_source>;

/// A source that always answers `r` (tests, one-shot tools).
inline routing_source_ptr fixed_routing(routing_ptr r) {
  return std::make_shared<routing_source>(std::move(r));
}

/// Looks up an environment variable (injectable for tests); empty = unset.
using env_lookup = std::function<std::string(const std::string&)>;
std::string process_env(const std::string& name);

/// Parses the routing JSON. Secrets: every string field `x` of a channel may instead be given as
/// `x_env` (an environment variable) or `x_file` (a file's first line). A channel without its
/// address (url) is disabled, not an error, so the shipped file works without secrets. Returns
/// false with `error` naming the channel or route and the field.
bool parse_routing(const std::string& json, const env_lookup& env, routing& out,
                   std::string& error);
/// Reads and parses `path` (a missing file = no channels). Throws std::runtime_error.
routing_ptr load_routing(const std::string& path, const env_lookup& env = process_env);

}  // namespace rtmon::notify
