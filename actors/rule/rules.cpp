#include "actors/rule/rules.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

namespace rtmon {

namespace json = boost::json;

// --- names -----------------------------------------------------------------------------------

std::string to_string(rule_kind k) {
  switch (k) {
    case rule_kind::threshold:
      return "threshold";
    case rule_kind::error_rate:
      return "error_rate";
    case rule_kind::absence:
      return "absence";
    case rule_kind::event_match:
      return "event_match";
  }
  return "?";
}

std::string to_string(comparison c) {
  switch (c) {
    case comparison::gt:
      return ">";
    case comparison::ge:
      return ">=";
    case comparison::lt:
      return "<";
    case comparison::le:
      return "<=";
  }
  return "?";
}

std::string to_string(metric_stat s) {
  switch (s) {
    case metric_stat::avg:
      return "avg";
    case metric_stat::min:
      return "min";
    case metric_stat::max:
      return "max";
    case metric_stat::sum:
      return "sum";
    case metric_stat::count:
      return "count";
    case metric_stat::rate:
      return "rate";
    case metric_stat::p50:
      return "p50";
    case metric_stat::p95:
      return "p95";
    case metric_stat::p99:
      return "p99";
  }
  return "?";
}

std::string to_string(severity s) {
  switch (s) {
    case severity::info:
      return "info";
    case severity::warning:
      return "warning";
    case severity::critical:
      return "critical";
  }
  return "?";
}

std::string to_string(alert_state s) {
  switch (s) {
    case alert_state::inactive:
      return "inactive";
    case alert_state::pending:
      return "pending";
    case alert_state::firing:
      return "firing";
  }
  return "?";
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";  // no "-0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string format_duration(int64_t ms) {
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

bool parse_duration(std::string_view text, int64_t& out_ms) {
  // One or more <digits><unit> parts: "500ms", "30s", "1m30s", "1h", "2d".
  if (text.empty()) return false;
  int64_t total = 0;
  size_t i = 0;
  constexpr int64_t max_ms = int64_t{365} * 24 * 3600 * 1000;  // a year is plenty
  while (i < text.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > max_ms) return false;
      ++i;
    }
    if (i == start) return false;
    size_t ustart = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
    auto unit = text.substr(ustart, i - ustart);
    int64_t mult;
    if (unit == "ms")
      mult = 1;
    else if (unit == "s")
      mult = 1000;
    else if (unit == "m")
      mult = 60000;
    else if (unit == "h")
      mult = 3600000;
    else if (unit == "d")
      mult = 86400000;
    else
      return false;
    total += n * mult;
    if (total > max_ms) return false;
  }
  out_ms = total;
  return true;
}

// --- summaries -------------------------------------------------------------------------------

namespace {

std::string default_summary(rule_kind k) {
  switch (k) {
    case rule_kind::threshold:
      return "{rule}: {stat}({metric}) over {window} is {value} ({op} {threshold}) on {service}";
    case rule_kind::error_rate:
      return "{rule}: error rate over {window} is {value} ({op} {threshold}) on {service}";
    case rule_kind::absence:
      return "{rule}: no data from {service} for {value}s";
    case rule_kind::event_match:
      return "{rule}: {event_type} event on {service}";
  }
  return "{rule}";
}

}  // namespace

std::string render_summary(const rule_spec& spec, const std::string& service, double value,
                           const std::map<std::string, std::string>& group) {
  const std::string tmpl = spec.summary.empty() ? default_summary(spec.kind) : spec.summary;
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    auto close = tmpl.find('}', i + 1);
    if (close == std::string::npos) {
      out.append(tmpl, i, std::string::npos);
      break;
    }
    auto name = tmpl.substr(i + 1, close - i - 1);
    if (name.find('{') != std::string::npos) {  // "{a {rule}": the first brace is literal
      out += tmpl[i++];
      continue;
    }
    bool known = true;
    std::string rep;
    if (name == "rule")
      rep = spec.name;
    else if (name == "service")
      rep = service;
    else if (name == "severity")
      rep = to_string(spec.sev);
    else if (name == "value")
      rep = format_number(value);
    else if (name == "threshold")
      rep = format_number(spec.threshold);
    else if (name == "value_pct")  // ratios (error rates) read better as percentages
      rep = format_number(value * 100) + "%";
    else if (name == "threshold_pct")
      rep = format_number(spec.threshold * 100) + "%";
    else if (name == "stat")
      rep = to_string(spec.stat);
    else if (name == "metric")
      rep = spec.kind == rule_kind::error_rate ? "error_rate" : spec.metric;
    else if (name == "window")
      rep = format_duration(spec.window_ms);
    else if (name == "op")
      rep = to_string(spec.op);
    else if (name == "event_type")
      rep = spec.event_type;
    else if (name.rfind("labels.", 0) == 0) {
      auto it = spec.labels.find(name.substr(7));
      if (it != spec.labels.end())
        rep = it->second;
      else
        known = false;
    } else if (name.rfind("group.", 0) == 0) {
      auto it = group.find(name.substr(6));
      if (it != group.end())
        rep = it->second;
      else
        known = false;
    } else {
      known = false;
    }
    if (known)
      out += rep;
    else
      out.append(tmpl, i, close - i + 1);
    i = close + 1;
  }
  return out;
}

// --- matching --------------------------------------------------------------------------------

bool applies_to(const rule_spec& spec, const std::string& service) {
  return spec.services.empty() ||
         std::find(spec.services.begin(), spec.services.end(), service) != spec.services.end();
}

bool matches_event(const rule_spec& spec, const std::string& type,
                   const std::map<std::string, std::string>& attrs) {
  if (spec.kind != rule_kind::event_match || type != spec.event_type) return false;
  for (const auto& [k, v] : spec.match_attrs) {
    auto it = attrs.find(k);
    if (it == attrs.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace rtmon
