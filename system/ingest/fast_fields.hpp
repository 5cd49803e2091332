// The fast path's view of one item: its fields as the SAX handler saw them (fast_body.hpp).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "system/ingest/items.hpp"
#include "system/ingest/json_text.hpp"

namespace rtmon::ingest::detail {

/// The field names normalize() looks up, recognised once per key instead of searched per use.
enum class name : uint8_t {
  other,
  event_id,
  ts,
  timestamp,
  service,
  attrs,
  message,
  msg,
  level,
  severity,
  host,
  type,
  count
};

enum class vtype : uint8_t { string, int64, double_, boolean, null, object, array };

/// An item's field. Objects and arrays are kept as their serialized text (Boost.JSON's format)
/// in fast_item::nested; an object's members too, for merging attrs.
struct fast_field {
  std::string_view key;  // unescaped
  name id = name::other;
  vtype type = vtype::null;
  std::string_view str;  // vtype::string, unescaped
  int64_t i = 0;
  double d = 0;
  bool b = false;
  size_t begin = 0, end = 0;                    // object/array: text in nested
  uint32_t members_begin = 0, members_end = 0;  // attrs object: its members
};

/// A member of the attrs object: `"key"` and the value, as text in nested.
struct fast_member {
  size_t key_begin, key_end, value_begin, value_end;
};

struct fast_item {
  std::vector<fast_field> fields;
  std::vector<fast_member> members;
  json_text nested;
  void clear() {
    fields.clear();
    members.clear();
    nested.clear();
  }
};

/// Validates and normalizes a log or event item as normalize() does; false for anything
/// normalize() would refuse (or that this path does not take).
bool build_item(signal_kind kind, const fast_item& in, const ingest_limits& limits,
                const request_context& ctx, item& out);

}  // namespace rtmon::ingest::detail
