#include "system/pg/processing_store.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <tuple>

#include <pqxx/pqxx>

#include "system/pg/channels.hpp"
#include "system/pg/session.hpp"

namespace rtmon::pg {

namespace {

// Milliseconds <-> timestamptz, exact: epoch + n * 1 ms is integer microsecond arithmetic in
// Postgres (to_timestamp(n / 1000.0) goes through a float of seconds). 0 stands for NULL where
// the column may be NULL; reading back, extract(epoch) is numeric since PG 14, so no rounding.
std::string ts(int n) {
  return "('epoch'::timestamptz + $" + std::to_string(n) + "::bigint * interval '1 millisecond')";
}
std::string ts_or_null(int n) {
  return "('epoch'::timestamptz + nullif($" + std::to_string(n) +
         "::bigint, 0) * interval '1 millisecond')";
}
std::string ms(const std::string& col) {
  return "coalesce((extract(epoch from " + col + ") * 1000)::bigint, 0)";
}

// Identity columns (id, fingerprint, rule, service, opened_at) are never rewritten. The WHERE
// keeps a stale retry (an older last_seq) from rolling an incident back; equal last_seq passes,
// since a repeat breach updates counts without adding a timeline entry.
const std::string upsert_incident_sql =
    "insert into incidents as i (id, fingerprint, rule, service, severity, status, summary,"
    " labels, group_labels, last_value, breach_count, opened_at, last_seen_at, acknowledged_at,"
    " resolved_at, silenced_until, flapping, last_seq) values ($1::uuid, $2, $3, $4, $5, $6, $7,"
    " $8::jsonb, $9::jsonb, $10::float8, $11::bigint, " +
    ts(12) + ", " + ts_or_null(13) + ", " + ts_or_null(14) + ", " + ts_or_null(15) + ", " +
    ts_or_null(16) +
    ", $17::boolean, $18::integer)"
    " on conflict (id) do update set severity = excluded.severity, status = excluded.status,"
    " summary = excluded.summary, labels = excluded.labels, group_labels = excluded.group_labels,"
    " last_value = excluded.last_value, breach_count = excluded.breach_count,"
    " last_seen_at = excluded.last_seen_at, acknowledged_at = excluded.acknowledged_at,"
    " resolved_at = excluded.resolved_at, silenced_until = excluded.silenced_until,"
    " flapping = excluded.flapping, last_seq = excluded.last_seq, updated_at = now()"
    " where i.last_seq <= excluded.last_seq";

const std::string insert_event_sql =
    "insert into incident_events (incident_id, seq, at, kind, from_status, to_status, actor,"
    " detail, value, notify, message) values ($1::uuid, $2::integer, " +
    ts(3) +
    ", $4, $5, $6, $7, $8, $9::float8, $10::boolean, $11::jsonb)"
    " on conflict (incident_id, seq) do nothing";

const std::string insert_notification_sql =
    "insert into notifications (idem_key, incident_id, seq, channel, kind, event, payload,"
    " next_attempt_at, group_key) values ($1, $2::uuid, $3::integer, $4, $5, $6, $7::jsonb,"
    " now() + $8::bigint * interval '1 millisecond', nullif($9, ''))"
    " on conflict (idem_key) do nothing";

const std::string command_done_sql =
    "update commands set status = 'done', seq = $2::integer, done_at = now()"
    " where id = $1::uuid and status = 'pending'";
const std::string command_rejected_sql =
    "update commands set status = 'rejected', error = $2, done_at = now()"
    " where id = $1::uuid and status = 'pending'";

// Columns of an incident_record, in the order read_record() expects.
const std::string record_cols =
    "id::text, fingerprint, rule, service, severity, status, summary, labels::text,"
    " group_labels::text, coalesce(last_value, 0), breach_count, " +
    ms("opened_at") + ", " + ms("last_seen_at") + ", " + ms("acknowledged_at") + ", " +
    ms("resolved_at") + ", " + ms("silenced_until") + ", flapping, last_seq";

const std::string open_incidents_sql =
    "select " + record_cols +
    " from incidents where service = $1"
    " and status in ('pending', 'triggered', 'acknowledged') order by opened_at, id";

// uuid v7 ids grow with time: the tie-break among incidents opened in the same millisecond.
const std::string latest_incident_sql = "select " + record_cols +
                                        " from incidents where fingerprint = $1"
                                        " order by opened_at desc, id desc limit 1";

// Claims (leases for 30 s) the oldest unpublished rows no other publisher holds: two hub
// processes never produce the same row at once (skip locked + the lease), and a row whose
// claimer died is taken over once the lease ran out.
const std::string unpublished_sql =
    "with c as (select incident_id, seq from incident_events"
    "  where published_at is null and (claimed_until is null or claimed_until < now())"
    "  order by at, incident_id, seq limit $1::bigint for update skip locked)"
    " update incident_events e set claimed_until = now() + interval '30 seconds'"
    " from c, incidents i where e.incident_id = c.incident_id and e.seq = c.seq"
    "  and i.id = e.incident_id"
    " returning e.incident_id::text, e.seq, i.fingerprint, e.message::text,"
    "  (extract(epoch from e.at) * 1000)::bigint";

const std::string mark_published_sql =
    "update incident_events e set published_at = now()"
    " from unnest($1::uuid[], $2::integer[]) as k (incident_id, seq)"
    " where e.incident_id = k.incident_id and e.seq = k.seq and e.published_at is null";

// Aggregates arrive by COPY into this session-local table, emptied at commit.
constexpr const char* create_stage_aggregates = R"sql(
create temp table if not exists stage_aggregates (
  ord integer, service text, signal text, name text, series jsonb, bucket_ms bigint,
  width_s integer, count bigint, sum double precision, min double precision,
  max double precision, p50 double precision, p95 double precision, p99 double precision,
  errors bigint, detail jsonb) on commit delete rows
)sql";

const std::vector<std::string> stage_aggregates_cols{
    "ord", "service", "signal", "name", "series", "bucket_ms", "width_s", "count",
    "sum", "min",     "max",    "p50",  "p95",    "p99",       "errors",  "detail"};

// DISTINCT ON keeps the last row (highest ord) per key: ON CONFLICT cannot update one row twice
// in a statement. Coalescing here rather than in C++ lets jsonb equality decide what is the same
// series ('{"a":1}' and '{"a": 1}' are one key). Rows go in key order, so two processes
// upserting overlapping buckets lock them in the same order and cannot deadlock. A bucket that
// did not change is not rewritten: no dead tuple, no WAL, and updated_at keeps meaning "changed".
const std::string move_aggregates_sql =
    "insert into aggregates as a (service, signal, name, series, bucket, width_s, count, sum,"
    " min, max, p50, p95, p99, errors, detail)"
    " select distinct on (service, signal, name, series, width_s, bucket_ms) service, signal,"
    " name, series, 'epoch'::timestamptz + bucket_ms * interval '1 millisecond', width_s, count,"
    " sum, min, max, p50, p95, p99, errors, detail from stage_aggregates"
    " order by service, signal, name, series, width_s, bucket_ms, ord desc"
    " on conflict (service, signal, name, series, width_s, bucket) do update set"
    " count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,"
    " p50 = excluded.p50, p95 = excluded.p95, p99 = excluded.p99, errors = excluded.errors,"
    " detail = excluded.detail, updated_at = now()"
    " where (a.count, a.sum, a.min, a.max, a.p50, a.p95, a.p99, a.errors, a.detail)"
    " is distinct from (excluded.count, excluded.sum, excluded.min, excluded.max, excluded.p50,"
    " excluded.p95, excluded.p99, excluded.errors, excluded.detail)";

incident_record read_record(const pqxx::row& r) {
  incident_record x;
  x.id = r[0].as<std::string>();
  x.fingerprint = r[1].as<std::string>();
  x.rule = r[2].as<std::string>();
  x.service = r[3].as<std::string>();
  x.severity = r[4].as<std::string>();
  auto status = r[5].as<std::string>();
  if (!parse_incident_status(status, x.status))
    throw std::runtime_error("incident " + x.id + " has unknown status '" + status + "'");
  x.summary = r[6].as<std::string>();
  x.labels = r[7].as<std::string>();
  x.group = r[8].as<std::string>();
  x.last_value = r[9].as<double>();
  x.breach_count = r[10].as<uint64_t>();
  x.opened_ms = r[11].as<int64_t>();
  x.last_seen_ms = r[12].as<int64_t>();
  x.acknowledged_ms = r[13].as<int64_t>();
  x.resolved_ms = r[14].as<int64_t>();
  x.silenced_until_ms = r[15].as<int64_t>();
  x.flapping = r[16].as<bool>();
  x.last_seq = r[17].as<uint32_t>();
  return x;
}

// A Postgres array literal of the elements, each double-quoted.
template <class T, class F>
std::string array_literal(const std::vector<T>& xs, F element) {
  std::string out = "{";
  for (const auto& x : xs) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : element(x)) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// A Postgres error on one line ("ERROR:  duplicate key ...\nDETAIL:  Key ...\n").
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}

}  // namespace

open_conflict::open_conflict(std::string fingerprint, std::string incident_id,
                             const std::string& what)
    : std::runtime_error("incident " + incident_id + ": fingerprint '" + fingerprint +
                         "' already has an open incident (" + what + ")"),
      fingerprint_(std::move(fingerprint)),
      incident_id_(std::move(incident_id)) {}

processing_store::processing_store(std::string url) : url_(std::move(url)) {}

processing_store::~processing_store() = default;

void processing_store::reset() { conn_.reset(); }

pqxx::connection& processing_store::connection() {
  if (!conn_ || !conn_->is_open()) {
    conn_ = open_session(url_);
    pqxx::nontransaction tx{*conn_};
    tx.exec(create_stage_aggregates);
    conn_->prepare("upsert_incident", upsert_incident_sql);
    conn_->prepare("insert_event", insert_event_sql);
    conn_->prepare("open_incidents", open_incidents_sql);
    conn_->prepare("latest_incident", latest_incident_sql);
    conn_->prepare("unpublished", unpublished_sql);
    conn_->prepare("mark_published", mark_published_sql);
    conn_->prepare("move_aggregates", move_aggregates_sql);
    conn_->prepare("insert_notification", insert_notification_sql);
    conn_->prepare("command_done", command_done_sql);
    conn_->prepare("command_rejected", command_rejected_sql);
  }
  return *conn_;
}

void processing_store::apply(const std::vector<incident_change>& changes) {
  if (changes.empty()) return;
  // One routing for the whole transaction, even if SIGHUP replaces it meanwhile.
  auto routing = routing_ ? routing_->current() : nullptr;
  guarded(*this, [&] {
    pqxx::work tx{connection()};
    bool locked = false, notified = false;
    for (const auto& ch : changes) {
      const auto& r = ch.incident;
      try {
        tx.exec_prepared("upsert_incident", r.id, r.fingerprint, r.rule, r.service, r.severity,
                         to_string(r.status), r.summary, r.labels, r.group, r.last_value,
                         r.breach_count, r.opened_ms, r.last_seen_ms, r.acknowledged_ms,
                         r.resolved_ms, r.silenced_until_ms, r.flapping, r.last_seq);
      } catch (const pqxx::unique_violation& e) {
        // libpqxx 6 does not expose the constraint name; Postgres's message names the index.
        if (std::strstr(e.what(), "incidents_open_fingerprint") != nullptr)
          throw open_conflict(r.fingerprint, r.id, one_line(e.what()));
        throw;
      }
      if (!ch.entries.empty() && !locked) {
        // stream_id in commit order (system/pg/channels.hpp): taken as late as possible, so
        // the lock is held only for the rest of this transaction.
        tx.exec_params("select pg_advisory_xact_lock($1::bigint)", stream_lock_key);
        locked = true;
      }
      for (const auto& e : ch.entries) {
        const auto& t = e.transition;
        tx.exec_prepared("insert_event", r.id, t.seq, t.at_ms, t.kind, to_string(t.from),
                         to_string(t.to), t.actor, t.detail, t.value, t.notify, e.message);
        if (!routing) continue;
        // The outbox: one row per routed channel, in the transition's own transaction.
        for (const auto& hit : routing->route_transition(r, t)) {
          tx.exec_prepared("insert_notification",
                           r.id + ":" + std::to_string(t.seq) + ":" + hit.target->name, r.id, t.seq,
                           hit.target->name, to_string(hit.target->kind), t.kind, e.message,
                           hit.delay_ms, hit.group_key);
          notified = true;
        }
      }
      if (!ch.command_id.empty()) {
        tx.exec_prepared("command_done", ch.command_id,
                         ch.entries.empty() ? r.last_seq : ch.entries.back().transition.seq);
        tx.exec_params("select pg_notify($1, $2)", commands_channel, ch.command_id);
      }
    }
    if (locked) tx.exec_params("select pg_notify($1, '')", stream_channel);
    if (notified) tx.exec_params("select pg_notify($1, '')", outbox_channel);
    tx.commit();
  });
}

std::string processing_store::command_status(const std::string& id) {
  return guarded(*this, [&] {
    pqxx::read_transaction tx{connection()};
    auto res = tx.exec_params("select status from commands where id = $1::uuid", id);
    return res.empty() ? std::string{} : res[0][0].as<std::string>();
  });
}

void processing_store::reject_command(const std::string& id, const std::string& why) {
  guarded(*this, [&] {
    pqxx::work tx{connection()};
    tx.exec_prepared("command_rejected", id, why);
    tx.exec_params("select pg_notify($1, $2)", commands_channel, id);
    tx.commit();
  });
}

std::vector<incident_record> processing_store::open_incidents(const std::string& service) {
  return guarded(*this, [&] {
    pqxx::read_transaction tx{connection()};
    std::vector<incident_record> out;
    for (const auto& row : tx.exec_prepared("open_incidents", service))
      out.push_back(read_record(row));
    return out;
  });
}

bool processing_store::latest_incident(const std::string& fingerprint, incident_record& out) {
  return guarded(*this, [&] {
    pqxx::read_transaction tx{connection()};
    auto res = tx.exec_prepared("latest_incident", fingerprint);
    if (res.empty()) return false;
    out = read_record(res[0]);
    return true;
  });
}

std::vector<unpublished_entry> processing_store::unpublished(size_t limit) {
  return guarded(*this, [&] {
    pqxx::work tx{connection()};
    std::vector<std::tuple<int64_t, std::string, uint32_t, unpublished_entry>> claimed;
    for (const auto& row : tx.exec_prepared("unpublished", limit)) {
      unpublished_entry x;
      x.incident_id = row[0].as<std::string>();
      x.seq = row[1].as<uint32_t>();
      x.fingerprint = row[2].as<std::string>();
      x.message = row[3].as<std::string>();
      claimed.emplace_back(row[4].as<int64_t>(), x.incident_id, x.seq, std::move(x));
    }
    tx.commit();
    // UPDATE ... RETURNING has no order: publish oldest first, each incident in seq order.
    std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
      return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
             std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b));
    });
    std::vector<unpublished_entry> out;
    for (auto& c : claimed) out.push_back(std::move(std::get<3>(c)));
    return out;
  });
}

void processing_store::mark_published(const std::vector<std::pair<std::string, uint32_t>>& keys) {
  if (keys.empty()) return;
  guarded(*this, [&] {
    pqxx::work tx{connection()};
    tx.exec_prepared("mark_published", array_literal(keys, [](const auto& k) { return k.first; }),
                     array_literal(keys, [](const auto& k) { return std::to_string(k.second); }));
    tx.commit();
  });
}

void processing_store::upsert_aggregates(const std::vector<aggregate_row>& rows) {
  if (rows.empty()) return;
  guarded(*this, [&] {
    pqxx::work tx{connection()};
    {
      pqxx::stream_to s{tx, "stage_aggregates", stage_aggregates_cols};
      int ord = 0;
      for (const auto& r : rows) {
        // Only metrics have values; NULL elsewhere so charts show gaps rather than zeros.
        auto v = [&](double x) {
          return r.signal == "metric" ? std::optional<double>{x} : std::nullopt;
        };
        s << std::make_tuple(ord++, r.service, r.signal, r.name, r.series, r.bucket_ms, r.width_s,
                             r.count, v(r.sum), v(r.min), v(r.max), v(r.p50), v(r.p95), v(r.p99),
                             r.errors, r.detail);
      }
      s.complete();
    }
    tx.exec_prepared("move_aggregates");
    tx.commit();
  });
}

}  // namespace rtmon::pg
