#include "system/ingest/items.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>

#include "messages/levels.hpp"
#include "system/ingest/json_guard.hpp"
#include "system/ingest/json_text.hpp"

namespace rtmon::ingest {

namespace json = boost::json;
using detail::json_text;
using detail::max_id_bytes;
using detail::max_item_bytes;
using detail::max_name_bytes;
using detail::printable;

void detail::write_payload_head(json_text& text, const item& it, sys_time ts, bool assigned,
                                const request_context& ctx) {
  text.clear();
  text.append("{\"event_id\":");
  text.string(it.event_id);
  text.key("ts");
  if (ts == ctx.now && !ctx.now_text.empty()) {
    text.string(ctx.now_text);
  } else {
    timestamp_buffer buf;
    text.string({buf.data(), format_timestamp(ts, buf)});
  }
  text.key("service");
  text.string(it.service);
  if (assigned) text.append(",\"assigned_id\":true");
}

namespace {

struct checker {
  int64_t index;
  std::vector<item_error>& errors;
  bool ok = true;
  void fail(std::string field, std::string problem) {
    ok = false;
    if (errors.size() < max_item_errors)
      errors.push_back({index, std::move(field), std::move(problem)});
  }
};

// Aliases as common loggers spell them, to the canonical name (messages/levels.hpp).
bool normalize_level(std::string_view in, std::string& out) {
  log_level l;
  if (!parse_log_level(in, l)) return false;
  out = to_string(l);
  return true;
}

// event_id doubles as an idempotency key in URLs and logs: a conservative alphabet.
bool valid_id(std::string_view s) {
  return !s.empty() && s.size() <= max_id_bytes && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

// Names as string_views: their lengths are known at compile time, not strlen'd per lookup.
const json::value* find(const json::object& o, std::initializer_list<std::string_view> names,
                        std::string_view* which = nullptr) {
  for (auto n : names)
    if (auto i = o.find(n); i != o.end()) {
      if (which) *which = n;
      return &i->value();
    }
  return nullptr;
}

// The string points into the parsed item (the request's arena).
bool optional_string(checker& c, const json::object& o,
                     std::initializer_list<std::string_view> names, size_t max_bytes,
                     std::string_view& out) {
  std::string_view which;
  auto v = find(o, names, &which);
  if (v == nullptr) return false;
  if (!v->is_string()) {
    c.fail(std::string{which}, "must be a string");
    return false;
  }
  const auto& s = v->get_string();  // a reference: the view points into the item
  if (s.empty() || s.size() > max_bytes) {
    c.fail(std::string{which}, "must be 1 to " + std::to_string(max_bytes) + " bytes long");
    return false;
  }
  if (!printable(s)) {
    c.fail(std::string{which}, "must not contain control characters");
    return false;
  }
  out = {s.data(), s.size()};
  return true;
}

bool optional_string(checker& c, const json::object& o,
                     std::initializer_list<std::string_view> names, size_t max_bytes,
                     std::string& out) {
  std::string_view s;
  if (!optional_string(c, o, names, max_bytes, s)) return false;
  out.assign(s.data(), s.size());
  return true;
}

std::string tag_text(const json::value& v) {
  if (v.is_string()) return std::string{v.get_string()};
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return json::serialize(v);
}

// Fields every kind shares: event_id, ts, service. Reserved keys never go into attrs or tags.
bool is_common(std::string_view k) {
  return k == "event_id" || k == "ts" || k == "timestamp" || k == "service";
}

}  // namespace

bool normalize(signal_kind kind, const json::object& in, int64_t index, const ingest_limits& limits,
               const request_context& ctx, item& out, std::vector<item_error>& errors) {
  checker c{index, errors};
  if (in.size() > limits.max_fields)
    c.fail("", "more than " + std::to_string(limits.max_fields) + " fields");
  // event_id: the client's idempotency key, or a new one (marked, so the store knows no
  // client retry can repeat it and skips the lookup by id).
  bool assigned = false;
  if (auto v = find(in, {"event_id"})) {
    if (!v->is_string() || !valid_id(v->get_string()))
      c.fail("event_id", "must be a string of 1 to 128 characters from [A-Za-z0-9._:-]");
    else
      out.event_id = std::string{v->get_string()};
  } else {
    out.event_id = new_event_id(ctx.now);
    assigned = true;
  }
  // ts: event time, defaulting to the time of receipt.
  sys_time ts = ctx.now;
  std::string_view which;
  if (auto v = find(in, {"ts", "timestamp"}, &which)) {
    std::string problem;
    if (!parse_timestamp(*v, ts, problem)) {
      c.fail(std::string{which}, problem);
    } else if (ts < ctx.now - std::chrono::hours{limits.max_past_hours}) {
      c.fail(std::string{which},
             "older than the accepted " + std::to_string(limits.max_past_hours) + " h");
    } else if (ts > ctx.now + std::chrono::minutes{limits.max_future_minutes}) {
      c.fail(std::string{which},
             "more than " + std::to_string(limits.max_future_minutes) + " min in the future");
    }
  }
  out.service = ctx.default_service;
  optional_string(c, in, {"service"}, max_name_bytes, out.service);
  // The payload text, built in a buffer reused by the thread and copied out once at its size.
  thread_local json_text text;
  detail::write_payload_head(text, out, ts, assigned, ctx);

  // "attrs": the item's attrs object, plus its other fields (those win over attrs keys).
  auto write_attrs = [&](const json::object& o, std::initializer_list<std::string_view> known) {
    auto extra = [&](const json::key_value_pair& kv) {
      auto k = kv.key();
      return !is_common(k) && k != "attrs" &&
             std::find(known.begin(), known.end(), k) == known.end();
    };
    const json::object* given = nullptr;
    if (auto v = find(o, {"attrs"})) {
      if (!v->is_object())
        c.fail("attrs", "must be an object");
      else
        given = &v->get_object();
    }
    text.key("attrs");
    if (std::none_of(o.begin(), o.end(), extra)) {
      // The usual case: attrs as sent, written straight from the parsed value.
      if (given != nullptr && given->size() > limits.max_fields)
        c.fail("attrs", "more than " + std::to_string(limits.max_fields) + " fields");
      if (given != nullptr)
        text.value(*given);
      else
        text.append("{}");
      return;
    }
    json::object attrs(ctx.sp);
    if (given != nullptr) attrs = json::object(*given, ctx.sp);
    for (auto& kv : o)
      if (extra(kv)) attrs[kv.key()] = kv.value();
    if (attrs.size() > limits.max_fields)
      c.fail("attrs", "more than " + std::to_string(limits.max_fields) + " fields");
    text.value(attrs);
  };

  switch (kind) {
    case signal_kind::log: {
      std::string_view message, host;
      std::string level = "info";
      if (!optional_string(c, in, {"message", "msg"}, limits.max_string_bytes, message) &&
          find(in, {"message", "msg"}) == nullptr)
        c.fail("message", "is required (a string; \"msg\" is accepted too)");
      std::string_view raw_level;
      if (optional_string(c, in, {"level", "severity"}, 32, raw_level) &&
          !normalize_level(raw_level, level))
        c.fail(find(in, {"level"}) ? "level" : "severity",
               "unknown level '" + std::string{raw_level} +
                   "' (trace, debug, info, warn, error, fatal)");
      text.key("level");
      text.string(level);
      text.key("message");
      text.string(message);
      if (optional_string(c, in, {"host"}, max_name_bytes, host)) {
        text.key("host");
        text.string(host);
      }
      write_attrs(in, {"message", "msg", "level", "severity", "host"});
      break;
    }
    case signal_kind::metric: {
      json::array samples(ctx.sp);
      json::object tags(ctx.sp);
      if (auto v = find(in, {"tags"})) {
        if (!v->is_object()) {
          c.fail("tags", "must be an object of strings");
        } else {
          for (auto& kv : v->get_object()) {
            if (kv.value().is_object() || kv.value().is_array() || kv.value().is_null())
              c.fail("tags." + std::string{kv.key()}, "must be a string, number or boolean");
            else
              tags[kv.key()] = tag_text(kv.value());
          }
        }
      }
      if (auto v = find(in, {"name"})) {  // explicit form: {"name": ..., "value": ...}
        auto value = find(in, {"value"});
        if (!v->is_string() || v->get_string().empty() || v->get_string().size() > max_name_bytes ||
            !printable(v->get_string()))
          c.fail("name", "must be a metric name of 1 to 200 printable characters");
        else if (value == nullptr || !value->is_number())
          c.fail("value", "is required with \"name\" and must be a number");
        else
          samples.push_back(json::object(
              {{"name", v->get_string()}, {"value", value->to_number<double>()}}, ctx.sp));
      }
      const auto& tag_fields = limits.metric_tag_fields;
      for (auto& kv : in) {
        auto k = kv.key();
        if (is_common(k) || k == "tags" || k == "name" || (k == "value" && find(in, {"name"})))
          continue;
        const auto& v = kv.value();
        bool tag_field = std::find(tag_fields.begin(), tag_fields.end(), k) != tag_fields.end();
        if (v.is_number() && !tag_field) {
          if (k.size() > max_name_bytes || !printable(k))
            c.fail(std::string{k}, "metric name too long or not printable");
          else
            samples.push_back(
                json::object({{"name", k}, {"value", v.to_number<double>()}}, ctx.sp));
        } else if (v.is_string() || v.is_bool() || v.is_number()) {
          tags[k] = tag_text(v);
        } else {
          c.fail(std::string{k}, "metric fields must be numbers (samples) or strings (tags)");
        }
      }
      for (size_t i = 0; i < samples.size(); ++i)
        for (size_t j = i + 1; j < samples.size(); ++j)
          if (samples[i].at("name") == samples[j].at("name"))
            c.fail(std::string{samples[j].at("name").get_string()},
                   "duplicate metric name in one item (also given as \"name\")");
      if (samples.empty() && c.ok)
        c.fail("value",
               "no numeric field: a metric needs \"name\" and \"value\" or at least "
               "one numeric field such as \"response_time\": 250");
      text.key("samples");
      text.value(samples);
      text.key("tags");
      text.value(tags);
      break;
    }
    case signal_kind::event: {
      std::string_view type;
      if (!optional_string(c, in, {"type"}, max_name_bytes, type) && find(in, {"type"}) == nullptr)
        c.fail("type", "is required (a string such as \"deploy\")");
      text.key("type");
      text.string(type);
      write_attrs(in, {"type"});
      break;
    }
    case signal_kind::command:  // not ingested: the API produces commands itself
      c.fail("kind", "commands are not accepted at ingest");
      break;
  }
  text.append("}");
  if (c.ok) {
    out.payload.assign(text.view());
    // Kafka's default message.max.bytes is about 1 MB: refuse here rather than after acking.
    if (out.payload.size() > max_item_bytes)
      c.fail("", "item larger than " + std::to_string(max_item_bytes) + " bytes");
  }
  if (text.capacity() > 65536) text = json_text{};  // a huge item does not stay allocated
  return c.ok;
}

bool valid_event_id(std::string_view s) { return valid_id(s); }

bool canonical_level(std::string_view s) {
  return s == "trace" || s == "debug" || s == "info" || s == "warn" || s == "error" || s == "fatal";
}

bool valid_service(std::string_view s) {
  return !s.empty() && s.size() <= max_name_bytes && printable(s);
}

bool parse_kind(std::string_view text, signal_kind& out) {
  if (text == "log" || text == "logs")
    out = signal_kind::log;
  else if (text == "metric" || text == "metrics")
    out = signal_kind::metric;
  else if (text == "event" || text == "events")
    out = signal_kind::event;
  else
    return false;
  return true;
}

}  // namespace rtmon::ingest
