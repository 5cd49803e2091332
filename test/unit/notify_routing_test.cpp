#define CAF_SUITE notify_routing
#include <map>
#include <string>

#include "actors/notify/delivery_policy.hpp"
#include "system/notify/routing.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::notify;

namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) {
    auto i = vars.find(k);
    return i == vars.end() ? std::string{} : i->second;
  };
}

const char* two_channels = R"({
  "channels": {
    "slack": {"kind": "slack", "url_env": "SLACK_URL"},
    "mail": {"kind": "email", "url": "smtp://127.0.0.1:2525", "from": "rtmon@x", "to": ["a@x", "b@x"]},
    "hook": {"kind": "webhook", "url_env": "HOOK_URL"}
  },
  "routes": [
    {"match": {"severity": "critical"}, "channels": ["slack", "mail"], "renotify_every": "1h",
     "group_wait": "30s"},
    {"match": {"service": ["api"], "labels": {"team": "web"}}, "channels": ["hook", "slack"],
     "notify_resolved": false, "renotify_every": "10m"}
  ]
})";

incident_record incident(std::string service, std::string severity, std::string labels = "{}",
                         std::string group = "{}") {
  incident_record r;
  r.id = "0190-id";
  r.rule = "high-error-rate";
  r.service = std::move(service);
  r.severity = std::move(severity);
  r.labels = std::move(labels);
  r.group = std::move(group);
  return r;
}

incident_transition transition(std::string kind, bool notify = true) {
  incident_transition t;
  t.seq = 1;
  t.kind = std::move(kind);
  t.notify = notify;
  return t;
}

std::string names(const std::vector<route_hit>& hits) {
  std::string out;
  for (const auto& h : hits)
    out += (out.empty() ? "" : ",") + h.target->name + "@" + std::to_string(h.delay_ms);
  return out;
}

routing parse_ok(const char* text, env_lookup env) {
  routing r;
  std::string error;
  auto parsed = parse_routing(text, env, r, error);
  CAF_CHECK_EQUAL(error, "");
  CAF_REQUIRE(parsed);
  return r;
}

std::string parse_error(const char* text) {
  routing r;
  std::string error;
  CAF_CHECK(!parse_routing(text, fake_env({}), r, error));
  return error;
}

}  // namespace

CAF_TEST(channels without their address are disabled and routes skip them) {
  auto r = parse_ok(two_channels, fake_env({{"SLACK_URL", "https://hooks.slack.test/T/B/x"}}));
  CAF_CHECK_EQUAL(r.channels.size(), 2u);  // slack and mail; hook has no HOOK_URL
  CAF_REQUIRE_EQUAL(r.disabled.size(), 1u);
  CAF_CHECK_EQUAL(r.disabled[0], "hook: HOOK_URL is not set");
  CAF_CHECK_EQUAL(r.find("mail")->to.size(), 2u);
  // critical api incident of team web: route 1 (slack, mail; group wait on the first alert)
  // then route 2 (hook disabled, slack already taken).
  auto web = incident("api", "critical", R"({"team":"web"})");
  CAF_CHECK_EQUAL(names(r.route_transition(web, transition("triggered"))),
                  "slack@30000,mail@30000");
  CAF_CHECK_EQUAL(names(r.route_transition(web, transition("acknowledged"))), "slack@0,mail@0");
}

CAF_TEST(matchers on service severity and labels in rule labels or group values) {
  auto r = parse_ok(two_channels, fake_env({{"SLACK_URL", "https://s"}, {"HOOK_URL", "http://h"}}));
  CAF_CHECK_EQUAL(names(r.route_transition(incident("db", "warning"), transition("triggered"))),
                  "");
  CAF_CHECK_EQUAL(names(r.route_transition(incident("api", "warning", "{}", R"({"team":"web"})"),
                                           transition("triggered"))),
                  "hook@0,slack@0");
  CAF_CHECK_EQUAL(names(r.route_transition(incident("api", "warning", R"({"team":"ops"})"),
                                           transition("triggered"))),
                  "");
  // notify_resolved false on route 2: a warning's resolve goes nowhere.
  CAF_CHECK_EQUAL(names(r.route_transition(incident("api", "warning", R"({"team":"web"})"),
                                           transition("resolved"))),
                  "");
  // Transitions the machine does not mark notify (silenced, flapping-throttled) go nowhere.
  CAF_CHECK_EQUAL(
      names(r.route_transition(incident("api", "critical"), transition("triggered", false))), "");
  CAF_CHECK_EQUAL(names(r.route_transition(incident("api", "critical"), transition("note"))), "");
}

CAF_TEST(renotify takes the shortest interval per channel) {
  auto r = parse_ok(two_channels, fake_env({{"SLACK_URL", "https://s"}, {"HOOK_URL", "http://h"}}));
  auto hits = r.renotify(incident("api", "critical", R"({"team":"web"})"));
  std::map<std::string, int64_t> by;
  for (const auto& [c, every] : hits) by[c->name] = every;
  CAF_CHECK_EQUAL(by.size(), 3u);
  CAF_CHECK_EQUAL(by["slack"], 600000);
  CAF_CHECK_EQUAL(by["mail"], 3600000);
  CAF_CHECK_EQUAL(by["hook"], 600000);
}

CAF_TEST(errors name the channel or route and the field) {
  CAF_CHECK_EQUAL(parse_error(R"({"channels": {"x": {"kind": "pager"}}})"),
                  "channels.x.kind: must be slack, email or webhook");
  CAF_CHECK_EQUAL(parse_error(R"({"channels": {"x": {"kind": "slack", "url": "ftp://a"}}})"),
                  "channels.x.url: must be an http:// or https:// URL");
  CAF_CHECK_EQUAL(
      parse_error(R"({"channels": {"m": {"kind": "email", "url": "smtp://a", "from": "f"}}})"),
      "channels.m.to: an email channel needs recipients");
  CAF_CHECK_EQUAL(parse_error(R"({"routes": [{"channels": ["nope"]}]})"),
                  "routes[0].channels: unknown channel 'nope'");
  CAF_CHECK_EQUAL(
      parse_error(
          R"({"channels": {"s": {"kind": "slack"}}, "routes": [{"channels": ["s"], "renotify_every": "soon"}]})"),
      "routes[0].renotify_every: must be a duration like \"30s\", \"4h\"");
  CAF_CHECK_EQUAL(parse_error(R"({"channels": {"s": {"kind": "slack", "colour": "red"}}})"),
                  "channels.s: unknown field 'colour'");
  CAF_CHECK_EQUAL(
      parse_error(
          R"({"channels": {"s": {"kind": "slack"}}, "routes": [{"match": {"severity": "high"}, "channels": ["s"]}]})"),
      "routes[0].match.severity: 'high' is not info, warning or critical");
}

CAF_TEST(the shipped notifications file parses and is inert without secrets) {
  auto r = load_routing(RTMON_SOURCE_DIR "/config/notifications.json",
                        fake_env({}));  // no environment: every channel disabled
  CAF_CHECK(r->empty());
  CAF_CHECK_EQUAL(r->disabled.size(), 3u);
  auto with = load_routing(RTMON_SOURCE_DIR "/config/notifications.json",
                           fake_env({{"RTMON_SLACK_WEBHOOK_URL", "https://hooks.slack.com/x"}}));
  CAF_CHECK_EQUAL(with->channels.size(), 1u);
  CAF_CHECK_EQUAL(
      names(with->route_transition(incident("api", "critical"), transition("triggered"))),
      "slack@0");
}

CAF_TEST(retries back off exponentially with jitter and honour Retry - After) {
  retry_policy p;
  delivery_attempt a;
  a.outcome = delivery_outcome::retry;
  int64_t now = 1000000;
  a.attempt = 1;
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.5), now + 1000);
  a.attempt = 4;
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.5), now + 8000);
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.0), now + 6400);  // -20 %
  a.attempt = 14;
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.5), now + 300000);  // capped
  a.attempt = 2;
  a.retry_after_ms = 30000;  // the receiver asked for longer than our back-off
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.5), now + 30000);
  a.outcome = delivery_outcome::ambiguous;
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.5), now + 30000);
  a.attempt = p.max_attempts;  // gives up
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.5), 0);
  a.attempt = 1;
  CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now - p.max_age_ms, 0.5), 0);  // too old
  for (auto o : {delivery_outcome::delivered, delivery_outcome::failed, delivery_outcome::muted}) {
    a.outcome = o;
    CAF_CHECK_EQUAL(p.next_attempt_ms(a, now, now, 0.5), 0);  // finished, never retried
  }
}

CAF_TEST(destination pace allows a burst then one per interval and holds after Retry - After) {
  destination_pace pace{1.0, 3};
  int64_t t = 5000;
  for (int i = 0; i < 3; ++i) {
    CAF_CHECK_EQUAL(pace.ready_at(t), t);
    pace.take(t);
  }
  CAF_CHECK_EQUAL(pace.ready_at(t), t + 1000);  // burst spent: 1 per second
  pace.take(t + 1000);
  CAF_CHECK_EQUAL(pace.ready_at(t + 1000), t + 2000);
  // 429 with Retry-After 10 s: nothing before, and no burst built up during the hold.
  pace.hold(t + 12000);
  CAF_CHECK_EQUAL(pace.ready_at(t + 2000), t + 12000);
  CAF_CHECK_EQUAL(pace.ready_at(t + 12000), t + 12000);
  pace.take(t + 12000);
  CAF_CHECK_EQUAL(pace.ready_at(t + 12000), t + 13000);
  // Over a long quiet time tokens refill to the burst, not beyond.
  int64_t later = t + 100000;
  for (int i = 0; i < 3; ++i) {
    CAF_CHECK_EQUAL(pace.ready_at(later), later);
    pace.take(later);
  }
  CAF_CHECK(pace.ready_at(later) > later);
}
