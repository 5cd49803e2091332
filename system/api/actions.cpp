// POST /api/incidents/{id}/acknowledge|resolve|notes. Open incidents belong to the process
// that owns their service's partition: the action travels there as a command on Kafka and the
// answer waits for the owner to settle the commands row. Notes on closed incidents have no
// owner any more and are written here, under the same stream lock as every timeline insert.
#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "system/api/command_waiter.hpp"
#include "system/api/service.hpp"
#include "system/kafka/producer.hpp"
#include "system/pg/channels.hpp"

namespace rtmon::api {

namespace json = boost::json;

namespace {

constexpr size_t max_note = 4000;

bool is_open(const std::string& status) {
  return status == "pending" || status == "triggered" || status == "acknowledged";
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xc0) != 0x80;
  return n;
}

std::string note_text(const http::request& req) {
  json::error_code ec;
  auto body = json::parse(req.body(), ec);
  if (ec || !body.is_object()) throw bad_request("body: must be a JSON object {\"text\": \"...\"}");
  auto* text = body.get_object().if_contains("text");
  if (text == nullptr || !text->is_string()) throw bad_request("text: required, a string");
  std::string t{text->get_string()};
  auto n = utf8_length(t);
  if (n < 1 || n > max_note) throw bad_request("text: 1 to 4000 characters");
  return t;
}

reply conflict(const std::string& why, const json::value& command_id) {
  return {409, json::object{{"error", why}, {"command_id", command_id}}};
}

// A note on a resolved or cancelled incident: the timeline row, its stream position and the
// outbox entry in one transaction, as the owner would write them (incident_actor.cpp).
reply closed_note(pqxx::connection& conn, const std::string& timeout_sql, const std::string& id,
                  const std::string& actor, const std::string& text) {
  pqxx::work tx{conn};
  tx.exec(timeout_sql);
  auto at = ingest::format_timestamp(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
  auto r = tx.exec_params(
      "update incidents set last_seq = last_seq + 1, updated_at = now()"
      " where id = $1 and status in ('resolved', 'cancelled')"
      " returning last_seq, status, coalesce(last_value, 0),"
      " jsonb_build_object('type', 'incident.transition', 'incident_id', id,"
      " 'fingerprint', fingerprint, 'rule', rule, 'service', service, 'severity', severity,"
      " 'status', status, 'summary', summary, 'labels', labels, 'group', group_labels,"
      " 'seq', last_seq, 'kind', 'note', 'from', status, 'to', status, 'at', $2::text,"
      " 'actor', $3::text, 'detail', $4::text, 'value', coalesce(last_value, 0),"
      " 'notify', false, 'breach_count', breach_count,"
      " 'opened_at', to_char(opened_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))",
      id, at, actor, text);
  if (r.empty()) return conflict("the incident was reopened meanwhile; retry", nullptr);
  auto seq = r[0][0].as<int64_t>();
  tx.exec_params("select pg_advisory_xact_lock($1)", pg::stream_lock_key);
  auto ins = tx.exec_params(
      "insert into incident_events (incident_id, seq, at, kind, from_status, to_status, actor,"
      " detail, value, notify, message) values ($1, $2, $3::timestamptz, 'note', $4, $4, $5, $6,"
      " $7, false, $8::jsonb) returning stream_id",
      id, seq, at, r[0][1].as<std::string>(), actor, text, r[0][2].as<double>(),
      r[0][3].as<std::string>());
  auto stream_id = ins[0][0].as<int64_t>();
  tx.exec_params("select pg_notify($1, $2)", std::string{pg::stream_channel},
                 std::to_string(stream_id));
  auto inc =
      tx.exec_params("select rtmon_incident_json(i)::text from incidents i where id = $1", id);
  tx.commit();
  return {200, json::object{{"command_id", nullptr},
                            {"status", "done"},
                            {"seq", seq},
                            {"incident", parse_json(inc[0][0].as<std::string>())}}};
}

}  // namespace

void incidents_action(service& s, call& c, const std::string& action) {
  auto id = c.m.captures["id"];
  if (!valid_uuid(id)) throw bad_request("id: not an incident id (a UUID)", 404);
  std::string text = action == "note" ? note_text(c.req) : std::string{};
  auto actor = c.user;
  auto keep_alive = c.keep_alive;
  auto timeout_sql = s.statement_timeout_sql();
  s.run(c, [&s, id, text, actor, action, keep_alive, timeout_sql](pqxx::connection& conn,
                                                                  http::respond_fn respond) {
    auto send = [&](const reply& r) { s.answer(respond, keep_alive, r); };
    try {
      std::string status, service_name, fingerprint;
      {
        pqxx::read_transaction tx{conn};
        tx.exec(timeout_sql);
        auto r =
            tx.exec_params("select status, service, fingerprint from incidents where id = $1", id);
        if (r.empty()) return send(error_reply(404, "id: no such incident"));
        status = r[0][0].as<std::string>();
        service_name = r[0][1].as<std::string>();
        fingerprint = r[0][2].as<std::string>();
      }
      if (action == "acknowledge" && status != "triggered")
        return send(conflict("cannot acknowledge an incident that is " + status, nullptr));
      if (action == "resolve" && !is_open(status))
        return send(conflict("cannot resolve an incident that is " + status, nullptr));
      if (action == "note" && !is_open(status))
        return send(closed_note(conn, timeout_sql, id, actor, text));
      auto* producer = s.producer();
      if (producer == nullptr) return send(error_reply(503, "this process cannot send commands"));

      auto now = std::chrono::system_clock::now();
      auto command_id = ingest::new_event_id(now);
      json::object body;
      if (action == "note") body["text"] = text;
      {
        pqxx::work tx{conn};
        tx.exec(timeout_sql);
        tx.exec_params(
            "insert into commands (id, incident_id, service, action, actor, body)"
            " values ($1, $2, $3, $4, $5, $6::jsonb)",
            command_id, id, service_name, action, actor, json::serialize(body));
        tx.commit();
      }
      json::object msg{{"type", "incident.command"},
                       {"id", command_id},
                       {"incident_id", id},
                       {"fingerprint", fingerprint},
                       {"service", service_name},
                       {"action", action},
                       {"actor", actor},
                       {"at", ingest::format_timestamp(now)}};
      if (action == "note") msg["text"] = text;
      std::vector<ingest::item> items{{command_id, service_name, json::serialize(msg)}};
      auto timeout = std::chrono::milliseconds{s.cfg().api.command_timeout_ms};
      producer->produce(
          s.cfg().kafka.topic("commands"), std::move(items),
          [&s, respond, keep_alive, command_id, timeout](kafka::produce_outcome out) {
            if (out.status != kafka::produce_status::ok) {
              s.answer(respond, keep_alive,
                       {503, json::object{{"error", "the command could not be sent: " + out.error},
                                          {"command_id", command_id}}});
              // Nobody will ever settle it: say so in the row.
              s.detached([command_id, why = out.error](pqxx::connection& conn) {
                pqxx::work tx{conn};
                tx.exec_params(
                    "update commands set status = 'rejected', error = $2, done_at = now()"
                    " where id = $1 and status = 'pending'",
                    command_id, "not sent to Kafka: " + why);
                tx.commit();
              });
              return;
            }
            s.waiter().wait(
                command_id, timeout, [&s, respond, keep_alive, command_id](command_outcome o) {
                  switch (o.kind) {
                    case command_outcome::done:
                      return s.answer(respond, keep_alive,
                                      {200, json::object{{"command_id", command_id},
                                                         {"status", "done"},
                                                         {"seq", o.seq},
                                                         {"incident", o.incident}}});
                    case command_outcome::rejected:
                      return s.answer(respond, keep_alive,
                                      conflict(o.error, json::string(command_id)));
                    default:
                      return s.answer(
                          respond, keep_alive,
                          {202, json::object{{"command_id", command_id}, {"status", "pending"}}});
                  }
                });
          });
    } catch (const pqxx::broken_connection&) {
      send(error_reply(503, "database connection lost; retry"));
      throw;
    } catch (const std::exception& e) {
      spdlog::error("api: {} on incident {}: {}", action, id, e.what());
      send(error_reply(500, "internal error"));
    }
  });
}

}  // namespace rtmon::api
