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
  event_id text, ts timestamptz, service text, host text, level text, message text, attrs jsonb
) on commit delete rows;
create temp table if not exists stage_metrics (
  event_id text, ts timestamptz, service text, name text, value double precision, tags jsonb
) on commit delete rows;
create temp table if not exists stage_events (
  event_id text, ts timestamptz, service text, type text, attrs jsonb
) on commit delete rows;
)sql";

// Moves staged rows into a raw table. An event_id already stored within the dedup horizon (any
// ts) or with the same ts (any age) is skipped; so is a repeat within the batch.
std::string move_sql(const std::string& table, const std::string& cols, const std::string& key,
                     int horizon_hours) {
  std::string match;
  std::string distinct;
  for (auto k : {std::string{"event_id"}, key}) {
    if (k.empty()) continue;
    match += (match.empty() ? "" : " and ") + ("t." + k + " = s." + k);
    distinct += (distinct.empty() ? "" : ", ") + ("s." + k);
  }
  return "with ins as (insert into " + table + " (" + cols + ") select distinct on (" + distinct +
         ") " + cols + " from stage_" + table + " s where not exists (select 1 from " + table +
         " t where " + match + " and t.ts >= now() - interval '" + std::to_string(horizon_hours) +
         " hours') on conflict do nothing returning 1) select count(*) from ins";
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

write_stats writer::write(const std::vector<store_batch_ptr>& batches) {
  write_stats stats;
  try {
    auto& conn = connection();
    pqxx::work tx{conn};
    size_t logs = 0, metrics = 0, events = 0;
    for (const auto& b : batches) {
      logs += b->logs.size();
      metrics += b->metrics.size();
      events += b->events.size();
    }
    auto h = settings_.dedup_horizon_hours;
    if (logs > 0) {
      pqxx::stream_to s{tx, "stage_logs",
                        std::vector<std::string>{"event_id", "ts", "service", "host", "level",
                                                 "message", "attrs"}};
      for (const auto& b : batches)
        for (const auto& r : b->logs)
          s << std::make_tuple(r.event_id, r.ts, r.service, null_if_empty(r.host), r.level,
                               r.message, r.attrs);
      s.complete();
      static const auto sql =
          move_sql("logs", "event_id, ts, service, host, level, message, attrs", "", h);
      stats.inserted += tx.exec1(sql)[0].as<uint64_t>();
    }
    if (metrics > 0) {
      pqxx::stream_to s{
          tx, "stage_metrics",
          std::vector<std::string>{"event_id", "ts", "service", "name", "value", "tags"}};
      for (const auto& b : batches)
        for (const auto& r : b->metrics)
          s << std::make_tuple(r.event_id, r.ts, r.service, r.name, r.value, r.tags);
      s.complete();
      static const auto sql =
          move_sql("metrics", "event_id, ts, service, name, value, tags", "name", h);
      stats.inserted += tx.exec1(sql)[0].as<uint64_t>();
    }
    if (events > 0) {
      pqxx::stream_to s{tx, "stage_events",
                        std::vector<std::string>{"event_id", "ts", "service", "type", "attrs"}};
      for (const auto& b : batches)
        for (const auto& r : b->events)
          s << std::make_tuple(r.event_id, r.ts, r.service, r.type, r.attrs);
      s.complete();
      static const auto sql = move_sql("events", "event_id, ts, service, type, attrs", "", h);
      stats.inserted += tx.exec1(sql)[0].as<uint64_t>();
    }
    for (const auto& b : batches)
      for (const auto& d : b->dead) {
        tx.exec_prepared("dead_letter", d.topic, d.partition, d.offset, d.error, d.payload);
        ++stats.dead;
      }
    tx.commit();
    stats.staged = logs + metrics + events;
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
