// The ingest data model: turns a request body (one JSON object, a JSON array, NDJSON, each item
// optionally in the seed's {"value": {...}} envelope) into normalized items ready for Kafka, or
// into a list of errors naming item index, field and problem. All or nothing: one bad item
// rejects the request, so a rejected request writes nothing anywhere.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include "messages/batches.hpp"
#include "system/config.hpp"

namespace rtmon::ingest {

struct item_error {
  int64_t index = -1;  // item index in the request (-1: the body as a whole)
  std::string field;   // dotted path inside the item, e.g. "attrs.user"
  std::string problem;
};

/// A validated item: Kafka key (service), the event id and the normalized JSON payload.
struct item {
  std::string event_id;
  std::string service;
  std::string payload;
};

/// At most this many errors are listed in a rejection (the rest would only repeat).
inline constexpr size_t max_item_errors = 50;

struct parse_result {
  std::vector<item> items;
  std::vector<item_error> errors;  // non-empty means: reject the request with 4xx
  int status = 0;                  // the HTTP status of a rejection (400 or 413)
};

using sys_time = std::chrono::system_clock::time_point;

/// Request-level defaults: `service` for items that name none.
struct request_context {
  std::string default_service = "unknown";
  sys_time now = std::chrono::system_clock::now();
  // Filled by parse_body/parse_frame: the default ts text (computed once per request) and the
  // request's JSON arena (every DOM node of the request is freed at once at the end).
  std::string now_text;
  boost::json::storage_ptr sp;
};

/// Parses a whole body. `ndjson` forces one value per line; otherwise the body is parsed as
/// one JSON value, falling back to NDJSON when it holds several values on separate lines.
parse_result parse_body(signal_kind kind, std::string_view body, bool ndjson,
                        const ingest_limits& limits, const request_context& ctx);

/// A WebSocket frame: one item or a JSON array of items. Each item names its kind in "kind"
/// ("log"/"logs", "metric"/"metrics", "event"/"events") unless `default_kind` is given.
struct frame_result {
  std::vector<signal_kind> kinds;  // parallel to items
  std::vector<item> items;
  std::vector<item_error> errors;
  int status = 0;
};
frame_result parse_frame(std::string_view text, const signal_kind* default_kind,
                         const ingest_limits& limits, const request_context& ctx);

/// The rule for service names (1 to 200 printable characters), for `?service=` defaults.
/// Metric names, event types and hosts follow it too.
bool valid_service(std::string_view s);
/// The rule for event ids: 1 to 128 characters of [A-Za-z0-9._:-].
bool valid_event_id(std::string_view s);
/// True for the canonical level names the edge writes (trace ... fatal).
bool canonical_level(std::string_view s);

/// "logs" / "log" -> signal_kind::log, ...; false for anything else.
bool parse_kind(std::string_view text, signal_kind& out);

/// Validates and normalizes one item (already unwrapped from any envelope).
bool normalize(signal_kind kind, const boost::json::object& in, int64_t index,
               const ingest_limits& limits, const request_context& ctx, item& out,
               std::vector<item_error>& errors);

/// RFC 3339 text or a Unix epoch number (s, ms, us or ns by magnitude) to a time point.
bool parse_timestamp(const boost::json::value& v, sys_time& out, std::string& problem);
/// The same for a string value's text.
bool parse_timestamp_text(std::string_view text, sys_time& out, std::string& problem);
/// "2026-11-23T21:51:15.123456Z"
std::string format_timestamp(sys_time t);
/// The same text written into `buf` (no allocation); returns its length.
using timestamp_buffer = std::array<char, 64>;
size_t format_timestamp(sys_time t, timestamp_buffer& buf);

/// A new time-ordered id (UUID version 7 text).
std::string new_event_id(sys_time now);

namespace detail {
class json_text;
/// Starts `text` with the head every payload has, from `it`'s id and service:
/// {"event_id":...,"ts":...,"service":...[,"assigned_id":true]  (normalize() and the fast path).
void write_payload_head(json_text& text, const item& it, sys_time ts, bool assigned,
                        const request_context& ctx);
}  // namespace detail

}  // namespace rtmon::ingest
