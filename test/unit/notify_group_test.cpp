#define CAF_SUITE notify_group
// Grouped notifications: which first alerts share a group (routing), how a claim of outbox rows
// becomes messages (grouping), and what one message about several incidents says (renderers).
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "actors/notify/grouping.hpp"
#include "system/notify/render.hpp"
#include "system/notify/routing.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::notify;
namespace json = boost::json;

namespace {

const char* grouped_routes = R"({
  "channels": {
    "slack": {"kind": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
    "mail": {"kind": "email", "url": "smtp://127.0.0.1:2525", "from": "rtmon@x", "to": ["a@x"]},
    "hook": {"kind": "webhook", "url": "http://127.0.0.1:9/hook"}
  },
  "routes": [
    {"match": {"service": ["db"]}, "channels": ["slack"], "group_wait": "10s", "stop": true},
    {"match": {"severity": "critical"}, "channels": ["slack", "mail", "hook"],
     "group_wait": "30s", "group_by": ["service", "host"]}
  ]
})";

routing parse_ok(const char* text) {
  routing r;
  std::string error;
  auto parsed = parse_routing(
      text, [](const std::string&) { return std::string{}; }, r, error);
  CAF_CHECK_EQUAL(error, "");
  CAF_REQUIRE(parsed);
  return r;
}

incident_record incident(std::string service, std::string group, std::string labels = "{}") {
  incident_record r;
  r.id = "0190-" + service;
  r.rule = "high-error-rate";
  r.service = std::move(service);
  r.severity = "critical";
  r.labels = std::move(labels);
  r.group = std::move(group);
  return r;
}

incident_transition transition(std::string kind) {
  incident_transition t;
  t.seq = 1;
  t.kind = std::move(kind);
  t.notify = true;
  return t;
}

// "channel@delay#key" per hit.
std::string hits(const std::vector<route_hit>& hs) {
  std::string out;
  for (const auto& h : hs)
    out += (out.empty() ? "" : ",") + h.target->name + "@" + std::to_string(h.delay_ms) + "#" +
           h.group_key;
  return out;
}

std::string payload(const std::string& id, const std::string& service, const std::string& sev) {
  return json::serialize(json::object{{"incident_id", id},
                                      {"rule", "high-error-rate"},
                                      {"service", service},
                                      {"severity", sev},
                                      {"status", "triggered"},
                                      {"kind", "triggered"},
                                      {"summary", "5xx rate above 5% on " + service},
                                      {"detail", "value 0.12 > 0.05"},
                                      {"opened_at", "2023-11-14T22:13:20.000000Z"},
                                      {"seq", 1}});
}

notification row(int64_t id, std::string key, std::string service = "api",
                 std::string sev = "critical") {
  notification n;
  n.id = id;
  n.incident_id = "inc-" + std::to_string(id);
  n.seq = 1;
  n.channel = "slack";
  n.event = "triggered";
  n.idem_key = n.incident_id + ":1:slack";
  n.attempt = 1;
  n.group_key = std::move(key);
  n.payload = payload(n.incident_id, service, sev);
  return n;
}

std::vector<int64_t> ids(const notification& message) {
  std::vector<int64_t> out;
  for (const auto* m : members_of(message)) out.push_back(m->id);
  return out;
}

}  // namespace

CAF_TEST(a group wait puts the first alerts of incidents with the same group_by values together) {
  auto r = parse_ok(grouped_routes);
  auto a = incident("api", R"({"host": "a"})");
  // Slack and email join the group of (service, host); the webhook is never grouped (its
  // receiver deduplicates per incident) but still waits.
  CAF_CHECK_EQUAL(hits(r.route_transition(a, transition("triggered"))),
                  "slack@30000#1|slack|service=api|host=a,mail@30000#1|mail|service=api|host=a,"
                  "hook@30000#");
  // Another host is another group; a label serves when the group has no such value.
  CAF_CHECK_EQUAL(
      hits(r.route_transition(incident("api", R"({"host": "b"})"), transition("triggered")))
          .substr(0, 36),
      "slack@30000#1|slack|service=api|host");
  CAF_CHECK_EQUAL(
      hits(r.route_transition(incident("web", "{}", R"({"host": "c"})"), transition("triggered"))),
      "slack@30000#1|slack|service=web|host=c,mail@30000#1|mail|service=web|host=c,"
      "hook@30000#");
  // Follow-ups go at once and alone.
  CAF_CHECK_EQUAL(hits(r.route_transition(a, transition("resolved"))), "slack@0#,mail@0#,hook@0#");
  // No group_by: the route is one group. Bars in values cannot run into the next part.
  CAF_CHECK_EQUAL(hits(r.route_transition(incident("db", "{}"), transition("triggered"))),
                  "slack@10000#0|slack");
  CAF_CHECK_EQUAL(
      hits(r.route_transition(incident("api", R"({"host": "x|y%"})"), transition("triggered")))
          .substr(0, 48),
      "slack@30000#1|slack|service=api|host=x%7Cy%25,ma");
}

CAF_TEST(group_by without a group wait is a configuration error) {
  routing r;
  std::string error;
  CAF_CHECK(!parse_routing(
      R"({"channels": {"s": {"kind": "slack", "url": "http://x"}},
          "routes": [{"channels": ["s"], "group_by": ["service"]}]})",
      [](const std::string&) { return std::string{}; }, r, error));
  CAF_CHECK_EQUAL(
      error, "routes[0].group_by: needs a group_wait (grouping waits for the group's members)");
}

CAF_TEST(a claim becomes one message per group led by its oldest row) {
  auto muted = row(5, "g1");
  muted.mute = "silenced by s1";
  auto work = group_claimed(
      {row(7, "g1"), row(2, ""), row(4, "g1"), muted, row(9, "g2"), row(3, "g1"), row(8, "")});
  CAF_REQUIRE_EQUAL(work.muted.size(), 1u);
  CAF_CHECK_EQUAL(work.muted[0].id, 5);
  CAF_REQUIRE_EQUAL(work.sends.size(), 4u);
  // In claim order: g1 (first seen at 7), the single 2 seen after g1, g2, the single 8.
  CAF_CHECK_EQUAL(ids(work.sends[0]), (std::vector<int64_t>{3, 4, 7}));
  CAF_CHECK_EQUAL(ids(work.sends[1]), (std::vector<int64_t>{2}));
  CAF_CHECK_EQUAL(ids(work.sends[2]), (std::vector<int64_t>{9}));
  CAF_CHECK_EQUAL(ids(work.sends[3]), (std::vector<int64_t>{8}));
  CAF_CHECK(work.sends[2].grouped.empty());  // a group of one is an ordinary message
}

CAF_TEST(a group larger than a message holds is split) {
  std::vector<notification> rows;
  for (int64_t i = 1; i <= 45; ++i) rows.push_back(row(i, "big"));
  auto work = group_claimed(rows, 20);
  CAF_REQUIRE_EQUAL(work.sends.size(), 3u);
  CAF_CHECK_EQUAL(work.sends[0].grouped.size(), 19u);
  CAF_CHECK_EQUAL(work.sends[1].id, 21);
  CAF_CHECK_EQUAL(work.sends[2].grouped.size(), 4u);
}

CAF_TEST(a grouped slack message lists every incident under one header) {
  channel ch;
  ch.name = "slack";
  ch.ui_base_url = "http://ui.test";
  auto n = row(1, "1|slack|service=api");
  n.grouped = {row(2, "1|slack|service=api", "api", "warning"),
               row(3, "1|slack|service=api", "api", "info")};
  auto msg = json::parse(render_slack(ch, n)).as_object();
  auto& blocks = msg.at("blocks").as_array();
  CAF_REQUIRE_EQUAL(blocks.size(), 5u);  // header, 3 incidents, context
  CAF_CHECK_EQUAL(blocks[0].at("text").at("text"),
                  ":red_circle: 3 incidents TRIGGERED: high-error-rate on api");
  for (int i = 1; i <= 3; ++i) {
    auto text = std::string(blocks[static_cast<size_t>(i)].at("text").at("text").as_string());
    CAF_CHECK(text.find("<http://ui.test/incidents/inc-" + std::to_string(i) +
                        "|high-error-rate on api>") != std::string::npos);
    CAF_CHECK(text.find("value 0.12 &gt; 0.05") != std::string::npos);
  }
  CAF_CHECK(std::string(blocks[2].at("text").at("text").as_string()).find("warning") !=
            std::string::npos);
  auto ctx = std::string(blocks[4].at("elements").at(0).at("text").as_string());
  CAF_CHECK(ctx.find("Grouped by service=api") != std::string::npos);
  CAF_CHECK_EQUAL(msg.at("text"),
                  ":red_circle: [TRIGGERED] 3 incidents: high-error-rate on api, high-error-rate "
                  "on api, high-error-rate on api");
}

CAF_TEST(a grouped email lists every incident and is the leader thread root) {
  channel ch;
  ch.name = "mail";
  ch.kind = channel_kind::email;
  ch.from = "rtmon@x";
  ch.to = {"ops@x"};
  ch.ui_base_url = "http://ui.test";
  auto n = row(1, "1|mail|service=api|host=a%7Cb");
  n.grouped = {row(2, n.group_key, "web", "warning")};
  auto m = render_email(ch, n, 1700000000000);
  CAF_CHECK_EQUAL(m.subject,
                  "[CRITICAL] 2 incidents triggered: high-error-rate on api, high-error-rate on "
                  "web");
  CAF_CHECK_EQUAL(m.message_id, root_message_id("inc-1"));
  CAF_CHECK_EQUAL(m.in_reply_to, "");
  CAF_CHECK(m.text.find("2 incidents TRIGGERED \xE2\x80\x94 grouped by service=api, host=a|b") ==
            0);
  CAF_CHECK(m.text.find("1. TRIGGERED \xE2\x80\x94 high-error-rate on api") != std::string::npos);
  CAF_CHECK(m.text.find("2. TRIGGERED \xE2\x80\x94 high-error-rate on web") != std::string::npos);
  CAF_CHECK(m.text.find("http://ui.test/incidents/inc-2") != std::string::npos);
  CAF_CHECK(m.html.find("5xx rate above 5% on web") != std::string::npos);
  CAF_CHECK(m.data.find("Message-ID: <incident-inc-1@rtmon>\r\n") != std::string::npos);
}
