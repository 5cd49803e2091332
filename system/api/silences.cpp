// Silences: POST /api/silences, GET /api/silences[?active=], GET and DELETE /api/silences/{id}.
// A DELETE expires the silence (deleted_at) rather than removing the row: what was muted and
// why stays visible.
#include <boost/json.hpp>

#include "system/api/service.hpp"

namespace rtmon::api {

namespace json = boost::json;

namespace {

constexpr int64_t max_duration_s = 366 * 86400;

std::string optional_name(const json::object& o, const char* key, size_t max) {
  auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string() || v->get_string().empty() || v->get_string().size() > max)
    throw bad_request(std::string{key} + ": a string of 1 to " + std::to_string(max) +
                      " characters, or null");
  return std::string{v->get_string()};
}

}  // namespace

silence_input parse_silence(const std::string& body, sys_time now) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) throw bad_request("body: must be a JSON object");
  const auto& o = v.get_object();
  static const char* known[] = {"service", "rule",    "severity",   "labels",
                                "comment", "ends_at", "duration_s", "until_resolved"};
  for (const auto& kv : o) {
    bool ok = false;
    for (auto k : known) ok = ok || kv.key() == k;
    if (!ok) throw bad_request(std::string{kv.key()} + ": unknown field");
  }
  silence_input in;
  in.service = optional_name(o, "service", 200);
  in.rule = optional_name(o, "rule", 200);
  in.severity = optional_name(o, "severity", 20);
  if (!in.severity.empty() && in.severity != "info" && in.severity != "warning" &&
      in.severity != "critical")
    throw bad_request("severity: must be info, warning or critical");
  json::object labels;
  if (auto* l = o.if_contains("labels"); l != nullptr && !l->is_null()) {
    if (!l->is_object() || l->get_object().size() > 32)
      throw bad_request("labels: an object of at most 32 string values");
    for (const auto& kv : l->get_object()) {
      if (!kv.value().is_string() || kv.key().empty() || kv.key().size() > 200 ||
          kv.value().get_string().size() > 200)
        throw bad_request("labels: an object of at most 32 string values");
      labels[kv.key()] = kv.value();
    }
  }
  in.labels = json::serialize(labels);
  if (in.service.empty() && in.rule.empty() && in.severity.empty() && labels.empty())
    throw bad_request("service: give at least one matcher (service, rule, severity or labels)");
  if (auto* c = o.if_contains("comment"); c != nullptr && !c->is_null()) {
    if (!c->is_string() || c->get_string().size() > 1000)
      throw bad_request("comment: a string of at most 1000 characters");
    in.comment = std::string{c->get_string()};
  }
  int endings = 0;
  if (auto* e = o.if_contains("ends_at"); e != nullptr && !e->is_null()) {
    ++endings;
    sys_time t;
    std::string problem;
    if (!e->is_string() || !ingest::parse_timestamp(*e, t, problem))
      throw bad_request("ends_at: an RFC 3339 time");
    if (t <= now) throw bad_request("ends_at: must be in the future");
    if (t - now > std::chrono::seconds{max_duration_s})
      throw bad_request("ends_at: at most 366 days ahead");
    in.ends_at = iso_ms(t);
  }
  if (auto* d = o.if_contains("duration_s"); d != nullptr && !d->is_null()) {
    ++endings;
    int64_t secs = 0;
    if (d->is_int64())
      secs = d->get_int64();
    else if (d->is_uint64() && d->get_uint64() < 1u << 31)
      secs = static_cast<int64_t>(d->get_uint64());
    else if (d->is_double() &&
             d->get_double() == static_cast<double>(static_cast<int64_t>(d->get_double())))
      secs = static_cast<int64_t>(d->get_double());
    else
      throw bad_request("duration_s: a whole number of seconds");
    if (secs < 1 || secs > max_duration_s)
      throw bad_request("duration_s: from 1 to " + std::to_string(max_duration_s));
    in.ends_at = iso_ms(now + std::chrono::seconds{secs});
  }
  if (auto* u = o.if_contains("until_resolved"); u != nullptr && !u->is_null()) {
    if (!u->is_bool()) throw bad_request("until_resolved: true or false");
    in.until_resolved = u->get_bool();
    if (in.until_resolved) ++endings;
  }
  if (endings != 1)
    throw bad_request("ends_at: give exactly one of ends_at, duration_s, until_resolved: true");
  return in;
}

void silences_create(service& s, call& c) {
  auto in = parse_silence(c.req.body(), std::chrono::system_clock::now());
  auto id = ingest::new_event_id(std::chrono::system_clock::now());
  auto user = c.user;
  s.write(c, [in, id, user](pqxx::transaction_base& tx) {
    auto r = tx.exec_params(
        "insert into silences as s (id, service, rule, severity, labels, ends_at, until_resolved,"
        " comment, created_by) values ($1, nullif($2, ''), nullif($3, ''), nullif($4, ''),"
        " $5::jsonb, nullif($6, '')::timestamptz, $7, $8, $9) returning "
        "rtmon_silence_json(s)::text",
        id, in.service, in.rule, in.severity, in.labels, in.ends_at, in.until_resolved, in.comment,
        user);
    return reply{201, parse_json(r[0][0].as<std::string>())};
  });
}

void silences_list(service& s, call& c) {
  auto active = c.q.get("active").value_or("");
  if (!active.empty() && active != "true" && active != "false")
    throw bad_request("active: true or false");
  // Silences are few; a page is the newest `limit` (default and maximum 200).
  int limit = c.q.has("limit") ? parse_limit(c.q) : max_limit;
  s.read(c, [active, limit](pqxx::transaction_base& tx) {
    json::array items;
    for (const auto& r :
         tx.exec_params("select rtmon_silence_json(s)::text from silences s"
                        " where ($1 = '' or rtmon_silence_active(s) = ($1 = 'true'))"
                        " order by created_at desc, id desc limit $2",
                        active, limit))
      items.push_back(parse_json(r[0].as<std::string>()));
    return reply{200, json::object{{"items", std::move(items)}}};
  });
}

void silences_get(service& s, call& c) {
  auto id = c.m.captures["id"];
  if (!valid_uuid(id)) throw bad_request("id: not a silence id (a UUID)", 404);
  s.read(c, [id](pqxx::transaction_base& tx) {
    auto r = tx.exec_params("select rtmon_silence_json(s)::text from silences s where id = $1", id);
    if (r.empty()) return error_reply(404, "id: no such silence");
    return reply{200, parse_json(r[0][0].as<std::string>())};
  });
}

void silences_delete(service& s, call& c) {
  auto id = c.m.captures["id"];
  if (!valid_uuid(id)) throw bad_request("id: not a silence id (a UUID)", 404);
  s.write(c, [id](pqxx::transaction_base& tx) {
    auto r = tx.exec_params(
        "update silences s set deleted_at = coalesce(deleted_at, now()) where id = $1"
        " returning rtmon_silence_json(s)::text",
        id);
    if (r.empty()) return error_reply(404, "id: no such silence");
    return reply{200, parse_json(r[0][0].as<std::string>())};
  });
}

}  // namespace rtmon::api
