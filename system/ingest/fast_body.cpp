#include "system/ingest/fast_body.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/json/basic_parser_impl.hpp>

#include "system/ingest/fast_fields.hpp"
#include "system/ingest/json_guard.hpp"

namespace rtmon::ingest::detail {

namespace json = boost::json;

namespace {

// Duplicate keys are looked for by comparing with the object's earlier keys; objects with more
// keys than this go to the general path (which refuses items of over max_fields anyway).
constexpr size_t max_scanned_keys = 32;

name classify(std::string_view k) {
  switch (k.size()) {
    case 2:
      if (k == "ts") return name::ts;
      break;
    case 3:
      if (k == "msg") return name::msg;
      break;
    case 4:
      if (k == "host") return name::host;
      if (k == "type") return name::type;
      break;
    case 5:
      if (k == "attrs") return name::attrs;
      if (k == "level") return name::level;
      break;
    case 7:
      if (k == "service") return name::service;
      if (k == "message") return name::message;
      break;
    case 8:
      if (k == "event_id") return name::event_id;
      if (k == "severity") return name::severity;
      break;
    case 9:
      if (k == "timestamp") return name::timestamp;
      break;
  }
  return name::other;
}

/// The basic_parser handler. It refuses what json_guard's handler refuses (NUL characters,
/// overlong strings and keys, integers beyond 2^53, non-finite numbers; the parser itself
/// enforces the depth) and everything the fast path does not take; any refusal only stops the
/// parse. Items are objects at `item_level` - 1: the top value of an NDJSON line or of a body,
/// or the elements of a top-level array.
struct fast_handler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  // Set by the driver.
  signal_kind kind = signal_kind::log;
  const ingest_limits* limits = nullptr;
  const request_context* ctx = nullptr;
  std::vector<item>* items = nullptr;
  bool allow_array = false;  // a top-level array of items (not for NDJSON lines)
  std::string_view input;

  int depth = 0;
  int item_level = 1;
  fast_item cur;
  // Containers open below the item's own level; `keys` holds the keys of the open objects.
  struct open_container {
    bool object;
    bool first;
    bool members;  // the attrs object: its members are recorded
    size_t keys_begin;
  };
  std::vector<open_container> open;
  std::vector<std::string_view> keys;
  // Keys and strings the parser assembled outside the input (escapes, parts): a deque, so the
  // views into it stay valid while it grows.
  std::deque<std::string> owned;
  size_t owned_used = 0;
  std::string part;  // a key or string arriving in parts
  std::string number_text;
  size_t part_bytes = 0;

  void reset() {
    depth = 0;
    item_level = 1;
    open.clear();
    keys.clear();
    owned_used = 0;
    part.clear();
    number_text.clear();
    part_bytes = 0;
  }

  static bool fail(json::error_code& ec) {
    ec = json::error::syntax;
    return false;
  }
  bool inside_input(json::string_view s) const {
    std::less<const char*> before;
    return !before(s.data(), input.data()) &&
           !before(input.data() + input.size(), s.data() + s.size());
  }
  bool check_chars(json::string_view s) {
    // The parser refuses raw control characters: a NUL can only come from an escape, which
    // the parser decodes outside the input. Slices of the input need no search.
    if (!inside_input(s) && std::memchr(s.data(), '\0', s.size()) != nullptr) return false;
    part_bytes += s.size();
    return part_bytes <= limits->max_string_bytes;
  }
  // The whole key or string: a view into the input when it is a slice of it, else a copy.
  std::string_view whole(json::string_view s) {
    if (part.empty() && inside_input(s)) return {s.data(), s.size()};
    part.append(s.data(), s.size());
    if (owned_used == owned.size()) owned.emplace_back();
    auto& copy = owned[owned_used++];
    copy.swap(part);
    part.clear();
    return copy;
  }

  // A value starts at the current depth: where does it go? False: not an item's value.
  bool value_start() {
    if (depth < item_level) return false;
    if (depth > item_level) {
      auto& c = open.back();
      if (!c.object && !c.first) cur.nested.append(",");
      c.first = false;
    }
    return true;
  }
  void value_end() {
    if (depth == item_level) cur.fields.back().end = cur.nested.view().size();
    if (depth == item_level + 1 && open.back().members)
      cur.members.back().value_end = cur.nested.view().size();
  }
  bool begin_container(bool object, json::error_code& ec) {
    if (depth == item_level - 1 && object) {  // an item
      cur.clear();
      ++depth;
      return true;
    }
    if (depth == 0 && !object && allow_array) {  // a batch
      item_level = 2;
      ++depth;
      return true;
    }
    if (!value_start()) return fail(ec);
    bool members = false;
    if (depth == item_level) {
      auto& f = cur.fields.back();
      f.type = object ? vtype::object : vtype::array;
      f.begin = cur.nested.view().size();
      if (object && f.id == name::attrs) {
        members = true;
        f.members_begin = f.members_end = static_cast<uint32_t>(cur.members.size());
      }
    }
    cur.nested.append(object ? "{" : "[");
    open.push_back({object, true, members, keys.size()});
    ++depth;
    return true;
  }
  bool end_container(bool object, json::error_code& ec) {
    --depth;
    if (depth == item_level - 1 && object) {  // the item is complete
      items->emplace_back();
      if (items->size() > limits->max_items || !build_item(kind, cur, *limits, *ctx, items->back()))
        return fail(ec);
      return true;
    }
    if (depth == 0) return true;  // the batch's array
    auto& c = open.back();
    if (c.members) cur.fields.back().members_end = static_cast<uint32_t>(cur.members.size());
    keys.resize(c.keys_begin);
    open.pop_back();
    cur.nested.append(object ? "}" : "]");
    value_end();
    return true;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code& ec) { return begin_container(true, ec); }
  bool on_object_end(std::size_t, json::error_code& ec) { return end_container(true, ec); }
  bool on_array_begin(json::error_code& ec) { return begin_container(false, ec); }
  bool on_array_end(std::size_t, json::error_code& ec) { return end_container(false, ec); }

  bool on_key_part(json::string_view s, std::size_t, json::error_code& ec) {
    if (!check_chars(s)) return fail(ec);
    part.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    if (!check_chars(s)) return fail(ec);
    part_bytes = 0;
    auto k = whole(s);
    if (depth == item_level) {
      auto& fields = cur.fields;
      if (fields.size() >= max_scanned_keys) return fail(ec);
      for (const auto& f : fields)
        if (f.key == k) return fail(ec);  // a duplicate key: the general path decides
      fields.emplace_back();
      fields.back().key = k;
      fields.back().id = classify(k);
      return true;
    }
    auto& c = open.back();
    if (keys.size() - c.keys_begin >= max_scanned_keys) return fail(ec);
    for (size_t i = c.keys_begin; i < keys.size(); ++i)
      if (keys[i] == k) return fail(ec);
    keys.push_back(k);
    if (!c.first) cur.nested.append(",");
    c.first = false;
    auto key_begin = cur.nested.view().size();
    cur.nested.string(k);
    if (c.members) cur.members.push_back({key_begin, cur.nested.view().size(), 0, 0});
    cur.nested.append(":");
    if (c.members) cur.members.back().value_begin = cur.nested.view().size();
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code& ec) {
    if (!check_chars(s)) return fail(ec);
    part.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code& ec) {
    if (!check_chars(s) || !value_start()) return fail(ec);
    part_bytes = 0;
    if (depth == item_level) {
      auto& f = cur.fields.back();
      f.type = vtype::string;
      f.str = whole(s);
      return true;
    }
    if (part.empty()) {
      cur.nested.string({s.data(), s.size()});
    } else {
      part.append(s.data(), s.size());
      cur.nested.string(part);
      part.clear();
    }
    value_end();
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_text.append(s.data(), s.size());
    return true;
  }
  bool on_int64(int64_t i, json::string_view, json::error_code& ec) {
    number_text.clear();
    if (!exact_integer(i) || !value_start()) return fail(ec);
    if (depth == item_level) {
      cur.fields.back().type = vtype::int64;
      cur.fields.back().i = i;
      return true;
    }
    cur.nested.number(i);
    value_end();
    return true;
  }
  // Only integers beyond INT64_MAX arrive here: always beyond 2^53.
  bool on_uint64(uint64_t, json::string_view, json::error_code& ec) { return fail(ec); }
  bool on_double(double d, json::string_view s, json::error_code& ec) {
    if (!std::isfinite(d) || overflowed_integer(d, number_text, {s.data(), s.size()}) ||
        !value_start())
      return fail(ec);
    if (depth == item_level) {
      cur.fields.back().type = vtype::double_;
      cur.fields.back().d = d;
      return true;
    }
    cur.nested.number(d);
    value_end();
    return true;
  }
  bool on_bool(bool b, json::error_code& ec) {
    if (!value_start()) return fail(ec);
    if (depth == item_level) {
      cur.fields.back().type = vtype::boolean;
      cur.fields.back().b = b;
      return true;
    }
    cur.nested.append(b ? "true" : "false");
    value_end();
    return true;
  }
  bool on_null(json::error_code& ec) {
    if (!value_start()) return fail(ec);
    if (depth == item_level) {
      cur.fields.back().type = vtype::null;
      return true;
    }
    cur.nested.append("null");
    value_end();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code& ec) { return fail(ec); }
  bool on_comment(json::string_view, json::error_code& ec) { return fail(ec); }
};

json::parse_options options_for(const ingest_limits& limits) {
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  return opt;
}

// One parser per thread, rebuilt when the limits change (its options are fixed at construction).
struct fast_parser {
  size_t max_depth;
  json::basic_parser<fast_handler> p;
  explicit fast_parser(const ingest_limits& limits)
      : max_depth(limits.max_depth), p(options_for(limits)) {}

  // Parses one JSON text completely (trailing whitespace allowed, as json_guard).
  bool parse(std::string_view text) {
    p.reset();
    p.handler().reset();
    p.handler().input = text;
    json::error_code ec;
    auto n = p.write_some(false, text.data(), text.size(), ec);
    return !ec && n == text.size();
  }
};

bool fast_body_in(fast_parser& fp, std::string_view body, bool ndjson, const ingest_limits& limits,
                  parse_result& r) {
  auto& h = fp.p.handler();
  if (!ndjson) {
    h.allow_array = true;
    // A lone object, or an array of at least one item; anything else (several lines under
    // application/json included) is left to the general path.
    return fp.parse(body) && !r.items.empty();
  }
  h.allow_array = false;
  bool all = for_each_ndjson_line(body, [&](std::string_view line) {
    auto before = r.items.size();
    return before < limits.max_items && fp.parse(line) && r.items.size() == before + 1;
  });
  return all && !r.items.empty();
}

}  // namespace

bool parse_body_fast(signal_kind kind, std::string_view body, bool ndjson,
                     const ingest_limits& limits, const request_context& ctx, parse_result& out) {
  if (kind != signal_kind::log && kind != signal_kind::event) return false;
  thread_local std::unique_ptr<fast_parser> fp;
  if (!fp || fp->max_depth != limits.max_depth) fp = std::make_unique<fast_parser>(limits);
  auto& h = fp->p.handler();
  h.kind = kind;
  h.limits = &limits;
  h.ctx = &ctx;
  h.items = &out.items;
  // One item per line: reserving for them saves the vector's regrowth copies. (memchr: the
  // compiler's std::count over the body's bytes cost more than the reserve saved.)
  if (ndjson) {
    size_t lines = 1;
    for (auto p = body.data(), end = p + body.size();
         (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))); ++p)
      ++lines;
    out.items.reserve(std::min(lines, limits.max_items));
  }
  bool ok = fast_body_in(*fp, body, ndjson, limits, out);
  h.items = nullptr;
  if (h.cur.nested.capacity() > 65536) h.cur = fast_item{};  // a huge item does not stay
  if (h.owned.size() > 64) h.owned.clear();
  if (!ok) out.items.clear();
  return ok;
}

}  // namespace rtmon::ingest::detail
