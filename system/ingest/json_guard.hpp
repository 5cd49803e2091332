// Parses JSON with Boost.JSON and refuses, during the parse, what Postgres would refuse later or
// what would silently change meaning: NUL characters, non-finite numbers (1e400), integers
// beyond 2^53 (they would become lossy doubles), overlong strings and excessive nesting.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

namespace rtmon::ingest {

struct json_limits {
  size_t max_depth = 10;
  size_t max_string_bytes = 32768;
};

struct json_problem {
  size_t offset = 0;  // byte offset in the parsed text
  std::string field;  // the key being read when the problem was found ("" at top level)
  std::string problem;
  explicit operator bool() const { return !problem.empty(); }
};

/// Parses exactly one JSON value (surrounding whitespace allowed). On failure `problem` says why.
/// The value's memory comes from `sp` (e.g. a per-request monotonic arena).
boost::json::value parse_guarded(std::string_view text, const json_limits& limits,
                                 json_problem& problem, boost::json::storage_ptr sp = {});

/// parse_guarded for many texts in a row (the lines of an NDJSON body): the parser and its
/// value stack are set up once and reused, instead of once (with their allocations) per line.
class guarded_parser {
 public:
  explicit guarded_parser(const json_limits& limits);
  ~guarded_parser();
  guarded_parser(const guarded_parser&) = delete;
  guarded_parser& operator=(const guarded_parser&) = delete;
  boost::json::value parse(std::string_view text, json_problem& problem,
                           boost::json::storage_ptr sp = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// True if `text` holds one JSON text followed only by whitespace and then more text, i.e. the
/// caller should try NDJSON (one value per line).
bool looks_like_ndjson(std::string_view text);

namespace detail {

// The number rules of both SAX handlers (this guarded parser and the fast path, fast_body.cpp).
// Integers beyond +-2^53 would silently lose precision as doubles: refused.
constexpr int64_t max_exact_int = int64_t{1} << 53;
inline bool exact_integer(int64_t i) { return i <= max_exact_int && i >= -max_exact_int; }
/// Whether a double from the parser is really an integer literal beyond 2^53 (Boost.JSON gives
/// integers that overflow 64 bits as doubles). `parts` holds the literal's earlier parts
/// (on_number_part) and is cleared; `last` is its end.
inline bool overflowed_integer(double d, std::string& parts, std::string_view last) {
  bool overflowed = false;
  if (std::fabs(d) > static_cast<double>(max_exact_int)) {
    parts.append(last.data(), last.size());
    overflowed = parts.find_first_of(".eE") == std::string::npos;
  }
  parts.clear();
  return overflowed;
}

}  // namespace detail

/// Calls `f(line)` for each non-blank line of an NDJSON body, in order, while it returns true.
/// Returns false if `f` stopped it.
template <class F>
bool for_each_ndjson_line(std::string_view body, F&& f) {
  size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    auto line = body.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!f(line)) return false;
  }
  return true;
}

}  // namespace rtmon::ingest
