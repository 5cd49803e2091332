#pragma once

#include "actors/aggregator/aggregator.hpp"
#include "system/config.hpp"

namespace rtmon {

/// `rtmon serve`: runs the roles of this process until SIGINT/SIGTERM, then shuts down in
/// order (stop accepting, finish acknowledged work, flush Kafka, leave the group, stop actors).
int serve(config& cfg);

/// Reads and validates the rules file; null with `problem` naming every bad rule and field.
rule_set_ptr load_rules(const config& cfg, std::string& problem);

/// The processing tree's options from the configuration.
processing_options processing_options_of(const config& cfg);

/// `rtmon migrate`: applies pending migrations and reports them.
int migrate_command(const config& cfg);

/// Waits (bounded) until Postgres answers, then migrates. Throws with the last error on timeout.
void migrate_with_retry(const std::string& url, int timeout_s);

}  // namespace rtmon
