#include "system/pg/writer.hpp"

#include <optional>
#include <tuple>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "system/pg/backend_priority.hpp"
#include "system/pg/session.hpp"

namespace rtmon::pg {

namespace {

// Staging tables live as long as the session and empty themselves at commit.
constexpr const char* create_staging = R"sql(
create temp table if not exists stage_logs (
  event_id text, ts timestamptz, service text, host text, level text, message text, attrs jsonb) on commit delete rows;
create temp table if not exists stage_metrics (
  event_id text, ts timestamptz, service text, name text, value double precision, tags jsonb) on commit delete rows;
create temp table if not exists stage_events (
  event_id text, ts timestamptz, service text, type text, attrs jsonb
) on commit delete rows;
)sql";

// Moves staged rows into a raw table. Rows with ids rtmon assigned only need the primary key
// (a replay repeats the same ts). Rows with client ids skip an event_id already stored within
// the dedup horizon (any ts) or with the same ts (any age), and repeats within the batch.
std::string move_sql(const std::string& table, const std::string& cols, const std::string& key,
                     int horizon_hours) {
  std::string match = "t.event_id = s.event_id";
  std::string distinct = "s.event_id";
  if (!key.empty()) {
    match += " and t." + key + " = s." + key;
    distinct += ", s." + key;
  }
  return "with ins as (insert into " + table + " (" + cols + ") select distinct on (" + distinct +
         ") " + cols + " from stage_" + table + " s where not exists (select 1 from " + table +
         " t where " + match + " and t.ts >= now() - interval '" + std::to_string(horizon_hours) +
         " hours') on conflict do nothing returning 1) " + "select count(*) from ins";
}

std::optional<std::string> null_if_empty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

writer::writer(std::string url, store_settings settings)
    : url_(std::move(url)), settings_(settings) {}

writer::~writer() = default;

void writer::reset() { conn_.reset(); }

pqxx::connection& writer::connection() {
  if (!conn_ || !conn_->is_open()) {
    prepared_.clear();
    // The session's statement timeout (30 s) fails a hung statement well within the
    // partitions' 60 s request timeout; they retry.
    conn_ = open_session(url_);
    // Bulk work yields the CPU to alerting and ingest (the store drains from Kafka later).
    // The thread is lowered in write(), not here: maintain() also runs on the main thread,
    // whose later threads would inherit the nice value.
    lower_backend_priority(*conn_, settings_.nice);
    pqxx::nontransaction tx{*conn_};
    tx.exec(create_staging);
    conn_->prepare("dead_letter",
                   "insert into dead_letters (topic, kafka_partition, kafka_offset, error, payload)"
                   " values ($1, $2, $3, $4, $5) on conflict do nothing");
  }
  return *conn_;
}

namespace {

// Prepared multi-row INSERT ... ON CONFLICT DO NOTHING of `rows` rows with these column
// expressions ($n placeholders are numbered per row), e.g. "nullif($4, '')".
std::string multi_insert_sql(const std::string& table, const std::string& cols,
                             const std::vector<std::string>& exprs, size_t rows) {
  std::string sql = "insert into " + table + " (" + cols + ") values ";
  size_t n = 0;
  for (size_t r = 0; r < rows; ++r) {
    sql += r ? ",(" : "(";
    for (size_t c = 0; c < exprs.size(); ++c) {
      auto e = exprs[c];
      e.replace(e.find('?'), 1, "$" + std::to_string(++n));
      sql += (c ? "," : "") + e;
    }
    sql += ")";
  }
  return sql + " on conflict do nothing";
}

}  // namespace

struct table_spec {
  std::string name;
  std::vector<std::string> cols;
  std::vector<std::string> exprs;  // per column, '?' stands for its parameter
  std::string key;                 // dedup key besides event_id ("" or e.g. "name")
};

template <class Row, class ToTuple, class ToParams>
uint64_t writer::write_rows(pqxx::work& tx, const table_spec& t,
                            const std::vector<store_batch_ptr>& batches,
                            std::vector<Row> store_batch::*rows, ToTuple to_tuple,
                            ToParams to_params, write_stats& stats) {
  uint64_t inserted = 0;
  size_t probed = 0, direct = 0;
  for (const auto& b : batches)
    for (const auto& r : (*b).*rows) (r.probe ? probed : direct) += 1;
  stats.staged += probed + direct;
  std::string cols;
  for (const auto& c : t.cols) cols += (cols.empty() ? "" : ", ") + c;
  auto copy_rows = [&](pqxx::transaction_base& into, const std::string& table, bool probe) {
    pqxx::stream_to s{into, table, t.cols};
    for (const auto& b : batches)
      for (const auto& r : (*b).*rows)
        if (r.probe == probe) s << to_tuple(r);
    s.complete();
  };
  if (direct > 0) {
    // rtmon-assigned ids: COPY straight into the table, as fast as it gets. Only a replay (after
    // a crash or a rebalance) can collide, on the primary key; then this batch goes through
    // INSERT ... ON CONFLICT DO NOTHING instead.
    bool copied = false;
    try {
      pqxx::subtransaction sub{tx, "direct_copy"};
      copy_rows(sub, t.name, false);
      sub.commit();
      copied = true;
      inserted += direct;
    } catch (const pqxx::unique_violation&) {
      // rolled back to the savepoint; fall through
    }
    if (!copied) {
      ++stats.replays;
      inserted += insert_rows(tx, t, cols, batches, rows, to_params);
    }
  }
  if (probed == 0) return inserted;
  // Client ids: stage, lock the ids (so a concurrent writer with the same id waits and then
  // sees it), then move what is not stored yet.
  copy_rows(tx, "stage_" + t.name, true);
  tx.exec(
      "select pg_advisory_xact_lock(hashtext(event_id)) from (select distinct event_id from "
      "stage_" +
      t.name + " order by 1) ids");
  return inserted +
         tx.exec1(move_sql(t.name, cols, t.key, settings_.dedup_horizon_hours))[0].as<uint64_t>();
}

template <class Row, class ToParams>
uint64_t writer::insert_rows(pqxx::work& tx, const table_spec& t, const std::string& cols,
                             const std::vector<store_batch_ptr>& batches,
                             std::vector<Row> store_batch::*rows, ToParams to_params) {
  std::vector<std::string> params;  // row-major
  for (const auto& b : batches)
    for (const auto& r : (*b).*rows)
      if (!r.probe) to_params(r, params);
  // In chunks of 1000, 100, 10 and 1 rows (four prepared statements per table).
  uint64_t inserted = 0;
  size_t ncols = t.cols.size(), done = 0, total = params.size() / ncols;
  for (size_t chunk : {1000, 100, 10, 1}) {
    auto name = t.name + "_insert_" + std::to_string(chunk);
    while (total - done >= chunk) {
      if (prepared_.insert(name).second)
        conn_->prepare(name, multi_insert_sql(t.name, cols, t.exprs, chunk));
      auto first = params.begin() + static_cast<std::ptrdiff_t>(done * ncols);
      auto r =
          tx.exec_prepared(name, pqxx::prepare::make_dynamic_params(
                                     first, first + static_cast<std::ptrdiff_t>(chunk * ncols)));
      inserted += r.affected_rows();
      done += chunk;
    }
  }
  return inserted;
}

namespace {}  // namespace

write_stats writer::write(const std::vector<store_batch_ptr>& batches) {
  // Only the store actor's own thread writes (once per thread is enough).
  thread_local bool lowered = false;
  if (!lowered) {
    lower_thread_priority(settings_.nice);
    lowered = true;
  }
  write_stats stats;
  try {
    auto& conn = connection();
    pqxx::work tx{conn};
    static const table_spec logs{"logs",
                                 {"event_id", "ts", "service", "host", "level", "message", "attrs"},
                                 {"?", "?", "?", "nullif(?, '')", "?", "?", "?"},
                                 ""};
    static const table_spec metrics{"metrics",
                                    {"event_id", "ts", "service", "name", "value", "tags"},
                                    {"?", "?", "?", "?", "?", "?"},
                                    "name"};
    static const table_spec events{
        "events", {"event_id", "ts", "service", "type", "attrs"}, {"?", "?", "?", "?", "?"}, ""};
    stats.inserted += write_rows(
        tx, logs, batches, &store_batch::logs,
        [](const log_row& r) {
          return std::make_tuple(r.event_id, r.ts, r.service, null_if_empty(r.host), r.level,
                                 r.message, r.attrs);
        },
        [](const log_row& r, std::vector<std::string>& p) {
          p.insert(p.end(), {r.event_id, r.ts, r.service, r.host, r.level, r.message, r.attrs});
        },
        stats);
    stats.inserted += write_rows(
        tx, metrics, batches, &store_batch::metrics,
        [](const metric_row& r) {
          return std::make_tuple(r.event_id, r.ts, r.service, r.name, r.value, r.tags);
        },
        [](const metric_row& r, std::vector<std::string>& p) {
          p.insert(p.end(),
                   {r.event_id, r.ts, r.service, r.name, pqxx::to_string(r.value), r.tags});
        },
        stats);
    stats.inserted += write_rows(
        tx, events, batches, &store_batch::events,
        [](const event_row& r) {
          return std::make_tuple(r.event_id, r.ts, r.service, r.type, r.attrs);
        },
        [](const event_row& r, std::vector<std::string>& p) {
          p.insert(p.end(), {r.event_id, r.ts, r.service, r.type, r.attrs});
        },
        stats);
    for (const auto& b : batches)
      for (const auto& d : b->dead) {
        tx.exec_prepared("dead_letter", d.topic, d.partition, d.offset, d.error, d.payload);
        ++stats.dead;
      }
    tx.commit();
  } catch (const pqxx::broken_connection&) {
    reset();
    throw;
  } catch (const pqxx::in_doubt_error&) {
    reset();
    throw;
  }
  return stats;
}

void writer::maintain() {
  auto& conn = connection();
  pqxx::work tx{conn};
  auto created = tx.exec1("select rtmon_ensure_partitions(1, " +
                          std::to_string(settings_.partitions_ahead_days) + ")")[0]
                     .as<int>();
  auto dropped =
      tx.exec1("select rtmon_drop_partitions(" + std::to_string(settings_.retention_days) + ")")[0]
          .as<int>();
  tx.commit();
  if (created > 0 || dropped > 0)
    spdlog::info("store: partitions created {}, dropped {}", created, dropped);
}

}  // namespace rtmon::pg
