// build_item: normalize() for the fast path's items (fast_fields.hpp). Every check of
// normalize() for logs and events is here, in the same order of lookup (message before msg,
// level before severity, ts before timestamp); a failed check only returns false, because the
// general path then words the error. The payload is written piece by piece as normalize()
// writes it, so both give the same bytes.
#include <algorithm>
#include <string>

#include <boost/json/value.hpp>

#include "messages/levels.hpp"
#include "system/ingest/fast_fields.hpp"

namespace rtmon::ingest::detail {

namespace {

// A string field of 1 to max_bytes printable bytes, as optional_string() in items.cpp.
bool good_string(const fast_field& f, size_t max_bytes) {
  return f.type == vtype::string && !f.str.empty() && f.str.size() <= max_bytes && printable(f.str);
}

bool read_ts(const fast_field& f, sys_time& out) {
  std::string problem;
  switch (f.type) {
    case vtype::string:
      return parse_timestamp_text(f.str, out, problem);
    case vtype::int64:
      return parse_timestamp(boost::json::value(f.i), out, problem);
    case vtype::double_:
      return parse_timestamp(boost::json::value(f.d), out, problem);
    default:
      return false;
  }
}

// Fields that go into "attrs" besides the attrs object itself (the `extra` of normalize()).
bool is_extra(signal_kind kind, name id) {
  switch (id) {
    case name::other:
      return true;
    case name::type:
      return kind != signal_kind::event;
    case name::message:
    case name::msg:
    case name::level:
    case name::severity:
    case name::host:
      return kind != signal_kind::log;
    default:
      return false;
  }
}

// A field's value as Boost.JSON serializes it.
void write_value(const fast_item& in, const fast_field& f, json_text& text) {
  switch (f.type) {
    case vtype::string:
      text.string(f.str);
      break;
    case vtype::int64:
      text.number(f.i);
      break;
    case vtype::double_:
      text.number(f.d);
      break;
    case vtype::boolean:
      text.append(f.b ? "true" : "false");
      break;
    case vtype::null:
      text.append("null");
      break;
    case vtype::object:
    case vtype::array:
      text.append(in.nested.view().substr(f.begin, f.end - f.begin));
      break;
  }
}

// "attrs": the item's attrs object with its other fields merged in as normalize() does it
// (json::object's operator[]: a field replaces an attrs member of the same key in place, new
// keys are appended). Keys compare as escaped text, which is as good as comparing them raw.
bool write_attrs(signal_kind kind, const fast_item& in, const fast_field* given,
                 const ingest_limits& limits, json_text& text) {
  if (given != nullptr && given->type != vtype::object) return false;
  text.key("attrs");
  bool extras = std::any_of(in.fields.begin(), in.fields.end(),
                            [&](const fast_field& f) { return is_extra(kind, f.id); });
  size_t given_size = given ? given->members_end - given->members_begin : 0;
  if (!extras) {
    if (given_size > limits.max_fields) return false;
    if (given != nullptr)
      write_value(in, *given, text);
    else
      text.append("{}");
    return true;
  }
  thread_local json_text keys;  // the extras' keys, escaped
  thread_local std::vector<std::pair<const fast_field*, std::pair<size_t, size_t>>> pending;
  keys.clear();
  pending.clear();
  for (const auto& f : in.fields) {
    if (!is_extra(kind, f.id)) continue;
    auto from = keys.view().size();
    keys.string(f.key);
    pending.push_back({&f, {from, keys.view().size()}});
  }
  auto nested = in.nested.view();
  size_t count = 0;
  text.append("{");
  auto sep = [&] {
    if (count++ > 0) text.append(",");
  };
  for (uint32_t m = given ? given->members_begin : 0; given && m < given->members_end; ++m) {
    const auto& mem = in.members[m];
    auto key = nested.substr(mem.key_begin, mem.key_end - mem.key_begin);
    sep();
    text.append(key);
    text.append(":");
    auto over = std::find_if(pending.begin(), pending.end(), [&](const auto& p) {
      return p.first != nullptr &&
             keys.view().substr(p.second.first, p.second.second - p.second.first) == key;
    });
    if (over == pending.end()) {
      text.append(nested.substr(mem.value_begin, mem.value_end - mem.value_begin));
    } else {
      write_value(in, *over->first, text);
      over->first = nullptr;  // written in place
    }
  }
  for (const auto& p : pending) {
    if (p.first == nullptr) continue;
    sep();
    text.append(keys.view().substr(p.second.first, p.second.second - p.second.first));
    text.append(":");
    write_value(in, *p.first, text);
  }
  text.append("}");
  return count <= limits.max_fields;
}

}  // namespace

bool build_item(signal_kind kind, const fast_item& in, const ingest_limits& limits,
                const request_context& ctx, item& out) {
  if (kind != signal_kind::log && kind != signal_kind::event) return false;
  const auto& fields = in.fields;
  if (fields.size() > limits.max_fields) return false;
  // The seed's envelope {"value": ...} (or a lone "value" field): the general path unwraps it.
  if (fields.size() == 1 && fields[0].key == "value") return false;
  const fast_field* slot[static_cast<size_t>(name::count)] = {};
  for (const auto& f : fields) slot[static_cast<size_t>(f.id)] = &f;  // keys are unique
  auto get = [&](name n) { return slot[static_cast<size_t>(n)]; };

  bool assigned = false;
  if (auto f = get(name::event_id)) {
    if (f->type != vtype::string || !valid_event_id(f->str)) return false;
    out.event_id.assign(f->str.data(), f->str.size());
  } else {
    out.event_id = new_event_id(ctx.now);
    assigned = true;
  }
  sys_time ts = ctx.now;
  if (auto f = get(name::ts) ? get(name::ts) : get(name::timestamp)) {
    if (!read_ts(*f, ts) || ts < ctx.now - std::chrono::hours{limits.max_past_hours} ||
        ts > ctx.now + std::chrono::minutes{limits.max_future_minutes})
      return false;
  }
  if (auto f = get(name::service)) {
    if (!good_string(*f, max_name_bytes)) return false;
    out.service.assign(f->str.data(), f->str.size());
  } else {
    out.service = ctx.default_service;
  }

  thread_local json_text text;
  write_payload_head(text, out, ts, assigned, ctx);

  if (kind == signal_kind::log) {
    auto message = get(name::message) ? get(name::message) : get(name::msg);
    if (message == nullptr || !good_string(*message, limits.max_string_bytes)) return false;
    std::string level = "info";  // short: no allocation
    if (auto f = get(name::level) ? get(name::level) : get(name::severity)) {
      log_level l;
      if (!good_string(*f, 32) || !parse_log_level(f->str, l)) return false;
      level = to_string(l);
    }
    auto host = get(name::host);
    if (host != nullptr && !good_string(*host, max_name_bytes)) return false;
    text.key("level");
    text.string(level);
    text.key("message");
    text.string(message->str);
    if (host != nullptr) {
      text.key("host");
      text.string(host->str);
    }
  } else {
    auto type = get(name::type);
    if (type == nullptr || !good_string(*type, max_name_bytes)) return false;
    text.key("type");
    text.string(type->str);
  }
  bool ok = write_attrs(kind, in, get(name::attrs), limits, text);
  text.append("}");
  if (ok && text.view().size() <= max_item_bytes)
    out.payload.assign(text.view());
  else
    ok = false;
  if (text.capacity() > 65536) text = json_text{};  // a huge item does not stay allocated
  return ok;
}

}  // namespace rtmon::ingest::detail
