// rtmon::pg::processing_store (and the outbox's shared pacing, pacing_checks.cpp) against a real
// PostgreSQL: the test stack's server (TEST_PG_PORT, as test/integration/conftest.py), in a
// database of its own, created fresh, migrated with this
// build's migrations and dropped at the end, so it never disturbs the other tests.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "system/pg/migrations.hpp"
#include "system/pg/processing_store.hpp"
#include "test/pg/checks.hpp"

using namespace rtmon;
using namespace rtmon::pg_test;

namespace {

constexpr int64_t t0 = 1700000000123;  // 2023-11-14 22:13:20.123 UTC: not a whole second

const char* id_a = "01900000-0000-7000-8000-00000000000a";
const char* id_b = "01900000-0000-7000-8000-00000000000b";
const char* id_c = "01900000-0000-7000-8000-00000000000c";
const char* id_d = "01900000-0000-7000-8000-00000000000d";
const char* id_e = "01900000-0000-7000-8000-00000000000e";

incident_record record(const std::string& id, const std::string& fingerprint,
                       const std::string& service, incident_status status, int64_t opened) {
  incident_record r;
  r.id = id;
  r.fingerprint = fingerprint;
  r.rule = "error_rate_high";
  r.service = service;
  r.severity = "warning";
  r.status = status;
  r.summary = "error rate above 5% on " + service;
  // Canonical jsonb text, so the round trip is textually exact.
  r.labels = R"({"team": "db", "runbook": "https://wiki/x"})";
  r.group = R"({"host": "h1"})";
  r.last_value = 0.1 + 0.2;  // not representable in few digits: checks full precision
  r.breach_count = 1;
  r.opened_ms = opened;
  r.last_seen_ms = opened;
  r.last_seq = 0;
  return r;
}

timeline_entry entry(const incident_record& r, uint32_t seq, const std::string& kind,
                     incident_status from, incident_status to, int64_t at) {
  timeline_entry e;
  e.transition.seq = seq;
  e.transition.kind = kind;
  e.transition.from = from;
  e.transition.to = to;
  e.transition.at_ms = at;
  e.transition.actor = "rtmon";
  e.transition.detail = "value 0.3 > 0.05";
  e.transition.value = r.last_value;
  e.transition.notify = true;
  e.message = "{\"id\": \"" + r.id + "\", \"seq\": " + std::to_string(seq) + ", \"kind\": \"" +
              kind + "\"}";
  return e;
}

// Appends a change that moves `r` on by one timeline entry (r.last_seq becomes its seq).
void step(std::vector<incident_change>& out, incident_record& r, const std::string& kind,
          incident_status to, int64_t at) {
  auto from = r.status;
  r.status = to;
  r.last_seq += 1;
  out.push_back({r, {entry(r, r.last_seq, kind, from, to, at)}, {}});
}

void check_same(const incident_record& got, const incident_record& want) {
  CHECK_EQ(got.id, want.id);
  CHECK_EQ(got.fingerprint, want.fingerprint);
  CHECK_EQ(got.rule, want.rule);
  CHECK_EQ(got.service, want.service);
  CHECK_EQ(got.severity, want.severity);
  CHECK_EQ(got.status, want.status);
  CHECK_EQ(got.summary, want.summary);
  CHECK_EQ(got.labels, want.labels);
  CHECK_EQ(got.group, want.group);
  CHECK_EQ(got.last_value, want.last_value);
  CHECK_EQ(got.breach_count, want.breach_count);
  CHECK_EQ(got.opened_ms, want.opened_ms);
  CHECK_EQ(got.last_seen_ms, want.last_seen_ms);
  CHECK_EQ(got.acknowledged_ms, want.acknowledged_ms);
  CHECK_EQ(got.resolved_ms, want.resolved_ms);
  CHECK_EQ(got.silenced_until_ms, want.silenced_until_ms);
  CHECK_EQ(got.flapping, want.flapping);
  CHECK_EQ(got.last_seq, want.last_seq);
}

void test_incidents(pg::processing_store& store, pqxx::connection& db) {
  section("incident insert, then update by id");
  auto a = record(id_a, "fp-a", "checkout", incident_status::pending, t0);
  a.last_seen_ms = t0 + 333;
  {
    std::vector<incident_change> cs;
    step(cs, a, "pending", incident_status::pending, t0);
    store.apply(cs);
  }
  CHECK_EQ(scalar(db, "select status from incidents where id = '" + std::string{id_a} + "'"),
           "pending");
  CHECK_EQ(scalar(db, "select opened_at = '2023-11-14 22:13:20.123+00' from incidents"), "t");
  CHECK_EQ(scalar(db, "select last_seen_at = '2023-11-14 22:13:20.456+00' from incidents"), "t");
  CHECK_EQ(scalar(db,
                  "select acknowledged_at is null and resolved_at is null and silenced_until "
                  "is null from incidents"),
           "t");
  CHECK_EQ(scalar(db, "select group_labels->>'host' from incidents"), "h1");
  CHECK_EQ(count(db, "select count(*) from incident_events"), 1);
  CHECK_EQ(scalar(db,
                  "select at = '2023-11-14 22:13:20.123+00' and kind = 'pending' and "
                  "from_status = 'pending' and to_status = 'pending' and notify and "
                  "published_at is null and message->>'kind' = 'pending' "
                  "from incident_events"),
           "t");

  std::vector<incident_change> triggered;
  a.breach_count = 3;
  a.last_seen_ms = t0 + 60000;
  step(triggered, a, "triggered", incident_status::triggered, t0 + 60000);
  store.apply(triggered);
  CHECK_EQ(scalar(db, "select status || ' ' || breach_count || ' ' || last_seq from incidents"),
           "triggered 3 2");
  CHECK_EQ(count(db, "select count(*) from incidents"), 1);

  section("timeline idempotency: the same (id, seq) twice is one row");
  store.apply(triggered);
  CHECK_EQ(count(db, "select count(*) from incident_events"), 2);
  {
    // The same seq with other content does not overwrite the stored entry either.
    auto replay = triggered;
    replay[0].entries[0].transition.detail = "changed";
    store.apply(replay);
    CHECK_EQ(scalar(db, "select detail from incident_events where seq = 2"), "value 0.3 > 0.05");
  }

  section("several changes of one incident in one call apply in order");
  {
    std::vector<incident_change> cs;
    a.acknowledged_ms = t0 + 120001;
    step(cs, a, "acknowledged", incident_status::acknowledged, t0 + 120001);
    cs.back().entries[0].transition.actor = "alice";
    a.silenced_until_ms = t0 + 3600000;
    step(cs, a, "silenced", incident_status::acknowledged, t0 + 120002);
    cs.back().entries[0].transition.notify = false;
    a.breach_count = 5;  // a repeat breach: row only, no entry
    a.last_value = 0.42;
    cs.push_back({a, {}, {}});
    store.apply(cs);
  }
  CHECK_EQ(scalar(db,
                  "select status || ' ' || breach_count || ' ' || last_seq || ' ' || "
                  "last_value from incidents"),
           "acknowledged 5 4 0.42");
  CHECK_EQ(scalar(db,
                  "select acknowledged_at = '2023-11-14 22:15:20.124+00' and "
                  "silenced_until = '2023-11-14 23:13:20.123+00' from incidents"),
           "t");
  CHECK_EQ(count(db, "select count(*) from incident_events"), 4);
  CHECK_EQ(scalar(db,
                  "select string_agg(kind || ':' || actor || ':' || notify, ',' order by seq) "
                  "from incident_events"),
           "pending:rtmon:true,triggered:rtmon:true,acknowledged:alice:true,silenced:rtmon:false");

  section("a stale retry (older last_seq) does not roll the incident back");
  store.apply(triggered);
  CHECK_EQ(scalar(db, "select status || ' ' || last_seq from incidents"), "acknowledged 4");

  section("a second open incident for a fingerprint throws open_conflict, commits nothing");
  {
    auto b = record(id_b, "fp-b", "checkout", incident_status::pending, t0 + 1000);
    auto c = record(id_c, "fp-a", "checkout", incident_status::pending, t0 + 2000);
    std::vector<incident_change> cs;
    step(cs, b, "pending", incident_status::pending, t0 + 1000);
    step(cs, c, "pending", incident_status::pending, t0 + 2000);
    bool thrown = false;
    try {
      store.apply(cs);
    } catch (const pg::open_conflict& e) {
      thrown = true;
      CHECK_EQ(e.fingerprint(), "fp-a");
      CHECK_EQ(e.incident_id(), id_c);
      std::printf("   open_conflict: %s\n", e.what());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "   unexpected exception: %s\n", e.what());
    }
    CHECK(thrown);
    CHECK_EQ(count(db, "select count(*) from incidents"), 1);  // b was rolled back too
    CHECK_EQ(count(db, "select count(*) from incident_events"), 4);

    section("resolve, then a new incident of the same fingerprint, in one call");
    std::vector<incident_change> ok;
    a.resolved_ms = t0 + 180000;
    step(ok, a, "resolved", incident_status::resolved, t0 + 180000);
    b.last_seq = 0;  // the failed call never stored b's first entry
    c.status = incident_status::pending;
    c.last_seq = 0;
    c.opened_ms = c.last_seen_ms = t0 + 200000;
    step(ok, c, "pending", incident_status::pending, t0 + 200000);
    c.flapping = true;
    c.breach_count = 2;
    step(ok, c, "triggered", incident_status::triggered, t0 + 200500);
    step(ok, b, "pending", incident_status::pending, t0 + 1000);  // b again: now it commits
    store.apply(ok);  // the connection is usable again after the failed transaction
    CHECK_EQ(count(db, "select count(*) from incidents"), 3);
    CHECK_EQ(count(db, "select count(*) from incident_events"), 8);

    // More incidents: another service, and one opened earlier (restore returns oldest first).
    auto d = record(id_d, "fp-d", "checkout", incident_status::pending, t0 - 5000);
    d.severity = "critical";
    d.labels = "{}";
    d.group = "{}";
    d.last_value = -1e300;
    d.breach_count = 0;
    d.last_seen_ms = 0;  // never seen: NULL
    auto e = record(id_e, "fp-e", "payments", incident_status::triggered, t0);
    std::vector<incident_change> more;
    step(more, d, "pending", incident_status::pending, t0 - 5000);
    step(more, e, "triggered", incident_status::triggered, t0 + 100);
    store.apply(more);
    CHECK_EQ(scalar(db, "select last_seen_at is null from incidents where fingerprint = 'fp-d'"),
             "t");

    section("open_incidents: only open ones of the service, oldest first, fields exact");
    auto open = store.open_incidents("checkout");
    CHECK_EQ(open.size(), size_t{3});
    if (open.size() == 3) {
      check_same(open[0], d);
      check_same(open[1], b);
      check_same(open[2], c);
    }
    auto pay = store.open_incidents("payments");
    CHECK_EQ(pay.size(), size_t{1});
    if (pay.size() == 1) check_same(pay[0], e);
    CHECK(store.open_incidents("nobody").empty());

    section("latest_incident");
    incident_record got;
    CHECK(store.latest_incident("fp-a", got));
    check_same(got, c);
    // Resolved incidents are found too.
    std::vector<incident_change> resolve_c;
    c.resolved_ms = t0 + 300000;
    step(resolve_c, c, "resolved", incident_status::resolved, t0 + 300000);
    store.apply(resolve_c);
    CHECK(store.latest_incident("fp-a", got));
    check_same(got, c);
    got.id = "untouched";
    CHECK(!store.latest_incident("fp-none", got));
    CHECK_EQ(got.id, "untouched");
    CHECK_EQ(store.open_incidents("checkout").size(), size_t{2});
  }
}

void test_outbox(pg::processing_store& store, pqxx::connection& db) {
  section("unpublished / mark_published");
  auto all = store.unpublished(1000);
  int64_t total = count(db, "select count(*) from incident_events");
  CHECK_EQ(static_cast<int64_t>(all.size()), total);
  // Oldest first: d's pending (t0 - 5000) leads, a's pending (t0) follows.
  if (all.size() >= 2) {
    CHECK_EQ(all[0].incident_id, id_d);
    CHECK_EQ(all[0].seq, 1u);
    CHECK_EQ(all[0].fingerprint, "fp-d");
    CHECK_EQ(all[1].incident_id, id_a);
    CHECK_EQ(all[1].message,
             "{\"id\": \"" + std::string{id_a} + "\", \"seq\": 1, \"kind\": \"pending\"}");
  }
  {
    pqxx::nontransaction tx{db};
    auto ordered =
        tx.exec("select incident_id::text, seq from incident_events order by at, incident_id, seq");
    bool same = ordered.size() == all.size();
    for (size_t i = 0; same && i < all.size(); ++i)
      same = ordered[static_cast<int>(i)][0].as<std::string>() == all[i].incident_id &&
             ordered[static_cast<int>(i)][1].as<uint32_t>() == all[i].seq;
    CHECK(same);
  }
  // unpublished() claims what it returns: another publisher gets none of it while the lease
  // runs; once it ran out (simulated) the rows are claimable again.
  CHECK_EQ(store.unpublished(1000).size(), size_t{0});
  {
    pqxx::nontransaction tx{db};
    tx.exec("update incident_events set claimed_until = now() - interval '1 second'");
  }
  auto first3 = store.unpublished(3);
  CHECK_EQ(first3.size(), size_t{3});
  std::vector<std::pair<std::string, uint32_t>> keys;
  for (const auto& u : first3) keys.emplace_back(u.incident_id, u.seq);
  keys.emplace_back("01900000-0000-7000-8000-0000000000ff", 1);  // unknown: ignored
  store.mark_published(keys);
  store.mark_published({});
  CHECK_EQ(count(db, "select count(*) from incident_events where published_at is not null"), 3);
  auto rest = store.unpublished(1000);
  CHECK_EQ(rest.size(), all.size() - 3);
  if (!rest.empty()) {
    CHECK_EQ(rest[0].incident_id, all[3].incident_id);
    CHECK_EQ(rest[0].seq, all[3].seq);
  }
  auto first_at = scalar(db, "select max(published_at)::text from incident_events");
  store.mark_published(keys);  // again: the first published_at stays
  CHECK_EQ(scalar(db, "select max(published_at)::text from incident_events"), first_at);
  for (const auto& u : rest) keys.emplace_back(u.incident_id, u.seq);
  store.mark_published(keys);
  CHECK(store.unpublished(10).empty());
}

void test_jsonb_normalisation(pg::processing_store& store) {
  section("a message that is not canonical jsonb text comes back normalised");
  auto r = record("01900000-0000-7000-8000-000000000011", "fp-json", "json",
                  incident_status::pending, t0);
  std::vector<incident_change> cs;
  step(cs, r, "pending", incident_status::pending, t0);
  cs[0].entries[0].message = R"({"seq":1,"id":"x","v":1.50})";
  store.apply(cs);
  auto u = store.unpublished(10);
  CHECK_EQ(u.size(), size_t{1});
  if (!u.empty()) {
    std::printf("   stored %s, read back %s\n", cs[0].entries[0].message.c_str(),
                u[0].message.c_str());
    CHECK_EQ(u[0].message, R"({"v": 1.50, "id": "x", "seq": 1})");
  }
  store.mark_published({{r.id, 1}});
}

}  // namespace

namespace rtmon::pg_test {
void test_aggregates(pg::processing_store& store, pqxx::connection& db);
void test_pacing(const std::string& url);
void test_groups(const std::string& url, pqxx::connection& db);
}  // namespace rtmon::pg_test

int main() {
  const char* port_env = std::getenv("TEST_PG_PORT");
  std::string port = port_env && *port_env ? port_env : "55433";
  std::string base = "postgresql://rtmon:rtmon@127.0.0.1:" + port + "/";
  std::string dbname = "rtmon_pgtest_" + std::to_string(::getpid());
  std::string url = base + dbname;
  try {
    pqxx::connection admin{base + "rtmon"};
    pqxx::nontransaction{admin}.exec("drop database if exists " + dbname);
    pqxx::nontransaction{admin}.exec("create database " + dbname);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot create the test database at %s: %s\n", base.c_str(), e.what());
    return 2;
  }
  std::printf("database %s\n", url.c_str());
  bool crashed = false;
  try {
    auto report = pg::migrate(url);
    CHECK(report.current >= 2);
    CHECK_EQ(report.applied.size(), pg::embedded_migrations().size());
    pqxx::connection db{url};
    pg::processing_store store{url};
    test_incidents(store, db);
    test_outbox(store, db);
    test_jsonb_normalisation(store);
    test_aggregates(store, db);
    test_pacing(url);
    test_groups(url, db);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    crashed = true;
  }
  try {
    pqxx::connection admin{base + "rtmon"};
    pqxx::nontransaction{admin}.exec("drop database if exists " + dbname + " with (force)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: could not drop %s: %s\n", dbname.c_str(), e.what());
  }
  std::printf("%d checks, %d failed%s\n", checks, failures, crashed ? ", aborted" : "");
  return failures > 0 || crashed ? 1 : 0;
}
