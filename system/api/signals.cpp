// GET /api/logs and GET /api/events: raw signals newest first, keyset-paginated by (ts,
// event_id). The time range always bounds the scan, so only that range's day partitions are
// read (the plan is made with the actual values, which lets Postgres prune partitions).
#include <boost/json.hpp>

#include "system/api/service.hpp"

namespace rtmon::api {

namespace json = boost::json;

std::string like_pattern(const std::string& text) {
  std::string out = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "%";
}

namespace {

// Exact cursor time text (µs), so the next page starts right after the last row served.
std::string cursor_time(const std::optional<cursor>& c) {
  return c ? iso_us(c->us) : std::string{};
}

reply page(const pqxx::result& rows, int limit) {
  json::array items;
  json::value next = nullptr;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
    items.push_back(parse_json(rows[i][0].as<std::string>()));
    if (i + 1 == static_cast<size_t>(limit) && rows.size() > static_cast<size_t>(limit))
      next = json::string(encode_cursor({rows[i][1].as<int64_t>(), rows[i][2].as<std::string>()}));
  }
  return {200, json::object{{"items", std::move(items)}, {"next_cursor", std::move(next)}}};
}

}  // namespace

void logs_list(service& s, call& c) {
  auto svc = parse_text(c.q, "service").value_or("");
  auto level = parse_text(c.q, "level", 100).value_or("");
  auto q = parse_text(c.q, "q", 500).value_or("");
  auto range = parse_range(c.q, std::chrono::system_clock::now());
  auto limit = parse_limit(c.q);
  auto after = parse_cursor(c.q);
  s.read(c, [=](pqxx::transaction_base& tx) {
    auto rows = tx.exec_params(
        "select jsonb_build_object('event_id', event_id, 'ts', rtmon_iso(ts), 'service', service,"
        " 'host', host, 'level', level, 'message', message, 'attrs', attrs)::text,"
        " (extract(epoch from ts) * 1000000)::bigint, event_id from logs"
        " where ts >= $1::timestamptz and ts < $2::timestamptz"
        " and ($3 = '' or service = $3)"
        " and ($4 = '' or level = any(string_to_array(lower($4), ',')))"
        " and ($5 = '' or message ilike $5)"
        " and ($6 = '' or (ts, event_id) < (nullif($6, '')::timestamptz, $7))"
        " order by ts desc, event_id desc limit $8",
        iso_ms(range.from), iso_ms(range.to), svc, level,
        q.empty() ? std::string{} : like_pattern(q), cursor_time(after),
        after ? after->id : std::string{}, limit + 1);
    return page(rows, limit);
  });
}

void events_list(service& s, call& c) {
  auto svc = parse_text(c.q, "service").value_or("");
  auto type = parse_text(c.q, "type").value_or("");
  auto range = parse_range(c.q, std::chrono::system_clock::now());
  auto limit = parse_limit(c.q);
  auto after = parse_cursor(c.q);
  s.read(c, [=](pqxx::transaction_base& tx) {
    auto rows = tx.exec_params(
        "select jsonb_build_object('event_id', event_id, 'ts', rtmon_iso(ts), 'service', service,"
        " 'type', type, 'attrs', attrs)::text,"
        " (extract(epoch from ts) * 1000000)::bigint, event_id from events"
        " where ts >= $1::timestamptz and ts < $2::timestamptz"
        " and ($3 = '' or service = $3) and ($4 = '' or type = $4)"
        " and ($5 = '' or (ts, event_id) < (nullif($5, '')::timestamptz, $6))"
        " order by ts desc, event_id desc limit $7",
        iso_ms(range.from), iso_ms(range.to), svc, type, cursor_time(after),
        after ? after->id : std::string{}, limit + 1);
    return page(rows, limit);
  });
}

}  // namespace rtmon::api
