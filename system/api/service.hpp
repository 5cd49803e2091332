// The query API, the incident actions and the live stream, served by the `api` role on the
// HTTP edge's listener (docs/api.md). An adapter, not actors: HTTP I/O threads parse and
// validate, then hand the query to the db_pool; the worker answers.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/json/value.hpp>
#include <pqxx/pqxx>

#include "messages/processing.hpp"
#include "system/api/params.hpp"
#include "system/api/router.hpp"
#include "system/config.hpp"
#include "system/http/server.hpp"

namespace rtmon::kafka {
class producer;
}

namespace rtmon::api {

class db_pool;
class command_waiter;
class stream_hub;
class static_files;

/// One API request on its way to a handler.
struct call {
  match_result m;
  query q;
  http::request req;
  http::respond_fn respond;
  bool keep_alive = true;
  std::string user;  // X-Rtmon-User, default "anonymous"
};

/// A handler's answer: status and JSON body.
struct reply {
  unsigned status = 200;
  boost::json::value body;
};

reply error_reply(unsigned status, const std::string& message);

class service {
 public:
  service(const config& cfg, kafka::producer* producer, rules_source_ptr rules);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Starts the pool, the stream hub and the command listener.
  void start();
  /// Stops them; requests still queued are answered 503.
  void stop();

  /// Answers any request under /api.
  void handle(http::request&& req, http::respond_fn respond);
  /// Serves the built UI (GET/HEAD of non-API paths).
  http::response serve_ui(std::string_view encoded_path, bool head, bool keep_alive,
                          bool wants_html) const;
  /// The live stream (/api/stream): null when the target is not a stream.
  http::stream_handle open_stream(const std::string& target, http::ws_send_fn send,
                                  http::ws_close_fn close);

  // --- for the resource handlers ---
  /// Runs `fn` on a pool worker in a read-only transaction bounded by the statement timeout,
  /// then answers. bad_request thrown by `fn` becomes its 4xx.
  void read(call& c, std::function<reply(pqxx::transaction_base&)> fn);
  /// The same in a read-write transaction (silences, notes on closed incidents).
  void write(call& c, std::function<reply(pqxx::transaction_base&)> fn);
  /// Runs `fn` on a pool worker with the raw connection (actions: several steps).
  void run(call& c, std::function<void(pqxx::connection&, http::respond_fn)> fn);
  void answer(const http::respond_fn& respond, bool keep_alive, const reply& r) const;
  /// Runs `fn` on a pool worker with nobody waiting for it (best effort: dropped when full).
  void detached(std::function<void(pqxx::connection&)> fn);

  const config& cfg() const { return cfg_; }
  kafka::producer* producer() const { return producer_; }
  rule_set_ptr rules() const { return rules_ ? rules_->current() : nullptr; }
  command_waiter& waiter() { return *waiter_; }
  /// "set local statement_timeout = ..." for the configured bound.
  std::string statement_timeout_sql() const;

 private:
  void submit(call& c, bool writable, std::function<reply(pqxx::transaction_base&)> fn);

  const config& cfg_;
  kafka::producer* producer_;
  rules_source_ptr rules_;
  std::unique_ptr<db_pool> pool_;
  std::unique_ptr<command_waiter> waiter_;
  std::unique_ptr<stream_hub> hub_;
  std::unique_ptr<static_files> ui_;
};

// Resource handlers (one file per group). Each validates its parameters (throwing bad_request)
// and then calls service::read/write/run.
void incidents_list(service& s, call& c);
void incidents_get(service& s, call& c);
void incidents_action(service& s, call& c, const std::string& action);
void services_list(service& s, call& c);
void services_series(service& s, call& c);
void logs_list(service& s, call& c);
void events_list(service& s, call& c);
void rules_list(service& s, call& c);
void silences_list(service& s, call& c);
void silences_create(service& s, call& c);
void silences_get(service& s, call& c);
void silences_delete(service& s, call& c);

/// The /api/services items: stats over the last 5 minutes (also pushed on the stream).
boost::json::array service_stats(pqxx::transaction_base& tx);

/// The series bucket width for a time range (docs/api.md: 10 s up to 1 h, 60 s up to 24 h,
/// then coarser, at most ~500 points).
int64_t series_width_s(std::chrono::seconds range);

/// "%text%" for ILIKE, with the pattern characters in `text` escaped.
std::string like_pattern(const std::string& text);

/// A validated POST /api/silences body.
struct silence_input {
  std::string service, rule, severity, labels = "{}", comment;
  std::string ends_at;  // ISO time ("" for until_resolved); duration_s is turned into it
  bool until_resolved = false;
};
/// Validates a POST /api/silences body (docs/api.md); throws bad_request naming the field.
silence_input parse_silence(const std::string& body, sys_time now);

/// Parses a JSON text that Postgres built (jsonb::text).
boost::json::value parse_json(const std::string& text);

/// The embedded OpenAPI document (system/api/openapi.json).
const std::string& openapi_document();

}  // namespace rtmon::api
