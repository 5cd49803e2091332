// Bulk writes of raw rows into PostgreSQL (libpqxx, blocking: used only from the store actor's
// own thread). Rows are COPYed into session-local staging tables, then moved into the
// partitioned tables skipping event_ids already present, all in one transaction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "messages/batches.hpp"
#include "system/config.hpp"

#include <pqxx/connection>

namespace rtmon::pg {

struct write_stats {
  uint64_t staged = 0;    // rows handed in
  uint64_t inserted = 0;  // rows new to the raw tables
  uint64_t dead = 0;      // dead letters recorded
};

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

  std::string url_;
  store_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace rtmon::pg
