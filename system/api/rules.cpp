// GET /api/rules: the rules in force (this process's rules file, reloaded on SIGHUP) with
// their open incidents.
#include <boost/json.hpp>

#include "actors/rule/rules.hpp"
#include "system/api/service.hpp"

namespace rtmon::api {

namespace json = boost::json;

void rules_list(service& s, call& c) {
  auto rules = s.rules();
  s.read(c, [rules](pqxx::transaction_base& tx) {
    std::map<std::string, json::array> states;
    for (const auto& r :
         tx.exec("select rule, jsonb_build_object('service', service, 'group', group_labels,"
                 " 'status', status, 'incident_id', id)::text from incidents"
                 " where status in ('pending', 'triggered', 'acknowledged')"
                 " order by rule, service, opened_at limit 10000"))
      states[r[0].as<std::string>()].push_back(parse_json(r[1].as<std::string>()));
    json::array items;
    if (rules) {
      for (const auto& r : rules->rules) {
        json::object labels;
        for (const auto& [k, v] : r.labels) labels[k] = v;
        json::object o{
            {"name", r.name},
            {"kind", to_string(r.kind)},
            {"severity", to_string(r.sev)},
            {"summary", r.summary},
            {"for_s", r.for_ms % 1000 == 0 ? json::value(r.for_ms / 1000)
                                           : json::value(static_cast<double>(r.for_ms) / 1000.0)},
            {"labels", std::move(labels)}};
        // What the UI draws: the watched statistic and its threshold (a fraction for error
        // rates), so charts need not parse summaries.
        if (r.kind == rule_kind::threshold || r.kind == rule_kind::error_rate) {
          o["metric"] = r.kind == rule_kind::error_rate ? std::string{"error_rate"} : r.metric;
          if (r.kind == rule_kind::threshold) o["stat"] = to_string(r.stat);
          o["op"] = to_string(r.op);
          o["threshold"] = r.threshold;
          o["window_s"] = r.window_ms / 1000;
        }
        auto it = states.find(r.name);
        o["states"] = it == states.end() ? json::array{} : std::move(it->second);
        items.push_back(std::move(o));
      }
    }
    return reply{200, json::object{{"items", std::move(items)}}};
  });
}

}  // namespace rtmon::api
