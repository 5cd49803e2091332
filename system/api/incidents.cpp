// GET /api/incidents (filters, counts by status, keyset pages) and GET /api/incidents/{id}
// (the incident, its timeline, its notifications with every delivery attempt).
#include <boost/json.hpp>

#include "system/api/service.hpp"
#include "system/notify/routing.hpp"

namespace rtmon::api {

namespace json = boost::json;

namespace {

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) out += (out.empty() ? "" : ",") + x;
  return out;
}

}  // namespace

void incidents_list(service& s, call& c) {
  auto statuses = parse_statuses(c.q);
  auto service_name = parse_text(c.q, "service");
  auto severity = parse_text(c.q, "severity");
  if (severity && *severity != "info" && *severity != "warning" && *severity != "critical")
    throw bad_request("severity: must be info, warning or critical");
  auto range = parse_range(c.q, std::chrono::system_clock::now());
  // Without an explicit `from`, open incidents are listed (and counted) however old: what is
  // burning must never drop out of the default view. They are few (one per fingerprint).
  bool all_open = !c.q.get("from");
  auto limit = parse_limit(c.q);
  auto after = parse_cursor(c.q);
  s.read(c, [=](pqxx::transaction_base& tx) {
    auto from = iso_ms(range.from), to = iso_ms(range.to);
    auto svc = service_name.value_or(""), sev = severity.value_or("");
    // Unnamed statements are planned with the actual values, so the '' = '' branches fold
    // away and the index for the filters given is chosen.
    auto rows = tx.exec_params(
        "select rtmon_incident_json(i)::text, (extract(epoch from i.opened_at) * 1000000)::bigint,"
        " i.id::text from incidents i"
        " where ($1 = '' or i.status = any(string_to_array($1, ',')))"
        " and ($2 = '' or i.service = $2) and ($3 = '' or i.severity = $3)"
        " and (i.opened_at >= $4::timestamptz"
        "  or ($9 and i.status in ('pending', 'triggered', 'acknowledged')))"
        " and i.opened_at < $5::timestamptz"
        " and ($6 = '' or (i.opened_at, i.id) < (nullif($6, '')::timestamptz, $7::uuid))"
        " order by i.opened_at desc, i.id desc limit $8",
        join(statuses), svc, sev, from, to, after ? iso_us(after->us) : std::string{},
        after ? after->id : std::string{"00000000-0000-0000-0000-000000000000"}, limit + 1,
        all_open);
    json::array items;
    json::value next = nullptr;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
      items.push_back(parse_json(rows[i][0].as<std::string>()));
      if (i + 1 == static_cast<size_t>(limit) && rows.size() > static_cast<size_t>(limit))
        next =
            json::string(encode_cursor({rows[i][1].as<int64_t>(), rows[i][2].as<std::string>()}));
    }
    json::object counts{
        {"pending", 0}, {"triggered", 0}, {"acknowledged", 0}, {"resolved", 0}, {"cancelled", 0}};
    for (const auto& r :
         tx.exec_params("select status, count(*) from incidents"
                        " where ($1 = '' or service = $1) and ($2 = '' or severity = $2)"
                        " and (opened_at >= $3::timestamptz"
                        "  or ($5 and status in ('pending', 'triggered', 'acknowledged')))"
                        " and opened_at < $4::timestamptz group by status",
                        svc, sev, from, to, all_open))
      counts[r[0].as<std::string>()] = r[1].as<int64_t>();
    return reply{200, json::object{{"items", std::move(items)},
                                   {"next_cursor", std::move(next)},
                                   {"counts", std::move(counts)}}};
  });
}

void incidents_get(service& s, call& c) {
  auto id = c.m.captures["id"];
  if (!valid_uuid(id)) throw bad_request("id: not an incident id (a UUID)", 404);
  s.read(c, [id](pqxx::transaction_base& tx) {
    auto inc =
        tx.exec_params("select rtmon_incident_json(i)::text from incidents i where id = $1", id);
    if (inc.empty()) return error_reply(404, "id: no such incident");
    json::array timeline;
    for (const auto& r : tx.exec_params(
             "select jsonb_build_object('seq', seq, 'stream_id', stream_id, 'at', rtmon_iso(at),"
             " 'kind', kind, 'from', from_status, 'to', to_status, 'actor', actor,"
             " 'detail', detail, 'value', value, 'notify', notify)::text"
             " from incident_events where incident_id = $1 order by seq",
             id))
      timeline.push_back(parse_json(r[0].as<std::string>()));
    json::array notifications;
    for (const auto& r : tx.exec_params(
             "select jsonb_build_object('id', n.id, 'channel', n.channel, 'kind', n.kind,"
             " 'event', n.event, 'seq', n.seq, 'status', n.status, 'attempts', n.attempts,"
             " 'ambiguous', n.ambiguous, 'created_at', rtmon_iso(n.created_at),"
             " 'done_at', rtmon_iso(n.done_at), 'last_error', n.last_error,"
             " 'attempt_log', coalesce((select jsonb_agg(jsonb_build_object("
             "   'attempt', a.attempt, 'started_at', rtmon_iso(a.started_at),"
             "   'latency_ms', a.latency_ms, 'status_code', a.status_code, 'outcome', a.outcome,"
             "   'retry_after_ms', a.retry_after_ms, 'error', a.error) order by a.attempt)"
             "   from notification_attempts a where a.notification_id = n.id), '[]'::jsonb))::text,"
             " n.group_key from notifications n where n.incident_id = $1 order by n.seq, n.id",
             id)) {
      auto n = parse_json(r[0].as<std::string>());
      // Sent in a grouped message: the group's values (the key's format is routing's).
      n.as_object()["group"] = r[1].is_null()
                                   ? json::value(nullptr)
                                   : json::value(notify::group_values(r[1].as<std::string>()));
      notifications.push_back(std::move(n));
    }
    return reply{200, json::object{{"incident", parse_json(inc[0][0].as<std::string>())},
                                   {"timeline", std::move(timeline)},
                                   {"notifications", std::move(notifications)}}};
  });
}

}  // namespace rtmon::api
