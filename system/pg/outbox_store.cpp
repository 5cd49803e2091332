#include "system/pg/outbox_store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "system/pg/session.hpp"

namespace rtmon::pg {

namespace {

// The silence (if any) that mutes the row's notification now: rtmon_silence_mutes
// (sql/005), the same matcher the API's "silenced" flag uses.
constexpr const char* silence_of =
    "(select s.id::text from silences s where s.deleted_at is null"
    " and rtmon_silence_mutes(s, i, n.event) order by s.created_at limit 1)";

// Due rows, plus the pending mates of the grouped ones (sql/007): a group goes out when its
// first row comes due, with every member that is there by then, even those whose own wait has
// not run out. At most $1 due rows and $1 mates; mates beyond that go with a later claim.
const std::string claim_sql =
    "with due as (select id, group_key from notifications where status = 'pending'"
    "  and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())"
    "  and channel = any($3::text[])"
    "  order by next_attempt_at limit $1::bigint for update skip locked),"
    " mates as (select m.id from notifications m where m.status = 'pending'"
    "  and m.group_key in (select d.group_key from due d where d.group_key is not null)"
    "  and (m.claimed_until is null or m.claimed_until < now())"
    "  and m.id not in (select d.id from due d)"
    "  order by m.id limit $1::bigint for update skip locked),"
    " c as (select id from due union all select id from mates)"
    " update notifications n set claimed_until = now() + $2::integer * interval '1 second'"
    " from c, incidents i where n.id = c.id and i.id = n.incident_id"
    " returning n.id, n.idem_key, n.incident_id::text, n.seq, n.channel, n.kind, n.event,"
    "  n.payload::text, n.attempts + 1, (extract(epoch from n.created_at) * 1000)::bigint,"
    "  case when n.event = 'renotify' and i.status <> 'triggered'"
    "   then 'the incident is ' || i.status || ': re-notification dropped'"
    "   else coalesce('silenced by ' || " +
    std::string{silence_of} + ", '') end, coalesce(n.group_key, '')";

const std::string insert_attempt_sql =
    "insert into notification_attempts (notification_id, attempt, started_at, latency_ms,"
    " status_code, outcome, retry_after_ms, error) values ($1::bigint, $2::integer,"
    " 'epoch'::timestamptz + $3::bigint * interval '1 millisecond', $4::float8,"
    " nullif($5::integer, 0), $6, nullif($7::bigint, -1), nullif($8, ''))"
    " on conflict (notification_id, attempt) do nothing";

const std::string finish_attempt_sql =
    "update notifications set attempts = greatest(attempts, $2::integer), status = $3,"
    " next_attempt_at = case when $4::bigint > 0"
    "  then 'epoch'::timestamptz + $4::bigint * interval '1 millisecond' else next_attempt_at end,"
    " claimed_until = null, done_at = case when $3 <> 'pending' then now() end,"
    " last_error = nullif($5, ''), ambiguous = ambiguous + $6::integer"
    " where id = $1::bigint";

const std::string give_back_sql =
    "update notifications set claimed_until = null,"
    " next_attempt_at = 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'"
    " where id = $1::bigint and status = 'pending'";

// Triggered incidents, their latest timeline message, and per channel when it was last told
// and how many re-notifications it had.
constexpr const char* renotify_candidates_sql =
    "select i.id::text, i.fingerprint, i.rule, i.service, i.severity, i.labels::text,"
    " i.group_labels::text, i.last_seq,"
    " (select e.message::text from incident_events e where e.incident_id = i.id"
    "   order by e.seq desc limit 1),"
    " coalesce((select json_object_agg(z.channel, json_build_array("
    "   (extract(epoch from z.last) * 1000)::bigint, z.renotified))"
    "   from (select channel, max(created_at) as last,"
    "   count(*) filter (where event = 'renotify') as renotified from notifications n"
    "   where n.incident_id = i.id group by channel) z), '{}')::text"
    " from incidents i where i.status = 'triggered' order by i.opened_at limit 1000";

constexpr const char* insert_renotify_sql =
    "insert into notifications (idem_key, incident_id, seq, channel, kind, event, payload)"
    " values ($1, $2::uuid, $3::integer, $4, $5, 'renotify', $6::jsonb)"
    " on conflict (idem_key) do nothing";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string status_after(const delivery_attempt& a, int64_t next_attempt_ms) {
  switch (a.outcome) {
    case delivery_outcome::delivered:
      return "delivered";
    case delivery_outcome::failed:
      return "failed";
    case delivery_outcome::muted:
      return "muted";
    case delivery_outcome::retry:
    case delivery_outcome::ambiguous:
      return next_attempt_ms > 0 ? "pending" : "failed";  // 0: the dispatcher gave up
  }
  return "failed";
}

}  // namespace

outbox_store::outbox_store(std::string url, notify::routing_source_ptr routing)
    : url_(std::move(url)), routing_(std::move(routing)) {}

outbox_store::~outbox_store() = default;

void outbox_store::reset() { conn_.reset(); }

pqxx::connection& outbox_store::connection() {
  if (!conn_ || !conn_->is_open()) {
    conn_ = open_session(url_);
    conn_->prepare("claim", claim_sql);
    conn_->prepare("insert_attempt", insert_attempt_sql);
    conn_->prepare("finish_attempt", finish_attempt_sql);
    conn_->prepare("give_back", give_back_sql);
    conn_->prepare("insert_renotify", insert_renotify_sql);
  }
  return *conn_;
}

notify::routing_ptr outbox_store::channels_in_force() const {
  auto routing = routing_ ? routing_->current() : nullptr;
  return routing && !routing->empty() ? routing : nullptr;
}

std::vector<notification> outbox_store::claim(size_t limit, int lease_s) {
  std::vector<notification> out;
  auto routing = channels_in_force();
  if (!routing) return out;
  std::string channels = "{";
  for (const auto& kv : routing->channels) {
    if (channels.size() > 1) channels += ',';
    channels += '"' + kv.first + '"';  // names are config keys: no quotes or backslashes
  }
  channels += '}';
  guarded(*this, [&] {
    pqxx::work tx{connection()};
    for (const auto& r :
         tx.exec_prepared("claim", static_cast<int64_t>(limit), lease_s, channels)) {
      notification n;
      n.id = r[0].as<int64_t>();
      n.idem_key = r[1].as<std::string>();
      n.incident_id = r[2].as<std::string>();
      n.seq = r[3].as<uint32_t>();
      n.channel = r[4].as<std::string>();
      parse_channel_kind(r[5].as<std::string>(), n.kind);
      n.event = r[6].as<std::string>();
      n.payload = r[7].as<std::string>();
      n.attempt = r[8].as<uint32_t>();
      n.created_ms = r[9].as<int64_t>();
      n.mute = r[10].as<std::string>();
      n.group_key = r[11].as<std::string>();
      out.push_back(std::move(n));
    }
    tx.commit();
  });
  return out;
}

void outbox_store::record(const std::vector<delivery_attempt>& attempts, int64_t next_attempt_ms) {
  guarded(*this, [&] {
    pqxx::work tx{connection()};
    for (const auto& a : attempts) {
      if (!a.attempted) {
        tx.exec_prepared("give_back", a.notification_id,
                         next_attempt_ms > 0 ? next_attempt_ms : now_ms());
        continue;
      }
      tx.exec_prepared("insert_attempt", a.notification_id, a.attempt, a.started_ms, a.latency_ms,
                       a.status_code, to_string(a.outcome), a.retry_after_ms, a.error);
      tx.exec_prepared("finish_attempt", a.notification_id, a.attempt,
                       status_after(a, next_attempt_ms), next_attempt_ms, a.error,
                       a.outcome == delivery_outcome::ambiguous ? 1 : 0);
    }
    tx.commit();
  });
}

int64_t outbox_store::reserve_slot(const std::string& channel, int64_t interval_ms, int burst,
                                   int64_t max_wait_ms) {
  return guarded(*this, [&] {
    pqxx::work tx{connection()};
    tx.exec_params(
        "insert into notify_pacing (channel, tat) values ($1, 'epoch') "
        "on conflict (channel) do nothing",
        channel);
    // The row lock orders the processes; the server's clock is everyone's clock.
    auto row = tx.exec_params1(
        "select (extract(epoch from tat) * 1000)::float8, "
        "  (extract(epoch from clock_timestamp()) * 1000)::float8 "
        "from notify_pacing where channel = $1 for update",
        channel);
    auto tat = row[0].as<double>(), now = row[1].as<double>();
    // GCRA: the new tat is max(tat, now) + T; the message may go at new tat - B*T.
    auto next = std::max(tat, now) + static_cast<double>(interval_ms);
    auto wait = static_cast<int64_t>(
        std::ceil(std::max(0.0, next - static_cast<double>(interval_ms) * burst - now)));
    if (wait <= max_wait_ms)
      tx.exec_params(
          "update notify_pacing set tat = to_timestamp($2::float8 / 1000) "
          "where channel = $1",
          channel, next);
    tx.commit();
    return wait;
  });
}

void outbox_store::hold_slots(const std::string& channel, int64_t for_ms, int64_t interval_ms,
                              int burst) {
  guarded(*this, [&] {
    pqxx::nontransaction tx{connection()};
    // The next reservation's wait is new tat - B*T - now >= hold end: tat >= end + (B-1)*T.
    tx.exec_params(
        "insert into notify_pacing as p (channel, tat) "
        "values ($1, clock_timestamp() + ($2::bigint + ($4::bigint - 1) * $3::bigint) "
        "  * interval '1 millisecond') "
        "on conflict (channel) do update set tat = greatest(p.tat, excluded.tat)",
        channel, for_ms, interval_ms, burst);
  });
}

size_t outbox_store::renotify() {
  auto routing = channels_in_force();
  if (!routing) return 0;
  size_t inserted = 0;
  guarded(*this, [&] {
    pqxx::work tx{connection()};
    auto now = now_ms();
    for (const auto& row : tx.exec(renotify_candidates_sql)) {
      incident_record r;
      r.id = row[0].as<std::string>();
      r.fingerprint = row[1].as<std::string>();
      r.rule = row[2].as<std::string>();
      r.service = row[3].as<std::string>();
      r.severity = row[4].as<std::string>();
      r.labels = row[5].as<std::string>();
      r.group = row[6].as<std::string>();
      r.last_seq = row[7].as<uint32_t>();
      if (row[8].is_null()) continue;
      auto message = row[8].as<std::string>();
      auto told = boost::json::parse(row[9].as<std::string>()).as_object();
      for (const auto& [ch, every] : routing->renotify(r)) {
        auto t = told.find(ch->name);
        if (t == told.end()) continue;  // never told on this channel: nothing to repeat
        const auto& pair = t->value().as_array();
        auto last = pair.at(0).to_number<int64_t>();
        auto count = pair.at(1).to_number<int64_t>();
        if (now - last < every) continue;
        auto key = r.id + ":" + std::to_string(r.last_seq) + ":" + ch->name + ":r" +
                   std::to_string(count + 1);
        inserted += tx.exec_prepared("insert_renotify", key, r.id, r.last_seq, ch->name,
                                     to_string(ch->kind), message)
                        .affected_rows();
      }
    }
    if (inserted > 0) tx.exec("select pg_notify('rtmon_outbox', '')");
    tx.commit();
  });
  return inserted;
}

}  // namespace rtmon::pg
