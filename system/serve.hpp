#pragma once

#include "system/config.hpp"

namespace rtmon {

/// `rtmon serve`: runs the roles of this process until SIGINT/SIGTERM, then shuts down in
/// order (stop accepting, finish acknowledged work, flush Kafka, leave the group, stop actors).
int serve(config& cfg);

/// `rtmon migrate`: applies pending migrations and reports them.
int migrate_command(const config& cfg);

/// Waits (bounded) until Postgres answers, then migrates. Throws with the last error on timeout.
void migrate_with_retry(const std::string& url, int timeout_s);

}  // namespace rtmon
