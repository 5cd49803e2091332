// Bulk writes of raw rows into PostgreSQL (libpqxx, blocking: used only from the store actor's
// own thread), one transaction per call. Rows whose ids rtmon assigned are COPYed straight into
// the partitioned tables (a replay collides on the primary key; that batch then goes through
// prepared multi-row INSERT ... ON CONFLICT DO NOTHING). Rows with client ids are COPYed into
// session-local staging tables and moved skipping event_ids already stored, since a client
// retry may carry another ts.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "messages/batches.hpp"
#include "system/config.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

namespace rtmon::pg {

struct write_stats {
  uint64_t staged = 0;    // rows handed in
  uint64_t inserted = 0;  // rows new to the raw tables
  uint64_t dead = 0;      // dead letters recorded
  uint64_t replays = 0;   // direct COPYs that met rows already stored (replays) and fell back
};

struct table_spec;  // a raw table's columns (writer.cpp)

class writer {
 public:
  writer(std::string url, store_settings settings);
  ~writer();

  /// Writes all batches in one transaction. Throws on failure (nothing was committed, or the
  /// outcome is in doubt: a retry is safe because inserts are idempotent by event_id).
  write_stats write(const std::vector<store_batch_ptr>& batches);

  /// Creates the coming days' partitions and drops those past retention.
  void maintain();

  /// Drops the connection (after an error it is re-established on next use).
  void reset();

 private:
  pqxx::connection& connection();
  template <class Row, class ToTuple, class ToParams>
  uint64_t write_rows(pqxx::work& tx, const table_spec& t,
                      const std::vector<store_batch_ptr>& batches,
                      std::vector<Row> store_batch::*rows, ToTuple to_tuple, ToParams to_params,
                      write_stats& stats);
  template <class Row, class ToParams>
  uint64_t insert_rows(pqxx::work& tx, const table_spec& t, const std::string& cols,
                       const std::vector<store_batch_ptr>& batches,
                       std::vector<Row> store_batch::*rows, ToParams to_params);

  std::string url_;
  store_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
  std::set<std::string> prepared_;  // multi-row INSERTs prepared on conn_
};

}  // namespace rtmon::pg
