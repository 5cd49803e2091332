// GET /api/services (current stats per service, also pushed on the stream every 5 s) and
// GET /api/services/{service}/series (chart points from the aggregates table).
#include <boost/json.hpp>

#include "system/api/service.hpp"

namespace rtmon::api {

namespace json = boost::json;

namespace {

// Metric series split by tags (e.g. endpoint) are merged per bucket: counts, sums and extremes
// exactly, quantiles as the count-weighted mean of the series' quantiles (an approximation;
// the sketches are not stored).
constexpr const char* merged_quantiles =
    "sum(p50 * count) / nullif(sum(count), 0) as p50,"
    " sum(p95 * count) / nullif(sum(count), 0) as p95,"
    " sum(p99 * count) / nullif(sum(count), 0) as p99";

}  // namespace

json::array service_stats(pqxx::transaction_base& tx) {
  static const std::string sql =
      std::string{
          "with recent as ("
          "  select service, signal, name, bucket, count, errors, p50, p95, p99 from aggregates"
          "  where width_s = 10 and bucket >= now() - interval '5 minutes'),"
          " seen as ("
          "  select service, max(bucket) + interval '60 seconds' as last_seen from aggregates"
          "  where width_s = 60 and bucket >= now() - interval '24 hours' group by service),"
          " seen_recent as ("
          "  select service, max(bucket) + interval '10 seconds' as last_seen from recent"
          "  group by service),"
          " open_inc as ("
          "  select service, count(*) as n, max(case severity when 'critical' then 3"
          "   when 'warning' then 2 else 1 end) as worst from incidents"
          "  where status in ('pending', 'triggered', 'acknowledged') group by service),"
          " names as (select service from seen union select service from open_inc),"
          " logs as (select service, sum(count) as c, sum(errors) as e from recent"
          "  where signal = 'log' group by service),"
          " metric_rows as (select service, name, sum(count) as count, "} +
      merged_quantiles +
      "  from recent where signal = 'metric' group by service, name),"
      " metrics as (select service, jsonb_agg(jsonb_build_object('name', name, 'p50', p50,"
      "  'p95', p95, 'p99', p99, 'count', count) order by name) as m from metric_rows"
      "  group by service)"
      " select jsonb_build_object('service', n.service,"
      "  'last_seen', rtmon_iso(coalesce(r.last_seen, s.last_seen)),"
      "  'logs_per_s', coalesce(l.c, 0) / 300.0,"
      "  'error_rate', l.e::float8 / nullif(l.c, 0),"
      "  'metrics', coalesce(m.m, '[]'::jsonb),"
      "  'open_incidents', coalesce(o.n, 0),"
      "  'worst_severity', case o.worst when 3 then 'critical' when 2 then 'warning'"
      "   when 1 then 'info' end)::text"
      " from names n left join seen s using (service) left join seen_recent r using (service)"
      " left join logs l using (service) left join metrics m using (service)"
      " left join open_inc o using (service) order by n.service limit 1000";
  json::array items;
  for (const auto& r : tx.exec(sql)) items.push_back(parse_json(r[0].as<std::string>()));
  return items;
}

void services_list(service& s, call& c) {
  s.read(c, [](pqxx::transaction_base& tx) {
    return reply{200, json::object{{"items", service_stats(tx)}}};
  });
}

/// The bucket width for a range: 10 s up to 1 h, 60 s up to 24 h, then the smallest of a few
/// round widths that keeps it at most ~500 points.
int64_t series_width_s(std::chrono::seconds range) {
  if (range <= std::chrono::hours{1}) return 10;
  if (range <= std::chrono::hours{24}) return 60;
  for (int64_t w : {300, 600, 900, 1800, 3600, 7200, 10800, 21600})
    if (range.count() / w <= 500) return w;
  return 21600;
}

void services_series(service& s, call& c) {
  auto svc = c.m.captures["service"];
  if (svc.empty() || svc.size() > 200) throw bad_request("service: 1 to 200 characters");
  auto signal = c.q.get("signal").value_or("log");
  if (signal != "log" && signal != "metric" && signal != "event")
    throw bad_request("signal: must be log, metric or event");
  auto name = parse_text(c.q, "name").value_or("");
  if (signal == "metric" && name.empty()) throw bad_request("name: required for signal=metric");
  if (signal == "log" && !name.empty()) throw bad_request("name: not used for signal=log");
  auto range = parse_range(c.q, std::chrono::system_clock::now());
  auto width =
      series_width_s(std::chrono::duration_cast<std::chrono::seconds>(range.to - range.from));
  // Stored widths are 10 s and 60 s; wider buckets are re-binned from the 60 s rows.
  auto source = width == 10 ? 10 : 60;
  s.read(c, [=](pqxx::transaction_base& tx) {
    auto rows = tx.exec_params(
        std::string{"select jsonb_build_object('t', rtmon_iso(t), 'count', count,"
                    " 'errors', errors, 'error_rate', errors::float8 / nullif(count, 0),"
                    " 'sum', sum, 'min', min, 'max', max, 'p50', p50, 'p95', p95,"
                    " 'p99', p99)::text from ("
                    " select date_bin(make_interval(secs => $1), bucket, timestamptz 'epoch') as t,"
                    " sum(count) as count, sum(errors) as errors, sum(sum) as sum,"
                    " min(min) as min, max(max) as max, "} +
            merged_quantiles +
            " from aggregates where service = $2 and width_s = $3 and signal = $4 and name = $5"
            " and bucket >= date_bin(make_interval(secs => $1), $6::timestamptz,"
            " timestamptz 'epoch') and bucket < $7::timestamptz"
            " group by 1 order by 1) p",
        width, svc, source, signal, name, iso_ms(range.from), iso_ms(range.to));
    json::array points;
    for (const auto& r : rows) {
      auto p = parse_json(r[0].as<std::string>());
      if (signal != "metric") {  // not measured for logs and events: null, not 0
        auto& o = p.as_object();
        for (auto k : {"sum", "min", "max", "p50", "p95", "p99"}) o[k] = nullptr;
      }
      if (signal != "log") p.as_object()["error_rate"] = nullptr;
      points.push_back(std::move(p));
    }
    return reply{200, json::object{{"service", svc},
                                   {"signal", signal},
                                   {"name", name},
                                   {"width_s", width},
                                   {"points", std::move(points)}}};
  });
}

}  // namespace rtmon::api
