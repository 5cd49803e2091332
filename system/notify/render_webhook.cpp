// Generic webhook messages, PagerDuty-Events-v2-like.
#include <cstdio>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "system/notify/render.hpp"
#include "system/notify/render_view.hpp"

namespace rtmon::notify {

namespace json = boost::json;
using namespace detail;

std::string event_action(std::string_view event) {
  if (event == "acknowledged") return "acknowledge";
  if (event == "resolved" || event == "cancelled") return "resolve";
  return "trigger";
}

std::string pagerduty_severity(std::string_view severity) {
  if (severity == "critical" || severity == "warning" || severity == "info")
    return std::string(severity);
  return "warning";
}

std::string render_webhook(const channel& ch, const notification& n) {
  auto v = read(ch, n);
  json::object details;
  auto put = [&](const char* k, const std::string& val) {
    if (!val.empty()) details[k] = val;
  };
  put("event", v.event);
  put("rule", v.rule);
  put("status", v.status);
  put("detail", v.detail);
  put("actor", v.actor);
  put("opened_at", v.opened_at);
  put("fingerprint", v.fingerprint);
  for (const char* k : {"value", "breach_count", "seq", "labels", "group"})
    if (auto it = v.t.find(k); it != v.t.end()) details[k] = it->value();
  std::string summary = "[" + headline(v) + "] " + title(v);
  if (!v.summary.empty()) summary += ": " + v.summary;

  json::object payload{{"summary", clip(summary, 1024)},
                       {"source", v.service.empty() ? std::string("rtmon") : v.service},
                       {"severity", pagerduty_severity(v.severity)},
                       {"timestamp", v.at},
                       {"custom_details", std::move(details)}};
  if (!v.rule.empty()) payload["class"] = v.rule;
  json::object msg{{"event_action", event_action(v.event)},
                   {"dedup_key", clip(v.incident_id, 255)},
                   {"payload", std::move(payload)},
                   {"client", "rtmon"}};
  json::array links;
  if (!v.url.empty()) {
    msg["client_url"] = v.url;
    links.push_back(json::object{{"href", v.url}, {"text", "Incident " + v.incident_id}});
  }
  msg["links"] = std::move(links);
  msg["rtmon"] = v.t;
  return json::serialize(msg);
}

}  // namespace rtmon::notify
