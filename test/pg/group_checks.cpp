// Grouped notifications (sql/007_notify_groups.sql) against a real PostgreSQL: the transition's
// transaction writes the group key and the group wait; a claim takes a due row together with
// the pending mates of its group (not yet due themselves), and nothing of another group.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "system/pg/outbox_store.hpp"
#include "system/pg/processing_store.hpp"
#include "test/pg/checks.hpp"

namespace rtmon::pg_test {

namespace {

const char* routes = R"({
  "channels": {"slack": {"kind": "slack", "url": "http://127.0.0.1:9/slack"}},
  "routes": [{"match": {"service": ["grp-a", "grp-b", "grp-c", "grp-d"]}, "channels": ["slack"],
              "group_wait": "1h", "group_by": ["rule"]}]
})";

incident_change triggered(const std::string& id, const std::string& service,
                          const std::string& rule, int64_t at) {
  incident_record r;
  r.id = id;
  r.fingerprint = "fp-" + id;
  r.rule = rule;
  r.service = service;
  r.severity = "critical";
  r.status = incident_status::triggered;
  r.summary = "grouped";
  r.opened_ms = r.last_seen_ms = at;
  r.last_seq = 1;
  timeline_entry e;
  e.transition.seq = 1;
  e.transition.kind = "triggered";
  e.transition.from = incident_status::pending;
  e.transition.to = incident_status::triggered;
  e.transition.at_ms = at;
  e.transition.actor = "rtmon";
  e.transition.notify = true;
  e.message = "{\"id\": \"" + id + "\", \"seq\": 1}";
  return {r, {e}, {}};
}

}  // namespace

void test_groups(const std::string& url, pqxx::connection& db) {
  section("groups: the transition writes the group key and the group's wait");
  notify::routing_ptr routing;
  {
    auto r = std::make_shared<notify::routing>();
    std::string error;
    CHECK(notify::parse_routing(
        routes, [](const std::string&) { return std::string{}; }, *r, error));
    routing = r;
  }
  pg::processing_store store{url};
  store.set_routing(notify::fixed_routing(routing));
  const int64_t at = 1700000100000;
  const std::string a = "01900000-0000-7000-8000-0000000000a1",
                    b = "01900000-0000-7000-8000-0000000000b1",
                    c = "01900000-0000-7000-8000-0000000000c1",
                    d = "01900000-0000-7000-8000-0000000000d1";
  store.apply({triggered(a, "grp-a", "errors", at)});
  store.apply({triggered(b, "grp-b", "errors", at), triggered(d, "grp-d", "latency", at)});
  store.apply({triggered(c, "grp-c", "errors", at)});
  CHECK_EQ(scalar(db, "select group_key from notifications where incident_id = '" + a + "'"),
           "0|slack|rule=errors");
  CHECK_EQ(count(db,
                 "select count(*) from notifications where group_key = '0|slack|rule=errors'"
                 " and next_attempt_at > now() + interval '59 minutes'"),
           3);

  section("groups: a due row brings its pending mates, not another group");
  pg::outbox_store outbox{url, notify::fixed_routing(routing)};
  CHECK(outbox.claim(10, 60).empty());  // nothing due: every row waits for its group
  pqxx::nontransaction{db}.exec(
      "update notifications set next_attempt_at = now()"
      " where incident_id = '" +
      b + "'");
  auto got = outbox.claim(10, 60);
  CHECK_EQ(got.size(), size_t{3});
  std::vector<std::string> incidents;
  for (const auto& n : got) {
    incidents.push_back(n.incident_id);
    CHECK_EQ(n.group_key, "0|slack|rule=errors");
    CHECK_EQ(n.attempt, 1u);
  }
  for (const auto& id : {a, b, c})
    CHECK(std::find(incidents.begin(), incidents.end(), id) != incidents.end());
  CHECK(outbox.claim(10, 60).empty());  // leased, and d's group is not due

  section("groups: every member's attempt is recorded");
  std::vector<delivery_attempt> attempts;
  for (const auto& n : got) {
    delivery_attempt att;
    att.notification_id = n.id;
    att.attempt = n.attempt;
    att.started_ms = at;
    att.latency_ms = 12;
    att.status_code = 200;
    att.outcome = delivery_outcome::delivered;
    attempts.push_back(att);
  }
  outbox.record(attempts, 0);
  CHECK_EQ(count(db,
                 "select count(*) from notifications where status = 'delivered'"
                 " and group_key = '0|slack|rule=errors' and attempts = 1"),
           3);
  CHECK_EQ(count(db,
                 "select count(*) from notification_attempts a join notifications n"
                 " on n.id = a.notification_id where n.group_key = '0|slack|rule=errors'"),
           3);
  CHECK_EQ(scalar(db, "select status from notifications where incident_id = '" + d + "'"),
           "pending");
}

}  // namespace rtmon::pg_test
