#include "system/api/service.hpp"

#include <spdlog/spdlog.h>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <pqxx/except>
#include <pqxx/transaction>

#include "system/api/command_waiter.hpp"
#include "system/api/db_pool.hpp"
#include "system/api/static_files.hpp"
#include "system/api/stream_hub.hpp"

namespace rtmon::api {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

// Jobs waiting for a worker, per connection: beyond it requests are refused with 503 at once,
// so a slow database shows as fast refusals rather than a growing backlog of stale requests.
constexpr size_t queue_per_connection = 64;

}  // namespace

reply error_reply(unsigned status, const std::string& message) {
  return {status, json::object{{"error", message}}};
}

json::value parse_json(const std::string& text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value{} : v;
}

service::service(const config& cfg, kafka::producer* producer, rules_source_ptr rules)
    : cfg_(cfg), producer_(producer), rules_(std::move(rules)) {
  ui_ = std::make_unique<static_files>(cfg.api.ui_dir);
  waiter_ = std::make_unique<command_waiter>(cfg.database_url);
  hub_ = std::make_unique<stream_hub>(cfg.database_url);
}

service::~service() { stop(); }

void service::start() {
  pool_ = std::make_unique<db_pool>(cfg_.database_url, cfg_.api.db_connections,
                                    queue_per_connection * cfg_.api.db_connections);
  waiter_->start();
  hub_->start();
}

void service::stop() {
  if (hub_) hub_->stop();
  if (waiter_) waiter_->stop();
  if (pool_) pool_->stop();
}

std::string service::statement_timeout_sql() const {
  return "set local statement_timeout = " + std::to_string(cfg_.api.statement_timeout_ms);
}

void service::answer(const http::respond_fn& respond, bool keep_alive, const reply& r) const {
  auto res = http::json_response(r.status, json::serialize(r.body), keep_alive);
  if (r.status == 503) res.set(bhttp::field::retry_after, "1");
  respond(std::move(res));
}

void service::handle(http::request&& req, http::respond_fn respond) {
  call c;
  c.keep_alive = req.keep_alive();
  c.respond = std::move(respond);
  try {
    std::string path;
    parse_target(std::string_view{req.target().data(), req.target().size()}, path, c.q);
    c.m = match(std::string_view{req.method_string().data(), req.method_string().size()}, path);
    if (c.m.status == match_result::not_found) {
      answer(c.respond, c.keep_alive, error_reply(404, "no such endpoint: " + path));
      return;
    }
    if (c.m.status == match_result::wrong_method) {
      auto res = http::json_response(
          405, json::serialize(json::object{{"error", "method not allowed; use " + c.m.allow}}),
          c.keep_alive);
      res.set(bhttp::field::allow, c.m.allow);
      c.respond(std::move(res));
      return;
    }
    auto user = std::string{req["X-Rtmon-User"]};
    if (user.size() > 100) throw bad_request("X-Rtmon-User: at most 100 characters");
    for (unsigned char ch : user)
      if (ch < 0x20 || ch == 0x7f) throw bad_request("X-Rtmon-User: control characters");
    c.user = user.empty() ? "anonymous" : user;
    c.req = std::move(req);
    const std::string name = c.m.r->name;
    if (name == "incidents.list") return incidents_list(*this, c);
    if (name == "incidents.get") return incidents_get(*this, c);
    if (name == "incidents.acknowledge") return incidents_action(*this, c, "acknowledge");
    if (name == "incidents.resolve") return incidents_action(*this, c, "resolve");
    if (name == "incidents.notes") return incidents_action(*this, c, "note");
    if (name == "services.list") return services_list(*this, c);
    if (name == "services.series") return services_series(*this, c);
    if (name == "logs.list") return logs_list(*this, c);
    if (name == "events.list") return events_list(*this, c);
    if (name == "rules.list") return rules_list(*this, c);
    if (name == "silences.list") return silences_list(*this, c);
    if (name == "silences.create") return silences_create(*this, c);
    if (name == "silences.get") return silences_get(*this, c);
    if (name == "silences.delete") return silences_delete(*this, c);
    if (name == "openapi") {
      auto res = http::json_response(200, openapi_document(), c.keep_alive);
      res.set(bhttp::field::cache_control, "no-cache");
      c.respond(std::move(res));
      return;
    }
    if (name == "stream") {
      answer(c.respond, c.keep_alive,
             error_reply(426, "/api/stream is a WebSocket endpoint: send an Upgrade request"));
      return;
    }
    answer(c.respond, c.keep_alive, error_reply(500, "route without a handler: " + name));
  } catch (const bad_request& e) {
    answer(c.respond, c.keep_alive, error_reply(e.status, e.what()));
  } catch (const std::exception& e) {
    // Never let an exception reach the I/O thread; the request still gets an answer.
    spdlog::error("api: {} {}: {}", std::string{c.req.method_string()}, std::string{c.req.target()},
                  e.what());
    answer(c.respond, c.keep_alive, error_reply(500, "internal error"));
  }
}

http::response service::serve_ui(std::string_view encoded_path, bool head, bool keep_alive,
                                 bool wants_html) const {
  return ui_->serve(encoded_path, head, keep_alive, wants_html);
}

void service::read(call& c, std::function<reply(pqxx::transaction_base&)> fn) {
  submit(c, false, std::move(fn));
}

void service::write(call& c, std::function<reply(pqxx::transaction_base&)> fn) {
  submit(c, true, std::move(fn));
}

void service::submit(call& c, bool writable, std::function<reply(pqxx::transaction_base&)> fn) {
  auto keep_alive = c.keep_alive;
  auto timeout_sql = statement_timeout_sql();
  auto timeout_ms = cfg_.api.statement_timeout_ms;
  run(c, [this, fn = std::move(fn), writable, timeout_sql, timeout_ms, keep_alive](
             pqxx::connection& conn, http::respond_fn respond) {
    reply r;
    try {
      if (writable) {
        pqxx::work tx{conn};
        tx.exec(timeout_sql);
        r = fn(tx);
        if (r.status < 300) tx.commit();
      } else {
        pqxx::read_transaction tx{conn};
        tx.exec(timeout_sql);
        r = fn(tx);
        tx.commit();
      }
    } catch (const bad_request& e) {
      r = error_reply(e.status, e.what());
    } catch (const pqxx::broken_connection& e) {
      answer(respond, keep_alive, error_reply(503, "database connection lost; retry"));
      throw;  // the worker reconnects
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() == "57014") {  // query_canceled: the statement timeout
        r = error_reply(503, "the query took longer than " + std::to_string(timeout_ms) +
                                 " ms; narrow the time range or filters");
      } else {
        spdlog::error("api: {} ({})", e.what(), e.query().substr(0, 200));
        r = error_reply(500, "internal error");
      }
    } catch (const std::exception& e) {
      spdlog::error("api: {}", e.what());
      r = error_reply(500, "internal error");
    }
    answer(respond, keep_alive, r);
  });
}

void service::run(call& c, std::function<void(pqxx::connection&, http::respond_fn)> fn) {
  auto respond = c.respond;
  auto keep_alive = c.keep_alive;
  bool queued = pool_ && pool_->submit([fn = std::move(fn),
                                        respond](pqxx::connection& conn) { fn(conn, respond); },
                                       [this, respond, keep_alive](const std::string& why) {
                                         answer(respond, keep_alive, error_reply(503, why));
                                       });
  if (!queued)
    answer(respond, keep_alive, error_reply(503, "the API is overloaded; retry in a second"));
}

void service::detached(std::function<void(pqxx::connection&)> fn) {
  if (!pool_ || !pool_->submit(std::move(fn), [](const std::string&) {}))
    spdlog::warn("api: background job dropped (queue full)");
}

http::stream_handle service::open_stream(const std::string& target, http::ws_send_fn send,
                                         http::ws_close_fn close) {
  std::string path;
  query q;
  std::optional<int64_t> after;
  try {
    parse_target(target, path, q);
    if (auto v = q.get("after")) {
      bool ok = !v->empty() && v->size() <= 18;
      for (char ch : *v) ok = ok && std::isdigit(static_cast<unsigned char>(ch));
      if (!ok) throw bad_request("after: must be a stream_id (a non-negative integer)");
      after = std::stoll(*v);
    }
  } catch (const bad_request& e) {
    send(json::serialize(json::object{{"type", "error"}, {"error", e.what()}}));
    close(e.what());
    return std::make_shared<int>(0);  // nothing to unregister
  }
  return hub_->subscribe(after, std::move(send), std::move(close));
}

}  // namespace rtmon::api
