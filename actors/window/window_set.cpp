#include "actors/window/window_set.hpp"

#include <algorithm>

#include <boost/json.hpp>

namespace rtmon {

namespace json = boost::json;

namespace {

std::string text_of(const json::value& v) {
  return v.is_string() ? std::string{v.get_string()} : json::serialize(v);
}

double stat_of(const metric_stats& s, metric_stat which) {
  switch (which) {
    case metric_stat::avg:
      return s.avg;
    case metric_stat::min:
      return s.min;
    case metric_stat::max:
      return s.max;
    case metric_stat::sum:
      return s.sum;
    case metric_stat::count:
      return static_cast<double>(s.count);
    case metric_stat::rate:
      return s.rate_per_s;
    case metric_stat::p50:
      return s.p50;
    case metric_stat::p95:
      return s.p95;
    case metric_stat::p99:
      return s.p99;
  }
  return 0;
}

}  // namespace

std::string pick_tags(const std::map<std::string, std::string>& tags,
                      const std::vector<std::string>& keys) {
  std::map<std::string_view, std::string_view> picked;  // sorted: equal selections, equal text
  for (const auto& k : keys)
    if (auto i = tags.find(k); i != tags.end()) picked[k] = i->second;
  if (picked.empty()) return "{}";
  json::object o;
  for (const auto& [k, v] : picked) o[k] = v;
  return json::serialize(o);
}

std::string select_tags(const std::string& tags_json, const std::vector<std::string>& keys) {
  if (keys.empty() || tags_json.size() <= 2) return "{}";
  return pick_tags(flat_attrs(tags_json), keys);
}

std::map<std::string, std::string> flat_attrs(const std::string& attrs_json) {
  std::map<std::string, std::string> out;
  json::error_code ec;
  auto v = json::parse(attrs_json, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& kv : v.get_object()) out[std::string{kv.key()}] = text_of(kv.value());
  return out;
}

window_set::window_set(signal_kind kind, std::string service, window_options opts)
    : kind_(kind), service_(service), opts_(std::move(opts)), rollup_(service, opts_.rollup) {
  if (kind_ == signal_kind::log)
    logs_ = std::make_unique<log_window>(opts_.specs, opts_.allowed_lateness_ms);
  if (kind_ == signal_kind::event)
    events_ = std::make_unique<event_window>(opts_.specs, opts_.allowed_lateness_ms);
}

uint64_t window_set::late_count() const {
  uint64_t n = late_metrics_ + rollup_.late_count();
  if (logs_) n += logs_->late_count();
  if (events_) n += events_->late_count();
  return n;
}

metric_window* window_set::series(const std::string& name, const std::string& group) {
  auto key = name + "\n" + group;
  auto i = metrics_.find(key);
  if (i != metrics_.end()) return i->second.window.get();
  if (metrics_.size() >= opts_.max_series) {
    ++overflow_;
    return nullptr;
  }
  auto w = std::make_unique<metric_window>(opts_.specs, opts_.allowed_lateness_ms);
  // A new series starts at the service's event time, so its windows line up with the others.
  if (max_ts_ != INT64_MIN) w->advance_to(max_ts_);
  std::vector<std::string> keys;
  for (const auto& kv : flat_attrs(group)) keys.push_back(kv.first);
  return metrics_.emplace(key, metric_series{std::move(w), std::move(keys)})
      .first->second.window.get();
}

void window_set::apply_metrics(const service_batch& b, const rule_set& rules, int64_t proc_ms) {
  // The rules that read metrics of this service; they decide which series get windows.
  std::vector<const rule_spec*> watching;
  for (const auto& r : rules.rules)
    if (r.kind == rule_kind::threshold && applies_to(r, service_)) watching.push_back(&r);
  for (auto i : b.metrics) {
    const auto& row = b.rows->metrics[i];
    if (row.ts_ms > proc_ms + opts_.max_future_ms) {
      ++future_;
      continue;
    }
    // The tags are parsed once per row, and only when some selection needs them.
    auto tags = row.tags.size() > 2 ? flat_attrs(row.tags) : std::map<std::string, std::string>{};
    rollup_.add_metric(row.ts_ms, row.name, pick_tags(tags, opts_.series_tags), row.value);
    max_ts_ = std::max(max_ts_, row.ts_ms);
    for (const auto* r : watching) {
      if (r->metric != row.name) continue;
      auto* w = series(row.name, pick_tags(tags, r->group_by));
      if (w && !w->add(row.ts_ms, row.value)) ++late_metrics_;
    }
  }
}

void window_set::apply_logs(const service_batch& b, int64_t proc_ms) {
  for (auto i : b.logs) {
    const auto& row = b.rows->logs[i];
    if (row.ts_ms > proc_ms + opts_.max_future_ms) {
      ++future_;
      continue;
    }
    auto level = parse_log_level(row.level);
    rollup_.add_log(row.ts_ms, level);
    logs_->add(row.ts_ms, level);
    max_ts_ = std::max(max_ts_, row.ts_ms);
  }
}

void window_set::apply_events(const service_batch& b, const rule_set& rules, int64_t proc_ms,
                              std::map<std::string, uint32_t>& matches) {
  std::vector<const rule_spec*> watching;
  for (const auto& r : rules.rules)
    if (r.kind == rule_kind::event_match && applies_to(r, service_)) watching.push_back(&r);
  for (auto i : b.events) {
    const auto& row = b.rows->events[i];
    if (row.ts_ms > proc_ms + opts_.max_future_ms) {
      ++future_;
      continue;
    }
    rollup_.add_event(row.ts_ms, row.type);
    events_->add(row.ts_ms, row.type);
    max_ts_ = std::max(max_ts_, row.ts_ms);
    std::map<std::string, std::string> attrs;
    bool parsed = false;
    for (const auto* r : watching) {
      if (r->event_type != row.type) continue;
      if (!parsed && !r->match_attrs.empty()) {
        attrs = flat_attrs(row.attrs);
        parsed = true;
      }
      if (matches_event(*r, row.type, attrs)) ++matches[r->name];
    }
  }
}

window_report window_set::apply(const service_batch& b, const rule_set& rules, int64_t proc_ms) {
  window_report out;
  std::map<std::string, uint32_t> matches;
  switch (kind_) {
    case signal_kind::metric:
      apply_metrics(b, rules, proc_ms);
      break;
    case signal_kind::log:
      apply_logs(b, proc_ms);
      break;
    case signal_kind::event:
      apply_events(b, rules, proc_ms, matches);
      break;
    case signal_kind::command:  // commands go to incident actors, never to windows
      break;
  }
  if (max_ts_ == INT64_MIN) return out;  // nothing windowed yet
  out.max_ts_ms = max_ts_;
  // Every series moves to the service's event time: a series that stopped receiving samples
  // empties as its data leaves the window instead of keeping its last value forever.
  rollup_.advance_to(max_ts_);
  for (auto& kv : metrics_) kv.second.window->advance_to(max_ts_);
  if (logs_) logs_->advance_to(max_ts_);
  if (events_) events_->advance_to(max_ts_);
  for (const auto& r : rules.rules) {
    if (!applies_to(r, service_)) continue;
    if (kind_ == signal_kind::metric && r.kind == rule_kind::threshold) {
      auto prefix = r.metric + "\n";
      for (auto i = metrics_.lower_bound(prefix);
           i != metrics_.end() && i->first.compare(0, prefix.size(), prefix) == 0; ++i) {
        // A series of another rule's grouping on the same metric is not this rule's.
        const auto& keys = i->second.group_keys;
        if (!std::all_of(keys.begin(), keys.end(), [&](const std::string& k) {
              return std::find(r.group_by.begin(), r.group_by.end(), k) != r.group_by.end();
            }))
          continue;
        auto group = i->first.substr(prefix.size());
        auto s = i->second.window->stats(r.window_ms);
        rule_input in;
        in.rule = r.name;
        in.group = group;
        in.value = stat_of(s, r.stat);
        in.sufficient = s.count > 0 && s.count >= r.min_count;
        in.now_ms = max_ts_;
        out.inputs.push_back(std::move(in));
      }
    } else if (kind_ == signal_kind::log && r.kind == rule_kind::error_rate) {
      auto s = logs_->stats(r.window_ms);
      rule_input in;
      in.rule = r.name;
      in.value = s.error_rate;
      in.sufficient = s.total > 0 && s.total >= r.min_count;
      in.now_ms = max_ts_;
      out.inputs.push_back(std::move(in));
    } else if (kind_ == signal_kind::event && r.kind == rule_kind::event_match) {
      auto m = matches.find(r.name);
      if (m == matches.end()) continue;
      rule_input in;
      in.kind = rule_input::events;
      in.rule = r.name;
      in.matches = m->second;
      in.now_ms = max_ts_;
      out.inputs.push_back(std::move(in));
    }
  }
  return out;
}

}  // namespace rtmon
