#include "system/pg/writer.hpp"

#include <optional>
#include <tuple>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "system/pg/url.hpp"

namespace rtmon::pg {

namespace {

// Staging tables live as long as the session and empty themselves at commit.
constexpr const char* create_staging = R"sql(
create temp table if not exists stage_logs (
  event_id text, ts timestamptz, service text, host text, level text, message text, attrs jsonb,
  probe boolean
) on commit delete rows;
create temp table if not exists stage_metrics (
  event_id text, ts timestamptz, service text, name text, value double precision, tags jsonb,
  probe boolean
) on commit delete rows;
create temp table if not exists stage_events (
  event_id text, ts timestamptz, service text, type text, attrs jsonb, probe boolean
) on commit delete rows;
)sql";

// Moves staged rows into a raw table. Rows with ids rtmon assigned only need the primary key
// (a replay repeats the same ts). Rows with client ids skip an event_id already stored within
// the dedup horizon (any ts) or with the same ts (any age), and repeats within the batch.
std::string move_sql(const std::string& table, const std::string& cols, const std::string& key,
                     int horizon_hours, bool probe) {
  std::string head = "with ins as (insert into " + table + " (" + cols + ") select ";
  std::string tail = " on conflict do nothing returning 1) select count(*) from ins";
  if (!probe) return head + cols + " from stage_" + table + " s where not s.probe" + tail;
  std::string match = "t.event_id = s.event_id";
  std::string distinct = "s.event_id";
  if (!key.empty()) {
    match += " and t." + key + " = s." + key;
    distinct += ", s." + key;
  }
  return head + "distinct on (" + distinct + ") " + cols + " from stage_" + table +
         " s where s.probe and not exists (select 1 from " + table + " t where " + match +
         " and t.ts >= now() - interval '" + std::to_string(horizon_hours) + " hours')" + tail;
}

// Runs the fast statement, and the probing one only when the batch has client ids.
uint64_t move_rows(pqxx::work& tx, const std::string& table, const std::string& cols,
                   const std::string& key, int horizon_hours, size_t probed) {
  uint64_t n = tx.exec1(move_sql(table, cols, key, horizon_hours, false))[0].as<uint64_t>();
  if (probed > 0) n += tx.exec1(move_sql(table, cols, key, horizon_hours, true))[0].as<uint64_t>();
  return n;
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
    conn_ = std::make_unique<pqxx::connection>(with_connect_timeout(url_, 5));
    pqxx::nontransaction tx{*conn_};
    tx.exec("set client_min_messages = warning");
    tx.exec(create_staging);
    conn_->prepare("dead_letter",
                   "insert into dead_letters (topic, kafka_partition, kafka_offset, error, payload)"
                   " values ($1, $2, $3, $4, $5) on conflict do nothing");
  }
  return *conn_;
}

namespace {

// COPYs one kind of row from every batch into its staging table, then moves them.
template <class Row, class ToTuple>
uint64_t stage_and_move(pqxx::work& tx, const std::string& table,
                        const std::vector<std::string>& cols, const std::string& key,
                        int horizon_hours, const std::vector<store_batch_ptr>& batches,
                        std::vector<Row> store_batch::*rows, ToTuple to_tuple, size_t& staged) {
  size_t n = 0, probed = 0;
  for (const auto& b : batches)
    for (const auto& r : (*b).*rows) {
      ++n;
      probed += r.probe ? 1 : 0;
    }
  if (n == 0) return 0;
  auto with_probe = cols;
  with_probe.emplace_back("probe");
  pqxx::stream_to s{tx, "stage_" + table, with_probe};
  for (const auto& b : batches)
    for (const auto& r : (*b).*rows) s << to_tuple(r);
  s.complete();
  staged += n;
  std::string list;
  for (const auto& c : cols) list += (list.empty() ? "" : ", ") + c;
  return move_rows(tx, table, list, key, horizon_hours, probed);
}

}  // namespace

write_stats writer::write(const std::vector<store_batch_ptr>& batches) {
  write_stats stats;
  try {
    auto& conn = connection();
    pqxx::work tx{conn};
    auto h = settings_.dedup_horizon_hours;
    size_t staged = 0;
    stats.inserted += stage_and_move(
        tx, "logs", {"event_id", "ts", "service", "host", "level", "message", "attrs"}, "", h,
        batches, &store_batch::logs,
        [](const log_row& r) {
          return std::make_tuple(r.event_id, r.ts, r.service, null_if_empty(r.host), r.level,
                                 r.message, r.attrs, r.probe);
        },
        staged);
    stats.inserted += stage_and_move(
        tx, "metrics", {"event_id", "ts", "service", "name", "value", "tags"}, "name", h, batches,
        &store_batch::metrics,
        [](const metric_row& r) {
          return std::make_tuple(r.event_id, r.ts, r.service, r.name, r.value, r.tags, r.probe);
        },
        staged);
    stats.inserted += stage_and_move(
        tx, "events", {"event_id", "ts", "service", "type", "attrs"}, "", h, batches,
        &store_batch::events,
        [](const event_row& r) {
          return std::make_tuple(r.event_id, r.ts, r.service, r.type, r.attrs, r.probe);
        },
        staged);
    for (const auto& b : batches)
      for (const auto& d : b->dead) {
        tx.exec_prepared("dead_letter", d.topic, d.partition, d.offset, d.error, d.payload);
        ++stats.dead;
      }
    tx.commit();
    stats.staged = staged;
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
