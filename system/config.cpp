#include "system/config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <caf/config_option_adder.hpp>

#include "actors/rule/rules.hpp"

namespace rtmon {

config::config() {
  opt_group{custom_options_, "rtmon"}
      .add(roles, "roles", "roles of this process: ingest, process, store, api")
      .add(migrate_on_start, "migrate-on-start", "apply pending migrations when serving")
      .add(log_level, "log-level", "trace, debug, info, warn, error");
  opt_group{custom_options_, "kafka"}
      .add(kafka.brokers, "brokers", "bootstrap servers (env RTMON_KAFKA_BROKERS)")
      .add(kafka.topic_prefix, "topic-prefix", "prefix of rtmon's topics")
      .add(kafka.group, "group", "consumer group of the processing pipeline")
      .add(kafka.raw_group, "store-group", "consumer group of the raw-row store (group-store)")
      .add(kafka.partitions, "partitions", "partitions of topics rtmon creates")
      .add(kafka.replication_factor, "replication-factor", "replication of topics rtmon creates")
      .add(kafka.linger_ms, "linger-ms", "producer linger.ms")
      .add(kafka.message_timeout_ms, "message-timeout-ms", "producer message.timeout.ms")
      .add(kafka.session_timeout_ms, "session-timeout-ms", "consumer session.timeout.ms")
      .add(kafka.max_inflight_bytes, "max-inflight-bytes", "bytes produced but not yet acked")
      .add(kafka.properties, "properties", "extra librdkafka properties, \"key=value\"");
  opt_group{custom_options_, "database"}.add(database_url, "url",
                                             "libpq URL (env RTMON_DATABASE_URL)");
  opt_group{custom_options_, "http"}
      .add(http_addr, "addr", "listen address host:port (env RTMON_HTTP_ADDR)")
      .add(http_threads, "threads", "I/O threads of the HTTP/WebSocket edge")
      .add(http_max_connections, "max-connections",
           "open connections beyond which new ones are closed");
  opt_group{custom_options_, "limits"}
      .add(limits.max_body_bytes, "max-body-bytes", "largest request body")
      .add(limits.max_items, "max-items", "most items per request")
      .add(limits.max_depth, "max-depth", "deepest JSON nesting")
      .add(limits.max_string_bytes, "max-string-bytes", "longest JSON string or key")
      .add(limits.max_fields, "max-fields", "most fields per item")
      .add(limits.max_past_hours, "max-past-hours", "oldest accepted event time")
      .add(limits.max_future_minutes, "max-future-minutes", "newest accepted event time")
      .add(limits.metric_tag_fields, "metric-tag-fields", "numeric metric fields kept as tags");
  opt_group{custom_options_, "store"}
      .add(store.writers, "writers", "store actors, each with its own connection")
      .add(store.max_rows_per_request, "max-rows-per-request", "rows per store transaction")
      .add(store.retention_days, "retention-days", "days of raw rows kept")
      .add(store.partitions_ahead_days, "partitions-ahead-days", "day partitions created ahead")
      .add(store.dedup_horizon_hours, "dedup-horizon-hours", "event_id lookup horizon")
      .add(store.nice, "nice", "CPU nice value of the store's threads and local backends (0: off)");
  opt_group{custom_options_, "consumer"}
      .add(consumer.max_batch_records, "max-batch-records", "records per partition batch")
      .add(consumer.max_inflight_batches, "max-inflight-batches", "batches per partition")
      .add(consumer.queued_max_kbytes, "queued-max-kbytes", "consumer prefetch budget")
      .add(consumer.store_linger_ms, "store-linger-ms", "store pipeline: fetch and batch wait")
      .add(consumer.process_fetch_wait_ms, "process-fetch-wait-ms", "processing: fetch wait")
      .add(consumer.process_fetch_min_bytes, "process-fetch-min-bytes", "processing: fetch size");
  opt_group{custom_options_, "processing"}
      .add(processing.rules_file, "rules-file", "alert rules (env RTMON_RULES_FILE)")
      .add(processing.windows, "windows", "sliding window spans, e.g. [\"1m\", \"5m\"]")
      .add(processing.allowed_lateness_ms, "allowed-lateness-ms", "event-time lateness")
      .add(processing.aggregate_widths_s, "aggregate-widths", "aggregate bucket widths (s)")
      .add(processing.series_tags, "series-tags", "metric tags that make their own series")
      .add(processing.max_series, "max-series", "rule windows per service and signal")
      .add(processing.warmup, "warmup", "replay the longest window after a restart");
  opt_group{custom_options_, "notify"}
      .add(notify.file, "file", "channels and routes (env RTMON_NOTIFICATIONS_FILE)")
      .add(notify.ui_base_url, "ui-url", "the UI's address for links (env RTMON_UI_URL)")
      .add(notify.senders, "senders", "concurrent notification deliveries");
  opt_group{custom_options_, "api"}
      .add(api.ui_dir, "ui-dir", "the built UI served at /")
      .add(api.db_connections, "db-connections", "API query threads and connections")
      .add(api.command_timeout_ms, "command-timeout-ms", "actions answer 202 after this")
      .add(api.statement_timeout_ms, "statement-timeout-ms", "bound on every API query");
}

namespace {

bool env(const char* name, std::string& out) {
  if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
    out = v;
    return true;
  }
  return false;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in{s};
  for (std::string part; std::getline(in, part, sep);)
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

std::string config::load(std::vector<std::string> args) {
  // config/rtmon.ini relative to the working directory unless --config-file says otherwise.
  const char* ini = "config/rtmon.ini";
  std::string config_file = ini;
  for (const auto& a : args)
    if (a.rfind("--config-file=", 0) == 0) config_file = a.substr(14);
  if (auto err = parse(std::move(args), ini)) return render(err);
  // Files named by the configuration are relative to its directory.
  auto slash = config_file.rfind('/');
  auto config_dir = slash == std::string::npos ? std::string{"."} : config_file.substr(0, slash);
  for (auto* file : {&processing.rules_file, &notify.file, &api.ui_dir})
    if (!file->empty() && (*file)[0] != '/') *file = config_dir + "/" + *file;
  env("RTMON_KAFKA_BROKERS", kafka.brokers);
  env("RTMON_DATABASE_URL", database_url);
  env("RTMON_HTTP_ADDR", http_addr);
  env("RTMON_LOG_LEVEL", log_level);
  std::string v;
  if (env("RTMON_ROLES", v)) roles = split(v, ',');
  env("RTMON_RULES_FILE", processing.rules_file);
  env("RTMON_NOTIFICATIONS_FILE", notify.file);
  env("RTMON_UI_URL", notify.ui_base_url);
  env("RTMON_UI_DIR", api.ui_dir);
  if (notify.ui_base_url.empty()) notify.ui_base_url = "http://" + http_addr;
  if (env("RTMON_DATABASE_URL_FILE", v)) {  // secrets may come from a file
    std::ifstream f{v};
    if (!std::getline(f, database_url)) return "cannot read RTMON_DATABASE_URL_FILE " + v;
  }
  // Validation: what CAF would have silently defaulted, and what makes no sense.
  if (kafka.brokers.empty()) return "kafka.brokers must not be empty";
  if (kafka.partitions < 1 || kafka.partitions > 1024) return "kafka.partitions must be in 1..1024";
  if (kafka.linger_ms < 0 || kafka.linger_ms > 1000) return "kafka.linger-ms must be in 0..1000";
  if (kafka.message_timeout_ms < 1000) return "kafka.message-timeout-ms must be at least 1000";
  if (kafka.max_inflight_bytes < limits.max_body_bytes * 2)
    return "kafka.max-inflight-bytes must be at least twice limits.max-body-bytes";
  if (http_port() == 0)
    return "http.addr must be host:port with a port in 1..65535, got '" + http_addr + "'";
  if (http_threads < 1 || http_threads > 64) return "http.threads must be in 1..64";
  if (limits.max_items < 1 || limits.max_depth < 3 || limits.max_string_bytes < 64)
    return "limits are too small to accept any item";
  if (store.retention_days < 1) return "store.retention-days must be at least 1";
  if (store.writers < 1 || store.writers > 16) return "store.writers must be in 1..16";
  if (limits.max_past_hours > store.retention_days * 24)
    return "limits.max-past-hours must not exceed store.retention-days * 24";
  for (const auto& r : roles)
    if (r != "ingest" && r != "process" && r != "store" && r != "api")
      return "unknown role '" + r + "' (use ingest, process, store, api)";
  if (roles.empty()) return "rtmon.roles must name at least one role";
  if (processing.windows.empty()) return "processing.windows must name at least one window";
  for (const auto& w : processing.windows) {
    int64_t ms = 0;
    if (!parse_duration(w, ms) || ms < 60000 || ms % 60000 != 0)
      return "processing.windows: '" + w + "' is not a whole number of minutes";
  }
  if (processing.allowed_lateness_ms < 0 || processing.allowed_lateness_ms > 600000)
    return "processing.allowed-lateness-ms must be in 0..600000";
  for (auto w : processing.aggregate_widths_s)
    if (w < 1 || w > 86400) return "processing.aggregate-widths must be in 1..86400 seconds";
  if (notify.senders < 1 || notify.senders > 32) return "notify.senders must be in 1..32";
  if (api.db_connections < 1 || api.db_connections > 64)
    return "api.db-connections must be in 1..64";
  if (api.command_timeout_ms < 100 || api.command_timeout_ms > 60000)
    return "api.command-timeout-ms must be in 100..60000";
  if (api.statement_timeout_ms < 100 || api.statement_timeout_ms > 600000)
    return "api.statement-timeout-ms must be in 100..600000";
  return {};
}

bool config::has_role(const std::string& r) const {
  for (const auto& x : roles)
    if (x == r) return true;
  return false;
}

std::string config::http_host() const {
  auto i = http_addr.rfind(':');
  return i == std::string::npos ? http_addr : http_addr.substr(0, i);
}

uint16_t config::http_port() const {
  auto i = http_addr.rfind(':');
  if (i == std::string::npos) return 0;
  char* end = nullptr;
  auto p = std::strtol(http_addr.c_str() + i + 1, &end, 10);
  if (*end != '\0' || p < 1 || p > 65535) return 0;
  return static_cast<uint16_t>(p);
}

std::vector<int64_t> config::window_spans_ms() const {
  std::vector<int64_t> out;
  for (const auto& w : processing.windows) {
    int64_t ms = 0;
    if (parse_duration(w, ms)) out.push_back(ms);
  }
  return out;
}

int64_t config::warmup_ms() const {
  if (!processing.warmup) return 0;
  int64_t longest = 0;
  for (auto ms : window_spans_ms()) longest = std::max(longest, ms);
  return longest + processing.allowed_lateness_ms;
}

std::string redact_url(const std::string& url) {
  // postgresql://user:password@host/db -> postgresql://user:***@host/db
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string config::describe() const {
  std::ostringstream out;
  out << "roles=";
  for (size_t i = 0; i < roles.size(); ++i) out << (i ? "," : "") << roles[i];
  out << " http=" << http_addr << " kafka=" << kafka.brokers << " topics=" << kafka.topic_prefix
      << "{logs,metrics,events} group=" << kafka.group << "," << kafka.store_group()
      << " database=" << redact_url(database_url);
  return out.str();
}

}  // namespace rtmon
