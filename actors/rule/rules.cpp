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

// --- parsing ---------------------------------------------------------------------------------

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

// --- evaluation ------------------------------------------------------------------------------

rule_state::rule_state(const rule_spec& spec) : spec_(&spec) {}

bool rule_state::breaching(double v) const {
  switch (spec_->op) {
    case comparison::gt:
      return v > spec_->threshold;
    case comparison::ge:
      return v >= spec_->threshold;
    case comparison::lt:
      return v < spec_->threshold;
    case comparison::le:
      return v <= spec_->threshold;
  }
  return false;
}

bool rule_state::recovered(double v) const {
  if (!spec_->has_recovery) return !breaching(v);
  // The rule's comparison applied to the recovery value no longer holds: for '>' recovered
  // means v <= recovery, for '>=' v < recovery, for '<' v >= recovery, for '<=' v > recovery.
  // So recovery == threshold is exactly "no hysteresis".
  switch (spec_->op) {
    case comparison::gt:
      return v <= spec_->recovery;
    case comparison::ge:
      return v < spec_->recovery;
    case comparison::lt:
      return v >= spec_->recovery;
    case comparison::le:
      return v > spec_->recovery;
  }
  return false;
}

alert_change rule_state::evaluate(double value, bool sufficient, int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  if (spec_->kind != rule_kind::threshold && spec_->kind != rule_kind::error_rate) return ch;
  if (!std::isfinite(value)) sufficient = false;
  if (sufficient) last_value_ = value;
  ch.value = last_value_;
  switch (state_) {
    case alert_state::inactive:
      if (sufficient && breaching(value)) {
        since_ = now_ms;
        recovered_since_ = -1;
        if (spec_->for_ms <= 0) {
          state_ = alert_state::firing;
          ch.kind = alert_change::firing;
        } else {
          state_ = alert_state::pending;
          ch.kind = alert_change::pending;
        }
      }
      return ch;
    case alert_state::pending:
      if (!sufficient || !breaching(value)) {
        state_ = alert_state::inactive;
        ch.kind = alert_change::cancelled;
      } else if (now_ms - since_ >= spec_->for_ms) {
        state_ = alert_state::firing;
        since_ = now_ms;
        ch.kind = alert_change::firing;
      }
      return ch;
    case alert_state::firing:
      if (!sufficient) return ch;  // no data is not recovery (absence rules cover silence)
      if (breaching(value)) {
        recovered_since_ = -1;
        ch.kind = alert_change::repeat;
      } else if (recovered(value)) {
        if (recovered_since_ < 0) recovered_since_ = now_ms;
        if (now_ms - recovered_since_ >= spec_->keep_firing_for_ms) {
          state_ = alert_state::inactive;
          recovered_since_ = -1;
          ch.kind = alert_change::resolved;
        }
      }
      // Otherwise in the hysteresis band: still firing, nothing to report.
      return ch;
  }
  return ch;
}

alert_change rule_state::saw_data(int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  if (spec_->kind != rule_kind::absence) return ch;
  if (last_data_ >= 0)
    ch.value = static_cast<double>(std::max<int64_t>(0, now_ms - last_data_)) / 1000.0;
  if (now_ms > last_data_) last_data_ = now_ms;
  if (state_ == alert_state::firing) {
    ch.kind = alert_change::resolved;
  } else if (state_ == alert_state::pending) {
    ch.kind = alert_change::cancelled;
  }
  if (ch.kind != alert_change::none) last_value_ = ch.value;
  state_ = alert_state::inactive;
  return ch;
}

alert_change rule_state::on_event(bool matches, int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  if (spec_->kind != rule_kind::event_match || !matches) return ch;
  if (now_ms > last_match_) last_match_ = now_ms;
  if (state_ == alert_state::firing) {
    last_value_ += 1;
    ch.kind = alert_change::repeat;
  } else {
    state_ = alert_state::firing;
    since_ = now_ms;
    last_value_ = 1;
    ch.kind = alert_change::firing;
  }
  ch.value = last_value_;
  return ch;
}

alert_change rule_state::advance(int64_t now_ms) {
  alert_change ch;
  ch.at_ms = now_ms;
  switch (spec_->kind) {
    case rule_kind::threshold:
    case rule_kind::error_rate:
      if (state_ == alert_state::firing && recovered_since_ >= 0 &&
          now_ms - recovered_since_ >= spec_->keep_firing_for_ms) {
        state_ = alert_state::inactive;
        recovered_since_ = -1;
        ch.kind = alert_change::resolved;
        ch.value = last_value_;
      }
      return ch;
    case rule_kind::absence: {
      if (last_data_ < 0) return ch;  // never sent anything: nothing can be absent
      int64_t silent = now_ms - last_data_;
      if (silent < spec_->absent_for_ms) return ch;
      last_value_ = static_cast<double>(silent) / 1000.0;
      ch.value = last_value_;
      if (state_ == alert_state::inactive) {
        since_ = now_ms;
        if (spec_->for_ms <= 0) {
          state_ = alert_state::firing;
          ch.kind = alert_change::firing;
        } else {
          state_ = alert_state::pending;
          ch.kind = alert_change::pending;
        }
      } else if (state_ == alert_state::pending && now_ms - since_ >= spec_->for_ms) {
        state_ = alert_state::firing;
        since_ = now_ms;
        ch.kind = alert_change::firing;
      }
      return ch;
    }
    case rule_kind::event_match:
      if (state_ == alert_state::firing && now_ms - last_match_ >= spec_->keep_firing_for_ms) {
        state_ = alert_state::inactive;
        ch.kind = alert_change::resolved;
        ch.value = last_value_;
      }
      return ch;
  }
  return ch;
}

}  // namespace rtmon
