#include "system/serve.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/notify/notify_actors.hpp"
#include "actors/rule/rules.hpp"
#include "actors/shard/shard.hpp"
#include "actors/store/incident_store.hpp"
#include "actors/store/store.hpp"
#include "system/api/service.hpp"
#include "system/guardian.hpp"
#include "system/health.hpp"
#include "system/http/edge.hpp"
#include "system/http/server.hpp"
#include "system/kafka/consumer.hpp"
#include "system/kafka/producer.hpp"
#include "system/notify/send.hpp"
#include "system/pg/channels.hpp"
#include "system/pg/listener.hpp"
#include "system/pg/migrations.hpp"
#include "system/pg/processing_store.hpp"
#include "system/pg/writer.hpp"

namespace rtmon {

namespace {

using clock = std::chrono::steady_clock;

template <class F>
void with_retry(const char* what, int timeout_s, F&& f) {
  auto deadline = clock::now() + std::chrono::seconds{timeout_s};
  for (int attempt = 1;; ++attempt) {
    try {
      f();
      return;
    } catch (const std::exception& e) {
      if (clock::now() >= deadline) throw std::runtime_error(std::string{what} + ": " + e.what());
      if (attempt == 1 || attempt % 10 == 0)
        spdlog::warn("{}: {} (retrying for up to {} s)", what, e.what(), timeout_s);
      std::this_thread::sleep_for(std::chrono::milliseconds{500});
    }
  }
}

}  // namespace

void migrate_with_retry(const std::string& url, int timeout_s) {
  with_retry("migrate", timeout_s, [&] {
    auto report = pg::migrate(url);
    spdlog::info("migrate: schema at version {} ({} applied now)", report.current,
                 report.applied.size());
  });
}

int migrate_command(const config& cfg) {
  try {
    auto report = pg::migrate(cfg.database_url);
    for (auto v : report.applied) std::printf("applied %03d\n", v);
    std::printf("schema at version %d\n", report.current);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtmon migrate: %s\n", e.what());
    return 1;
  }
}

rule_set_ptr load_rules(const config& cfg, std::string& problem) {
  std::ifstream in{cfg.processing.rules_file};
  if (!in) {
    problem = "rules file " + cfg.processing.rules_file + ": cannot read it";
    return nullptr;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parse_rules(text.str(), cfg.window_spans_ms());
  if (!parsed.errors.empty()) {
    problem = "rules file " + cfg.processing.rules_file + ":";
    for (const auto& e : parsed.errors) problem += "\n  " + e;
    return nullptr;
  }
  auto set = std::make_shared<rule_set>();
  set->rules = std::move(parsed.rules);
  return set;
}

// The notifications file with the UI's address on every channel, logged without secrets.
// Throws std::runtime_error naming the file and the problem.
notify::routing_ptr load_notify_routing(const config& cfg) {
  auto loaded = notify::load_routing(cfg.notify.file);
  auto r = std::make_shared<notify::routing>(*loaded);
  for (auto& kv : r->channels) kv.second.ui_base_url = cfg.notify.ui_base_url;
  for (const auto& kv : r->channels) spdlog::info("notify: channel {}", kv.second.describe());
  for (const auto& d : r->disabled) spdlog::info("notify: channel {} (disabled)", d);
  return r;
}

processing_options processing_options_of(const config& cfg) {
  processing_options o;
  o.windows.specs.clear();
  for (auto ms : cfg.window_spans_ms()) o.windows.specs.push_back({ms, 60});
  o.windows.allowed_lateness_ms = cfg.processing.allowed_lateness_ms;
  o.windows.rollup.widths_s.assign(cfg.processing.aggregate_widths_s.begin(),
                                   cfg.processing.aggregate_widths_s.end());
  o.windows.rollup.allowed_lateness_ms = cfg.processing.allowed_lateness_ms;
  o.windows.series_tags = cfg.processing.series_tags;
  o.windows.max_series = cfg.processing.max_series;
  return o;
}

int serve(config& cfg) {
  // Signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::info("rtmon {} starting: {}", RTMON_VERSION, cfg.describe());
  bool process = cfg.has_role("process");
  bool store_role = cfg.has_role("store");
  bool ingest = cfg.has_role("ingest");
  try {
    if (cfg.migrate_on_start) migrate_with_retry(cfg.database_url, 60);
    std::vector<std::string> topics;
    for (auto k : {"logs", "metrics", "events", "incidents", "commands"})
      topics.push_back(cfg.kafka.topic(k));
    with_retry("kafka topics", 60, [&] { kafka::ensure_topics(cfg.kafka, topics, 10000); });
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }

  rule_set_ptr rules;
  // --- api (begin): the API shows the rules in force, so it loads them too ---------------------
  bool api = cfg.has_role("api");
  if (api && !process) {
    std::string problem;
    rules = load_rules(cfg, problem);
    if (!rules) spdlog::error("{} (GET /api/rules lists no rules)", problem);
  }
  // --- api (end) --------------------------------------------------------------------------------
  if (process) {
    std::string problem;
    rules = load_rules(cfg, problem);
    if (!rules) {
      spdlog::critical("{}", problem);
      return 1;
    }
    spdlog::info("rules: {} loaded from {}", rules->rules.size(), cfg.processing.rules_file);
  }
  auto source = std::make_shared<rules_source>(rules);
  // Notification channels and routes: the incident store writes the outbox rows, the
  // dispatcher delivers them (both in the process role).
  notify::routing_source_ptr routing;
  if (process) {
    try {
      routing = std::make_shared<notify::routing_source>(load_notify_routing(cfg));
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }
  metrics_registry metrics;
  // Incident transitions go to rtmon.incidents through their own producer, which outlives the
  // actors (it is shut down after them).
  std::unique_ptr<kafka::producer> publisher;
  if (process) {
    try {
      publisher = std::make_unique<kafka::producer>(cfg.kafka, metrics);
    } catch (const std::exception& e) {
      spdlog::critical("kafka: {}", e.what());
      return 1;
    }
  }
  caf::actor_system sys{cfg};
  // Two consumer groups (system/kafka/consumer.hpp): processing and raw-row storage.
  std::shared_ptr<kafka::consumer> consumer, raw_consumer;
  caf::actor root;
  caf::actor shard_handle, raw_shard_handle;
  std::unique_ptr<pg::listener> outbox_listener;
  std::vector<std::pair<std::string, caf::actor>> components;
  if (store_role) {
    auto writer = std::make_shared<pg::writer>(cfg.database_url, cfg.store);
    try {
      writer->maintain();  // today's partitions exist before the first row arrives
    } catch (const std::exception& e) {
      spdlog::critical("store: {}", e.what());
      return 1;
    }
    // Several writers, each a detached actor with its own connection: one Postgres backend
    // per writer works in parallel. Only the first one does partition upkeep.
    std::vector<store_actor> stores;
    for (int i = 0; i < cfg.store.writers; ++i) {
      auto w = i == 0 ? writer : std::make_shared<pg::writer>(cfg.database_url, cfg.store);
      auto st = sys.spawn<caf::detached>(store, w, &metrics, i == 0);
      stores.push_back(st);
      components.emplace_back("store-" + std::to_string(i), caf::actor_cast<caf::actor>(st));
    }
    raw_consumer = std::make_shared<kafka::consumer>(cfg, metrics, kafka::store_pipeline(cfg));
    auto raw = sys.spawn(shard, stores, offset_sink_ptr{raw_consumer},
                         cfg.store.max_rows_per_request, processing_setup_ptr{});
    raw_shard_handle = caf::actor_cast<caf::actor>(raw);
    components.emplace_back("store-shard", raw_shard_handle);
  }
  if (process) {
    auto incident_db = std::make_shared<pg::processing_store>(cfg.database_url);
    incident_db->set_routing(routing);
    auto incidents = sys.spawn<caf::detached>(incident_store, incident_db, publisher.get(),
                                              cfg.kafka.topic("incidents"), &metrics);
    components.emplace_back("incident-store", caf::actor_cast<caf::actor>(incidents));
    // The same adapter on a second connection, for aggregate buckets only (no producer: it has
    // no timeline to publish): their group commits never delay a transition's.
    auto aggregates = sys.spawn<caf::detached>(
        incident_store, std::make_shared<pg::processing_store>(cfg.database_url), nullptr,
        std::string{}, &metrics);
    components.emplace_back("aggregate-store", caf::actor_cast<caf::actor>(aggregates));
    auto setup = std::make_shared<processing_setup>();
    setup->rules = rules;
    setup->store = incidents;
    setup->opts = processing_options_of(cfg);
    setup->opts.aggregates = aggregates;
    setup->opts.source = source;
    setup->metrics = &metrics;
    consumer = std::make_shared<kafka::consumer>(cfg, metrics, kafka::processing_pipeline(cfg));
    auto sh = sys.spawn(shard, std::vector<store_actor>{}, offset_sink_ptr{consumer},
                        cfg.store.max_rows_per_request, processing_setup_ptr{setup});
    shard_handle = caf::actor_cast<caf::actor>(sh);
    components.emplace_back("shard", caf::actor_cast<caf::actor>(sh));
    {
      // Spawned even without channels: a SIGHUP may bring some (claims cost nothing then).
      dispatcher_options dopts;
      dopts.senders_per_kind = static_cast<size_t>(cfg.notify.senders);
      auto d = sys.spawn(dispatcher, routing,
                         std::make_shared<pg::outbox_store>(cfg.database_url, routing), dopts,
                         send_fn{notify::send}, &metrics);
      components.emplace_back("dispatcher", caf::actor_cast<caf::actor>(d));
      // New outbox rows wake the dispatcher at once (the 1 s timer is only the fallback).
      outbox_listener = std::make_unique<pg::listener>(
          cfg.database_url, pg::outbox_channel,
          [d](const std::string&) { caf::anon_send(d, atom::wake_v); });
    }
  }
  if (!components.empty())
    root = sys.spawn(guardian, components, [](const std::string&) { kill(getpid(), SIGTERM); });
  // From here on a failure must stop the actors, or ~actor_system would wait for them forever.
  auto abort_start = [&](const std::string& what) {
    spdlog::critical("{}", what);
    if (consumer) consumer->stop();
    if (raw_consumer) raw_consumer->stop();
    if (outbox_listener) outbox_listener->stop();
    if (root) caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
    return 1;
  };
  std::unique_ptr<kafka::producer> producer;
  try {
    if (consumer) consumer->start(caf::actor_cast<shard_actor>(shard_handle));
    if (raw_consumer) raw_consumer->start(caf::actor_cast<shard_actor>(raw_shard_handle));
    // The api role sends incident commands (acknowledge, resolve, note) through it too.
    if (ingest || api) producer = std::make_unique<kafka::producer>(cfg.kafka, metrics);
  } catch (const std::exception& e) {
    return abort_start(std::string{"kafka: "} + e.what());
  }
  std::function<bool()> kafka_probe;
  if (producer)
    kafka_probe = [p = producer.get()] { return p->probe(2000); };
  else if (consumer || raw_consumer)
    kafka_probe = [c = consumer ? consumer.get() : raw_consumer.get()] { return c->probe(2000); };
  health_monitor health{kafka_probe, process || store_role || api ? cfg.database_url : ""};
  health.check_now();
  health.start();

  // --- api (begin): query API, actions, live stream and the UI on the edge's listener ----------
  std::unique_ptr<api::service> api_service;
  if (api) {
    api_service = std::make_unique<api::service>(cfg, producer.get(), source);
    api_service->start();
  }
  // --- api (end) --------------------------------------------------------------------------------
  http::edge edge{cfg, ingest ? producer.get() : nullptr, health, metrics, api_service.get()};
  http::server_options opts;
  opts.host = cfg.http_host();
  opts.port = cfg.http_port();
  opts.threads = cfg.http_threads;
  opts.body_limit = cfg.limits.max_body_bytes;
  opts.ws_frame_limit = cfg.limits.max_body_bytes;
  opts.max_connections = cfg.http_max_connections;
  http::server server{opts, edge};
  try {
    server.start();
  } catch (const std::exception& e) {
    health.stop();
    if (producer) producer->shutdown(0);
    return abort_start("http: cannot listen on " + cfg.http_addr + ": " + e.what());
  }
  metrics.add_gauge("rtmon_http_open_connections", "Open HTTP and WebSocket connections",
                    [&server] { return static_cast<double>(server.live_connections()); });
  metrics.add_gauge("rtmon_http_connections_refused", "Connections closed at once: over the cap",
                    [&server] { return static_cast<double>(server.refused_connections()); });
  spdlog::info(
      "rtmon ready: send data to http://{}:{}/logs, /metrics, /events "
      "(WebSocket ws://{}:{}/ingest); health at /readyz",
      opts.host, server.port(), opts.host, server.port());

  int sig = 0;
  // SIGHUP reloads the rules file and the notifications file: a valid file replaces what is
  // in force (the next batch of every service, the next transition and claim use it), an
  // invalid one is reported and changes nothing.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (!process && !api) continue;
    std::string problem;
    if (auto fresh = load_rules(cfg, problem)) {
      source->replace(fresh);
      spdlog::info("rules: reloaded {} rules from {}", fresh->rules.size(),
                   cfg.processing.rules_file);
    } else {
      spdlog::error("rules: reload refused, the rules in force stay: {}", problem);
    }
    if (!routing) continue;
    try {
      auto fresh = load_notify_routing(cfg);
      routing->replace(fresh);
      spdlog::info("notify: reloaded {} channels and {} routes from {}", fresh->channels.size(),
                   fresh->routes.size(), cfg.notify.file);
    } catch (const std::exception& e) {
      spdlog::error("notify: reload refused, the channels and routes in force stay: {}", e.what());
    }
  }
  spdlog::info("rtmon: signal {}, shutting down", sig);
  // 1. No new connections; requests already handed to Kafka finish (their clients wait for
  //    the ack), and their answers get a moment to leave the socket buffers.
  server.stop_accepting();
  auto deadline = clock::now() + std::chrono::milliseconds{cfg.kafka.message_timeout_ms + 1000};
  while (edge.inflight() > 0 && clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  std::this_thread::sleep_for(std::chrono::milliseconds{200});
  server.stop();
  if (api_service) api_service->stop();  // api: queued queries are answered 503, threads joined
  if (producer) producer->shutdown(5000);
  health.stop();
  // 2. Leave the consumer groups: in-flight effects become durable, offsets are committed.
  if (consumer) consumer->stop();
  if (raw_consumer) raw_consumer->stop();
  if (outbox_listener) outbox_listener->stop();
  if (root) caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  if (publisher) publisher->shutdown(5000);
  spdlog::info("rtmon: stopped");
  return 0;
}

}  // namespace rtmon
