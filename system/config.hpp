// rtmon's configuration: a CAF config (INI file under config/, CLI flags) with environment
// overrides for what differs per deployment, validated after parsing because CAF silently
// ignores mistyped INI values (caf-0.17.md §9).
#pragma once

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

namespace rtmon {

struct kafka_settings {
  std::string brokers = "127.0.0.1:19092";
  std::string topic_prefix = "rtmon.";
  std::string group = "rtmon";  // processing pipeline (windows, rules, incidents)
  std::string raw_group;        // raw-row store pipeline; "" = group + "-store"
  int partitions = 4;           // for topics rtmon creates itself
  int replication_factor = 1;
  int linger_ms = 20;  // why not less: config/rtmon.ini
  int message_timeout_ms =
      10000;  // < HTTP response deadline: a 503 comes before the client gives up
  int session_timeout_ms = 10000;
  size_t max_inflight_bytes = 64u << 20;  // produce budget; beyond it ingest answers 503
  // Extra librdkafka properties ("key=value"), e.g. security.protocol=SASL_SSL; applied last,
  // so they can override rtmon's defaults (which the README documents).
  std::vector<std::string> properties;
  std::string topic(const std::string& suffix) const { return topic_prefix + suffix; }
  std::string store_group() const { return raw_group.empty() ? group + "-store" : raw_group; }
};

struct ingest_limits {
  size_t max_body_bytes = 1u << 20;
  size_t max_items = 1000;
  size_t max_depth = 10;
  size_t max_string_bytes = 32768;
  size_t max_fields = 128;
  int max_past_hours = 24 * 7;  // event timestamps older than this are refused
  int max_future_minutes = 60;  // ... and newer than this
  std::vector<std::string> metric_tag_fields{"status_code", "status", "code", "port", "pid"};
};

struct store_settings {
  int writers = 2;                      // store actors, each with its own Postgres connection
  size_t max_rows_per_request = 20000;  // a partition merges queued batches up to this
  int retention_days = 7;
  int partitions_ahead_days = 3;
  int dedup_horizon_hours = 24;  // how far back an event_id is looked up across partitions
  // Nice value of the store's threads and (when verifiably on this host) its Postgres backends:
  // under CPU pressure the alerting path and ingest go first (system/pg/backend_priority.hpp).
  int nice = 10;
};

struct consumer_settings {
  size_t max_batch_records = 2000;
  size_t max_inflight_batches = 4;  // per partition; beyond it the partition is paused
  size_t queued_max_kbytes = 65536;
  // The store pipeline is not on the alerting path: it waits this long for fuller fetches and
  // batches, so Postgres gets fewer, bigger transactions and Kafka fewer fetches at low rates.
  int store_linger_ms = 250;
  // The processing pipeline (alerts) fetches with these: a fetch returns once this many bytes
  // are ready or after this wait, whichever comes first.
  int process_fetch_wait_ms = 100;
  int process_fetch_min_bytes = 1;
};

struct processing_settings {
  // Relative to the configuration file's directory (env RTMON_RULES_FILE: to the working one).
  std::string rules_file = "rules.json";
  // Sliding windows the rules can use, each of 60 buckets (1m: 1 s buckets).
  std::vector<std::string> windows{"1m", "5m", "15m"};
  int allowed_lateness_ms = 5000;
  std::vector<int> aggregate_widths_s{10, 60};       // aggregates table bucket widths
  std::vector<std::string> series_tags{"endpoint"};  // metric tags that make a series
  size_t max_series = 1000;  // rule windows per service and signal (cardinality cap)
  // After a restart or a rebalance, partitions are re-read this far back before the committed
  // offset (state only) so windows are exact again: the longest window plus the lateness.
  bool warmup = true;
};

struct notify_settings {
  // Channels and routes (config/notifications.json), relative to the configuration file's
  // directory (env RTMON_NOTIFICATIONS_FILE: to the working one). Empty: no notifications.
  std::string file = "notifications.json";
  // Links in messages point here (env RTMON_UI_URL); default: http://<http.addr>.
  std::string ui_base_url;
  int senders = 2;  // concurrent deliveries (each blocks a sender thread for one attempt)
};

struct api_settings {
  // The built UI served at / (relative to the configuration file's directory).
  std::string ui_dir = "../ui/dist";
  int db_connections = 4;           // API query threads, each with its own connection
  int command_timeout_ms = 5000;    // an action answers 202 when not committed by then
  int statement_timeout_ms = 5000;  // every API query is bounded
};

class config : public caf::actor_system_config {
 public:
  kafka_settings kafka;
  ingest_limits limits;
  store_settings store;
  consumer_settings consumer;
  processing_settings processing;
  notify_settings notify;
  api_settings api;
  std::string database_url = "postgresql://rtmon:rtmon@127.0.0.1:55432/rtmon";
  std::string http_addr = "127.0.0.1:4000";
  int http_threads = 2;
  size_t http_max_connections = 4096;
  // process: windows, rules, incidents, notifications; store: raw rows into Postgres. Each
  // reads the raw topics in its own consumer group (system/kafka/consumer.hpp).
  std::vector<std::string> roles{"ingest", "process", "store", "api"};
  bool migrate_on_start = true;
  std::string log_level = "info";

  config();

  /// Parses CLI arguments (without the program name and subcommand) and the INI file, then
  /// applies environment overrides and validates. Returns a readable error or an empty string.
  std::string load(std::vector<std::string> args);

  bool has_role(const std::string& r) const;
  /// Host and port of http_addr.
  std::string http_host() const;
  uint16_t http_port() const;
  /// The configuration without secrets (the database password is masked).
  std::string describe() const;
  /// The window spans in ms (validated by load()).
  std::vector<int64_t> window_spans_ms() const;
  /// How far before the committed offset a newly owned partition is re-read (0: no warm-up).
  int64_t warmup_ms() const;
};

/// Masks the password of a postgresql:// URL for logs.
std::string redact_url(const std::string& url);

}  // namespace rtmon
