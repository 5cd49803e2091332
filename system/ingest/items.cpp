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

namespace rtmon::ingest {

namespace json = boost::json;

namespace {

constexpr size_t max_errors = 50;
constexpr size_t max_id_bytes = 128;
constexpr size_t max_name_bytes = 200;
constexpr size_t max_item_bytes = 900 * 1024;

struct checker {
  int64_t index;
  std::vector<item_error>& errors;
  bool ok = true;
  void fail(std::string field, std::string problem) {
    ok = false;
    if (errors.size() < max_errors) errors.push_back({index, std::move(field), std::move(problem)});
  }
};

// Aliases as common loggers spell them, to the canonical name (messages/levels.hpp).
bool normalize_level(std::string_view in, std::string& out) {
  log_level l;
  if (!parse_log_level(in, l)) return false;
  out = to_string(l);
  return true;
}

// Byte tests on eight bytes at once (SWAR): every item's strings are scanned, most of them long
// runs of plain text. Nonzero if some byte of `w` is below `n` (n <= 128), or equals `c`.
constexpr uint64_t ones = 0x0101010101010101ull;
constexpr uint64_t bytes_below(uint64_t w, uint8_t n) {
  return (w - ones * n) & ~w & (ones * 0x80);
}
constexpr uint64_t bytes_equal(uint64_t w, uint8_t c) { return bytes_below(w ^ (ones * c), 1); }
uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

bool control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

bool printable(std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    auto w = load8(s.data() + i);
    if (bytes_below(w, 0x20) | bytes_equal(w, 0x7f)) return false;
  }
  return std::none_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(), control);
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

// The payload is written as JSON text field by field, exactly as boost::json::serialize would
// write the same object (key order, escapes, number formats), instead of building it as a DOM
// and serializing that: copying every field into the DOM and walking it again cost more than
// parsing the request. The buffer is a plain growable array: std::string's out-of-line append
// per piece cost as much as the pieces.
class json_text {
 public:
  void clear() { size_ = 0; }
  std::string_view view() const { return {data_.get(), size_}; }
  size_t capacity() const { return cap_; }
  /// Room for `n` more bytes at the end; commit() what was written there.
  char* room(size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    return data_.get() + size_;
  }
  void commit(size_t n) { size_ += n; }
  void append(std::string_view s) {
    std::memcpy(room(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  /// `,"key":` for the payload's own key names, which need no escaping.
  void key(std::string_view k) {
    auto p = room(k.size() + 4);
    p[0] = ',';
    p[1] = '"';
    std::memcpy(p + 2, k.data(), k.size());
    p[k.size() + 2] = '"';
    p[k.size() + 3] = ':';
    size_ += k.size() + 4;
  }
  /// A JSON string, escaped as Boost.JSON does: \" \\ \b \t \n \f \r, other control
  /// characters as \u00xx, everything else (UTF-8 included) as is.
  void string(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    char* p = room(s.size() * 6 + 2);  // the worst case: every character as \u00xx
    char* const begin = p;
    *p++ = '"';
    size_t i = 0;
    while (i < s.size()) {
      // Copy eight plain characters at a time.
      while (i + 8 <= s.size()) {
        auto w = load8(s.data() + i);
        if (bytes_below(w, 0x20) | bytes_equal(w, '"') | bytes_equal(w, '\\')) break;
        std::memcpy(p, &w, 8);
        p += 8;
        i += 8;
      }
      if (i == s.size()) break;
      auto ch = static_cast<unsigned char>(s[i++]);
      if (ch >= 0x20 && ch != '"' && ch != '\\') {
        *p++ = static_cast<char>(ch);
        continue;
      }
      *p++ = '\\';
      switch (ch) {
        case '"':
        case '\\':
          *p++ = static_cast<char>(ch);
          break;
        case '\b':
          *p++ = 'b';
          break;
        case '\t':
          *p++ = 't';
          break;
        case '\n':
          *p++ = 'n';
          break;
        case '\f':
          *p++ = 'f';
          break;
        case '\r':
          *p++ = 'r';
          break;
        default:
          *p++ = 'u';
          *p++ = '0';
          *p++ = '0';
          *p++ = hex[ch >> 4];
          *p++ = hex[ch & 15];
      }
    }
    *p++ = '"';
    size_ += static_cast<size_t>(p - begin);
  }
  /// Values of arbitrary shape (attrs, tags, samples) go through Boost.JSON's own serializer.
  template <class T>
  void value(const T& v) {
    json::serializer sr;
    sr.reset(&v);
    while (!sr.done()) commit(sr.read(room(4096), 4096).size());
  }

 private:
  void grow(size_t need) {
    size_t cap = std::max<size_t>(need, cap_ * 2);
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

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
  text.clear();
  text.append("{\"event_id\":");
  text.string(out.event_id);
  text.key("ts");
  if (ts == ctx.now && !ctx.now_text.empty()) {
    text.string(ctx.now_text);
  } else {
    timestamp_buffer buf;
    text.string({buf.data(), format_timestamp(ts, buf)});
  }
  text.key("service");
  text.string(out.service);
  if (assigned) text.append(",\"assigned_id\":true");

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

namespace {

// Unwraps the seed's envelope {"value": {...}}.
const json::value& unwrap(const json::value& v) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.size() == 1)
      if (auto i = o.find("value"); i != o.end() && i->value().is_object()) return i->value();
  }
  return v;
}

void add_item(signal_kind kind, const json::value& raw, int64_t index, const ingest_limits& limits,
              const request_context& ctx, parse_result& r) {
  const auto& v = unwrap(raw);
  if (!v.is_object()) {
    if (r.errors.size() < max_errors)
      r.errors.push_back({index, "", "each item must be a JSON object"});
    return;
  }
  item it;
  if (normalize(kind, v.get_object(), index, limits, ctx, it, r.errors))
    r.items.push_back(std::move(it));
}

}  // namespace

namespace {
parse_result parse_body_in(signal_kind kind, std::string_view body, bool ndjson,
                           const ingest_limits& limits, const request_context& ctx);
}  // namespace

parse_result parse_body(signal_kind kind, std::string_view body, bool ndjson,
                        const ingest_limits& limits, const request_context& ctx) {
  // One arena per request: parsing and normalizing allocate from it, freed all at once.
  json::monotonic_resource arena;
  request_context local = ctx;
  local.sp = json::storage_ptr(&arena);
  if (local.now_text.empty()) local.now_text = format_timestamp(local.now);
  return parse_body_in(kind, body, ndjson, limits, local);
}

namespace {

parse_result parse_body_in(signal_kind kind, std::string_view body, bool ndjson,
                           const ingest_limits& limits, const request_context& ctx) {
  parse_result r;
  guarded_parser parser{{limits.max_depth, limits.max_string_bytes}};
  auto reject = [&](int status, int64_t index, std::string field, std::string problem) {
    r.status = status;
    r.errors.push_back({index, std::move(field), std::move(problem)});
    r.items.clear();
    return r;
  };
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return reject(400, -1, "", "empty body");
  if (!ndjson) {
    json_problem problem;
    auto v = parser.parse(body, problem, ctx.sp);
    if (!problem) {
      if (v.is_array()) {
        const auto& arr = v.get_array();
        if (arr.empty()) return reject(400, -1, "", "empty batch");
        if (arr.size() > limits.max_items)
          return reject(413, -1, "",
                        "batch of " + std::to_string(arr.size()) + " items exceeds the limit of " +
                            std::to_string(limits.max_items));
        for (size_t i = 0; i < arr.size(); ++i)
          add_item(kind, arr[i], static_cast<int64_t>(i), limits, ctx, r);
      } else {
        add_item(kind, v, 0, limits, ctx, r);
      }
      if (!r.errors.empty()) {
        r.status = 400;
        r.items.clear();
      }
      return r;
    }
    if (!looks_like_ndjson(body))
      return reject(400, -1, problem.field,
                    problem.problem + " (at byte " + std::to_string(problem.offset) + ")");
  }
  // NDJSON: one item per non-blank line.
  int64_t index = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    auto line = body.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (static_cast<size_t>(index) >= limits.max_items)
      return reject(413, -1, "",
                    "more than " + std::to_string(limits.max_items) + " items in the request");
    json_problem problem;
    auto v = parser.parse(line, problem, ctx.sp);
    if (problem) {
      if (r.errors.size() < max_errors) r.errors.push_back({index, problem.field, problem.problem});
    } else {
      add_item(kind, v, index, limits, ctx, r);
    }
    ++index;
  }
  if (index == 0) return reject(400, -1, "", "empty body");
  if (!r.errors.empty()) {
    r.status = 400;
    r.items.clear();
  }
  return r;
}

}  // namespace

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

frame_result parse_frame(std::string_view text, const signal_kind* default_kind,
                         const ingest_limits& limits, const request_context& base) {
  json::monotonic_resource arena;
  request_context ctx = base;
  ctx.sp = json::storage_ptr(&arena);
  if (ctx.now_text.empty()) ctx.now_text = format_timestamp(ctx.now);
  frame_result r;
  json_problem problem;
  auto v = parse_guarded(text, {limits.max_depth, limits.max_string_bytes}, problem, ctx.sp);
  if (problem) {
    r.status = 400;
    r.errors.push_back({-1, problem.field, problem.problem});
    return r;
  }
  json::array single(ctx.sp);
  const json::array* arr = nullptr;
  if (v.is_array()) {
    arr = &v.get_array();
  } else {
    single.push_back(std::move(v));
    arr = &single;
  }
  if (arr->empty() || arr->size() > limits.max_items) {
    r.status = arr->empty() ? 400 : 413;
    r.errors.push_back(
        {-1, "",
         arr->empty() ? "empty batch"
                      : "more than " + std::to_string(limits.max_items) + " items in the frame"});
    return r;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    auto index = static_cast<int64_t>(i);
    const auto& raw = (*arr)[i];
    if (!raw.is_object()) {
      r.errors.push_back({index, "", "each item must be a JSON object"});
      continue;
    }
    json::object obj(raw.get_object(), ctx.sp);
    signal_kind kind = default_kind ? *default_kind : signal_kind::log;
    bool have_kind = default_kind != nullptr;
    if (auto k = obj.find("kind"); k != obj.end()) {
      if (!k->value().is_string() || !parse_kind(k->value().get_string(), kind)) {
        r.errors.push_back({index, "kind", "must be \"log\", \"metric\" or \"event\""});
        continue;
      }
      have_kind = true;
      obj.erase(k);
    }
    if (!have_kind) {
      r.errors.push_back({index, "kind", "is required (or connect to /ingest?kind=logs)"});
      continue;
    }
    json::value holder(std::move(obj), ctx.sp);  // not braces: that would make an array
    const auto& inner = unwrap(holder);
    if (!inner.is_object()) {
      r.errors.push_back({index, "", "each item must be a JSON object"});
      continue;
    }
    item it;
    if (normalize(kind, inner.get_object(), index, limits, ctx, it, r.errors)) {
      r.kinds.push_back(kind);
      r.items.push_back(std::move(it));
    }
  }
  if (!r.errors.empty()) {
    r.status = 400;
    r.items.clear();
    r.kinds.clear();
  }
  return r;
}

}  // namespace rtmon::ingest
