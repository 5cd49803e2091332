// parse_rules: the rules file (config/rules.json) into validated rule specs, with errors that
// name the rule and the field.
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <set>

#include "actors/rule/rules.hpp"

namespace rtmon {

namespace json = boost::json;

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const std::vector<std::string>& known_fields() {
  // clang-format off
  static const std::vector<std::string> fields = {
      "name", "type", "severity", "services", "metric", "stat", "window", "op", "threshold",
      "recovery", "min_count", "for", "keep_firing_for", "absent_for", "event_type", "match",
      "labels", "group_by", "summary"};
  // clang-format on
  return fields;
}

// Which fields each rule type uses; a field given to a type that ignores it is an error (it
// would otherwise be silently ignored, which hides mistakes).
bool field_applies(const std::string& field, rule_kind k) {
  static const std::set<std::string> common = {"name",     "type",   "severity",
                                               "services", "labels", "summary"};
  if (common.count(field)) return true;
  switch (k) {
    case rule_kind::threshold:
      return field == "metric" || field == "stat" || field == "window" || field == "op" ||
             field == "threshold" || field == "recovery" || field == "min_count" ||
             field == "for" || field == "keep_firing_for" || field == "group_by";
    case rule_kind::error_rate:
      return field == "window" || field == "op" || field == "threshold" || field == "recovery" ||
             field == "min_count" || field == "for" || field == "keep_firing_for";
    case rule_kind::absence:
      return field == "absent_for" || field == "for";
    case rule_kind::event_match:
      return field == "event_type" || field == "match" || field == "keep_firing_for";
  }
  return false;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string json_kind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "?";
}

// Parses one rule object, appending errors; returns false if the rule is invalid.
class rule_parser {
 public:
  rule_parser(const json::object& obj, size_t index, const std::vector<int64_t>& spans,
              std::vector<std::string>& errors)
      : obj_(obj), spans_(spans), errors_(errors) {
    label_ = "rule #" + std::to_string(index);
  }

  bool run(rule_spec& r) {
    // Name first: every later error names the rule by it.
    if (auto* v = obj_.if_contains("name")) {
      if (!v->is_string())
        error("name", "must be a string, not " + json_kind(*v));
      else if (!valid_name(v->as_string()))
        error("name", "must be 1-200 characters of A-Z a-z 0-9 _ . -");
      else {
        r.name = std::string(v->as_string());
        label_ = "rule '" + r.name + "'";
      }
    } else {
      error("name", "required");
    }
    // Type next: which other fields apply depends on it.
    bool type_ok = false;
    if (auto* v = obj_.if_contains("type")) {
      auto s = v->is_string() ? std::string(v->as_string()) : std::string();
      if (s == "threshold")
        r.kind = rule_kind::threshold, type_ok = true;
      else if (s == "error_rate")
        r.kind = rule_kind::error_rate, type_ok = true;
      else if (s == "absence")
        r.kind = rule_kind::absence, type_ok = true;
      else if (s == "event_match")
        r.kind = rule_kind::event_match, type_ok = true;
      else
        error("type", "must be one of threshold, error_rate, absence, event_match");
    } else {
      error("type", "required (threshold, error_rate, absence or event_match)");
    }
    // Unknown fields (typos) and fields the type does not use.
    const auto& known = known_fields();
    for (const auto& kv : obj_) {
      std::string key(kv.key());
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string best;
        size_t best_d = 3;
        for (const auto& k : known) {
          auto d = edit_distance(key, k);
          if (d < best_d) best_d = d, best = k;
        }
        error(key, best.empty() ? "unknown field" : "unknown field (did you mean '" + best + "'?)");
      } else if (type_ok && !field_applies(key, r.kind)) {
        error(key, "not used by rules of type '" + to_string(r.kind) + "'");
      }
    }

    parse_common(r);
    if (type_ok) {
      switch (r.kind) {
        case rule_kind::threshold:
        case rule_kind::error_rate:
          parse_windowed(r);
          break;
        case rule_kind::absence:
          parse_absence(r);
          break;
        case rule_kind::event_match:
          parse_event_match(r);
          break;
      }
    }
    return !failed_;
  }

  const std::string& label() const { return label_; }

  void error(const std::string& field, const std::string& problem) {
    errors_.push_back(label_ + ": field '" + field + "': " + problem);
    failed_ = true;
  }

 private:
  const json::value* get(const char* field) const { return obj_.if_contains(field); }

  bool get_string(const char* field, std::string& out, bool non_empty = true) {
    auto* v = get(field);
    if (!v) return false;
    if (!v->is_string()) {
      error(field, "must be a string, not " + json_kind(*v));
      return false;
    }
    if (non_empty && v->as_string().empty()) {
      error(field, "must not be empty");
      return false;
    }
    out = std::string(v->as_string());
    return true;
  }

  bool get_number(const char* field, double& out) {
    auto* v = get(field);
    if (!v) return false;
    if (!v->is_number()) {
      error(field, "must be a number, not " + json_kind(*v));
      return false;
    }
    out = v->to_number<double>();
    if (!std::isfinite(out)) {
      error(field, "must be finite");
      return false;
    }
    return true;
  }

  bool get_duration(const char* field, int64_t& out) {
    auto* v = get(field);
    if (!v) return false;
    if (v->is_int64() || v->is_uint64()) {
      if (v->is_int64() && v->as_int64() < 0) {
        error(field, "must not be negative");
        return false;
      }
      auto ms = v->is_int64()
                    ? v->as_int64()
                    : static_cast<int64_t>(std::min<uint64_t>(v->as_uint64(), uint64_t{1} << 62));
      if (ms > int64_t{365} * 86400000) {
        error(field, "must be at most a year");
        return false;
      }
      out = ms;
      return true;
    }
    if (v->is_string() && parse_duration(std::string_view(v->as_string()), out)) return true;
    std::string shown = v->is_string() ? "'" + std::string(v->as_string()) + "'" : json_kind(*v);
    error(field, "invalid duration " + shown +
                     " (use e.g. \"500ms\", \"30s\", \"1m\", \"1h\" or integer milliseconds)");
    return false;
  }

  bool get_string_list(const char* field, std::vector<std::string>& out) {
    auto* v = get(field);
    if (!v) return false;
    if (!v->is_array()) {
      error(field, "must be an array of strings, not " + json_kind(*v));
      return false;
    }
    std::vector<std::string> list;
    for (const auto& e : v->as_array()) {
      if (!e.is_string() || e.as_string().empty()) {
        error(field, "must be an array of non-empty strings");
        return false;
      }
      std::string s(e.as_string());
      if (std::find(list.begin(), list.end(), s) != list.end()) {
        error(field, "lists '" + s + "' twice");
        return false;
      }
      list.push_back(std::move(s));
    }
    out = std::move(list);
    return true;
  }

  bool get_string_map(const char* field, std::map<std::string, std::string>& out) {
    auto* v = get(field);
    if (!v) return false;
    if (!v->is_object()) {
      error(field, "must be an object of strings, not " + json_kind(*v));
      return false;
    }
    std::map<std::string, std::string> m;
    for (const auto& kv : v->as_object()) {
      if (kv.key().empty()) {
        error(field, "keys must not be empty");
        return false;
      }
      if (!kv.value().is_string()) {
        error(field, "value of '" + std::string(kv.key()) + "' must be a string, not " +
                         json_kind(kv.value()));
        return false;
      }
      m[std::string(kv.key())] = std::string(kv.value().as_string());
    }
    out = std::move(m);
    return true;
  }

  void parse_common(rule_spec& r) {
    std::string s;
    if (get_string("severity", s)) {
      if (s == "info")
        r.sev = severity::info;
      else if (s == "warning")
        r.sev = severity::warning;
      else if (s == "critical")
        r.sev = severity::critical;
      else
        error("severity", "must be one of info, warning, critical");
    }
    get_string_list("services", r.services);
    get_string_map("labels", r.labels);
    get_string("summary", r.summary, false);
  }

  std::string spans_text() const {
    std::string out;
    for (size_t i = 0; i < spans_.size(); ++i) {
      if (i) out += ", ";
      out += format_duration(spans_[i]);
    }
    return out;
  }

  void parse_windowed(rule_spec& r) {
    bool threshold_rule = r.kind == rule_kind::threshold;
    std::string s;
    if (threshold_rule) {
      if (get_string("metric", s))
        r.metric = s;
      else if (!get("metric"))
        error("metric", "required for threshold rules");
      if (get_string("stat", s)) {
        static const std::vector<std::pair<const char*, metric_stat>> stats = {
            {"avg", metric_stat::avg}, {"min", metric_stat::min},     {"max", metric_stat::max},
            {"sum", metric_stat::sum}, {"count", metric_stat::count}, {"rate", metric_stat::rate},
            {"p50", metric_stat::p50}, {"p95", metric_stat::p95},     {"p99", metric_stat::p99}};
        auto it =
            std::find_if(stats.begin(), stats.end(), [&](const auto& p) { return s == p.first; });
        if (it != stats.end())
          r.stat = it->second;
        else
          error("stat", "must be one of avg, min, max, sum, count, rate, p50, p95, p99");
      }
      get_string_list("group_by", r.group_by);
    }
    int64_t w = 0;
    if (get("window")) {
      if (get_duration("window", w)) {
        if (std::find(spans_.begin(), spans_.end(), w) == spans_.end())
          error("window", "must be one of " + spans_text());
        else
          r.window_ms = w;
      }
    } else if (std::find(spans_.begin(), spans_.end(), r.window_ms) == spans_.end()) {
      error("window", "required (the default " + format_duration(r.window_ms) +
                          " is not a configured window; use one of " + spans_text() + ")");
    }
    bool op_ok = true;
    if (get_string("op", s)) {
      if (s == ">")
        r.op = comparison::gt;
      else if (s == ">=")
        r.op = comparison::ge;
      else if (s == "<")
        r.op = comparison::lt;
      else if (s == "<=")
        r.op = comparison::le;
      else
        error("op", "must be one of >, >=, <, <="), op_ok = false;
    } else if (get("op")) {
      op_ok = false;
    }
    bool threshold_ok = false;
    if (get_number("threshold", r.threshold)) {
      threshold_ok = true;
      if (!threshold_rule && (r.threshold < 0 || r.threshold > 1)) {
        error("threshold", "must be a fraction between 0 and 1 (0.05 = 5%)");
        threshold_ok = false;
      }
    } else if (!get("threshold")) {
      error("threshold", "required");
    }
    if (get_number("recovery", r.recovery)) {
      r.has_recovery = true;
      if (!threshold_rule && (r.recovery < 0 || r.recovery > 1)) {
        error("recovery", "must be a fraction between 0 and 1 (0.02 = 2%)");
      } else if (threshold_ok && op_ok) {
        bool above = r.op == comparison::gt || r.op == comparison::ge;
        if (above && r.recovery > r.threshold)
          error("recovery", "must be <= threshold (" + format_number(r.threshold) + ") for '" +
                                to_string(r.op) + "'");
        else if (!above && r.recovery < r.threshold)
          error("recovery", "must be >= threshold (" + format_number(r.threshold) + ") for '" +
                                to_string(r.op) + "'");
      }
    }
    if (auto* v = get("min_count")) {
      if (v->is_uint64())
        r.min_count = v->as_uint64();
      else if (v->is_int64() && v->as_int64() >= 0)
        r.min_count = static_cast<uint64_t>(v->as_int64());
      else
        error("min_count", "must be a non-negative integer");
    }
    get_duration("for", r.for_ms);
    get_duration("keep_firing_for", r.keep_firing_for_ms);
  }

  void parse_absence(rule_spec& r) {
    if (get_duration("absent_for", r.absent_for_ms)) {
      if (r.absent_for_ms <= 0) error("absent_for", "must be positive");
    } else if (!get("absent_for")) {
      error("absent_for", "required for absence rules");
    }
    get_duration("for", r.for_ms);
  }

  void parse_event_match(rule_spec& r) {
    std::string s;
    if (get_string("event_type", s))
      r.event_type = s;
    else if (!get("event_type"))
      error("event_type", "required for event_match rules");
    get_string_map("match", r.match_attrs);
    r.keep_firing_for_ms = default_event_keep_firing_ms;
    if (get_duration("keep_firing_for", r.keep_firing_for_ms) && r.keep_firing_for_ms <= 0)
      error("keep_firing_for",
            "must be positive for event_match rules (the alert resolves this long after the "
            "last matching event)");
  }

  const json::object& obj_;
  const std::vector<int64_t>& spans_;
  std::vector<std::string>& errors_;
  std::string label_;
  bool failed_ = false;
};

}  // namespace

rules_parse_result parse_rules(std::string_view json_text,
                               const std::vector<int64_t>& window_spans_ms) {
  rules_parse_result out;
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(json_text.data(), json_text.size()), ec);
  if (ec) {
    out.errors.push_back("rules file: invalid JSON: " + ec.message());
    return out;
  }
  if (!doc.is_object()) {
    out.errors.push_back("rules file: must be an object {\"rules\": [...]}");
    return out;
  }
  const auto& top = doc.as_object();
  for (const auto& kv : top)
    if (kv.key() != "rules")
      out.errors.push_back("rules file: field '" + std::string(kv.key()) + "': unknown field");
  auto* rules = top.if_contains("rules");
  if (!rules || !rules->is_array()) {
    out.errors.push_back("rules file: field 'rules': required, an array of rules");
    return out;
  }
  std::map<std::string, size_t> seen;  // name -> 1-based index of its first definition
  size_t index = 0;
  for (const auto& v : rules->as_array()) {
    ++index;
    if (!v.is_object()) {
      out.errors.push_back("rule #" + std::to_string(index) + ": must be an object, not " +
                           json_kind(v));
      continue;
    }
    rule_spec r;
    rule_parser p(v.as_object(), index, window_spans_ms, out.errors);
    bool ok = p.run(r);
    if (!r.name.empty()) {
      auto [it, inserted] = seen.emplace(r.name, index);
      if (!inserted) {
        p.error("name",
                "duplicate: rule #" + std::to_string(it->second) + " already has this name");
        ok = false;
      }
    }
    if (ok) out.rules.push_back(std::move(r));
  }
  return out;
}

}  // namespace rtmon
