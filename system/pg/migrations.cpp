#include "system/pg/migrations.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

namespace rtmon::pg {

namespace {

// Arbitrary but fixed: every rtmon process takes the same lock.
constexpr int64_t migration_lock_key = 0x72746d6f6e;  // "rtmon"

}  // namespace

namespace {

std::string label(const migration& m) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%03d_", m.version);
  return buf + std::string{m.name};
}

}  // namespace

std::string checksum(const std::string& sql) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bit
  for (unsigned char c : sql) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

migrate_report migrate(const std::string& url, const std::vector<migration>& all) {
  pqxx::connection conn{url};
  migrate_report report;
  pqxx::nontransaction{conn}.exec("select pg_advisory_lock(" + std::to_string(migration_lock_key) +
                                  ")");
  // Released explicitly below, and by Postgres when the session ends on any error.
  try {
    {
      pqxx::work tx{conn};
      tx.exec("set local client_min_messages = warning");
      tx.exec(
          "create table if not exists schema_migrations ("
          " version integer primary key, name text not null, checksum text not null,"
          " applied_at timestamptz not null default now())");
      tx.commit();
    }
    std::map<int, std::string> applied;
    {
      pqxx::read_transaction tx{conn};
      for (const auto& row : tx.exec("select version, checksum from schema_migrations"))
        applied[row[0].as<int>()] = row[1].as<std::string>();
    }
    int highest_known = all.empty() ? 0 : all.back().version;
    if (!applied.empty() && applied.rbegin()->first > highest_known)
      throw std::runtime_error(
          "database schema is at version " + std::to_string(applied.rbegin()->first) +
          ", newer than this rtmon build knows (" + std::to_string(highest_known) + ")");
    for (const auto& m : all) {
      auto sum = checksum(m.sql);
      if (auto i = applied.find(m.version); i != applied.end()) {
        if (i->second != sum)
          throw std::runtime_error("migration " + label(m) + " was applied with checksum " +
                                   i->second + " but this build has " + sum +
                                   ": applied migrations must never be edited");
        continue;
      }
      spdlog::info("migrate: applying {}", label(m));
      pqxx::work tx{conn};
      tx.exec(m.sql);
      tx.exec_params("insert into schema_migrations (version, name, checksum) values ($1, $2, $3)",
                     m.version, std::string{m.name}, sum);
      tx.commit();
      report.applied.push_back(m.version);
    }
    report.current = highest_known;
  } catch (...) {
    try {
      pqxx::nontransaction{conn}.exec("select pg_advisory_unlock_all()");
    } catch (...) {
      // The session ends with the connection; Postgres releases the lock then.
    }
    throw;
  }
  pqxx::nontransaction{conn}.exec("select pg_advisory_unlock_all()");
  return report;
}

}  // namespace rtmon::pg
