#include "messages/processing.hpp"

#include <map>

namespace rtmon {

std::vector<service_batch_ptr> split_by_service(const store_batch_ptr& rows, bool warmup,
                                                rule_set_ptr rules) {
  std::map<std::string_view, std::shared_ptr<service_batch>> by;
  auto of = [&](const std::string& service) -> service_batch& {
    auto& slot = by[service];
    if (!slot) {
      slot = std::make_shared<service_batch>();
      slot->rows = rows;
      slot->service = service;
      slot->warmup = warmup;
      slot->rules = rules;
    }
    return *slot;
  };
  for (uint32_t i = 0; i < rows->logs.size(); ++i) of(rows->logs[i].service).logs.push_back(i);
  for (uint32_t i = 0; i < rows->metrics.size(); ++i)
    of(rows->metrics[i].service).metrics.push_back(i);
  for (uint32_t i = 0; i < rows->events.size(); ++i)
    of(rows->events[i].service).events.push_back(i);
  // Commands replayed in a warm-up were carried out (or refused) the first time.
  if (!warmup)
    for (uint32_t i = 0; i < rows->commands.size(); ++i)
      of(rows->commands[i].service).commands.push_back(i);
  std::vector<service_batch_ptr> out;
  out.reserve(by.size());
  for (auto& kv : by) out.push_back(std::move(kv.second));
  return out;
}

std::string to_string(alert_change::kind_t k) {
  switch (k) {
    case alert_change::none:
      return "none";
    case alert_change::pending:
      return "pending";
    case alert_change::cancelled:
      return "cancelled";
    case alert_change::firing:
      return "firing";
    case alert_change::repeat:
      return "repeat";
    case alert_change::resolved:
      return "resolved";
  }
  return "?";
}

std::string fingerprint(const std::string& rule, const std::string& service,
                        const std::string& group_json) {
  // Readable in the UI and in Kafka keys; '|' cannot occur in rule or service names.
  std::string out = rule + "|" + service;
  if (!group_json.empty() && group_json != "{}") out += "|" + group_json;
  return out;
}

}  // namespace rtmon
