// Query parameters of the read API: parsing and validation with 400-ready messages
// ("<param>: <problem>"), the limits every list obeys, and the opaque keyset cursor.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "system/ingest/items.hpp"

namespace rtmon::api {

using sys_time = ingest::sys_time;

/// A client error: the message is "<param>: <problem>" and goes out as {"error": message}.
struct bad_request : std::runtime_error {
  explicit bad_request(const std::string& what, unsigned code = 400)
      : std::runtime_error(what), status(code) {}
  unsigned status;
};

/// The decoded query string (a parameter given twice is refused: the intent is ambiguous).
class query {
 public:
  std::optional<std::string> get(const std::string& name) const;
  void set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }
  bool has(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

/// Splits an origin-form target into its decoded path and query. Throws bad_request.
void parse_target(std::string_view target, std::string& path, query& q);

constexpr int default_limit = 50;
constexpr int max_limit = 200;
constexpr auto max_range = std::chrono::hours{24 * 31};
constexpr auto default_range = std::chrono::hours{1};

/// `limit`: 1..200, default 50.
int parse_limit(const query& q);

/// A time parameter: RFC 3339 text or Unix epoch seconds/milliseconds.
std::optional<sys_time> parse_time(const query& q, const std::string& name);

struct time_range {
  sys_time from, to;
};
/// `from`/`to`: default the last hour before `to` (default now); from < to; at most 31 days.
time_range parse_range(const query& q, sys_time now);

/// `status`: comma list of statuses, `open` = pending,triggered,acknowledged. Empty: all.
std::vector<std::string> parse_statuses(const query& q);

/// An optional non-empty text parameter of at most `max` bytes.
std::optional<std::string> parse_text(const query& q, const std::string& name, size_t max = 200);

/// A position in a newest-first list: (time in µs since the epoch, id), the last item served.
struct cursor {
  int64_t us = 0;
  std::string id;
  bool operator==(const cursor& o) const { return us == o.us && id == o.id; }
};
/// Opaque to clients (base64url); decode returns nullopt for anything it did not make.
std::string encode_cursor(const cursor& c);
std::optional<cursor> decode_cursor(std::string_view text);
/// `cursor`: absent, or a valid cursor (else 400).
std::optional<cursor> parse_cursor(const query& q);

/// A canonical UUID text (8-4-4-4-12 hex).
bool valid_uuid(std::string_view s);

/// "2026-11-24T10:00:00.123Z"
std::string iso_ms(sys_time t);
int64_t to_us(sys_time t);
/// "2026-11-24T10:00:00.123456Z": exact to the µs, for keyset positions.
std::string iso_us(int64_t us);

}  // namespace rtmon::api
