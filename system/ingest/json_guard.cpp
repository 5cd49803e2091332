#include "system/ingest/json_guard.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

namespace rtmon::ingest {

namespace json = boost::json;

namespace {

using detail::exact_integer;
using detail::max_exact_int;
using detail::overflowed_integer;

/// A basic_parser handler that builds a value like boost::json::parser does, but checks every
/// string and number on the way. Returning false with an error code stops the parse.
struct guard_handler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  json_limits limits;
  std::string problem;
  // The key being read, named in errors. A key arriving whole as a slice of the input (the
  // usual case: the input stays put for the whole parse) is kept as a view and copied only when
  // an error needs it; keys the parser assembled elsewhere (escapes, parts) are copied at once.
  std::string_view input;
  std::string_view key_view;
  std::string key_text;
  std::string number_text;  // number literals may arrive in parts
  size_t part_bytes = 0;

  bool fail(json::error_code& ec, std::string what) {
    problem = std::move(what);
    ec = json::error::syntax;  // any error stops the parser; `problem` carries the reason
    return false;
  }
  bool check_chars(json::string_view s, json::error_code& ec) {
    if (std::memchr(s.data(), '\0', s.size()) != nullptr)
      return fail(ec, "contains a NUL character (\\u0000), which Postgres cannot store");
    part_bytes += s.size();
    if (part_bytes > limits.max_string_bytes)
      return fail(ec, "string longer than " + std::to_string(limits.max_string_bytes) + " bytes");
    return true;
  }
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  // Errors inside a key name that key (printable and shortened), not the previous one.
  void note_key(json::string_view s, bool first_part, bool whole) {
    std::less<const char*> before;
    if (first_part && whole && !before(s.data(), input.data()) &&
        !before(input.data() + input.size(), s.data() + s.size())) {
      key_view = {s.data(), s.size()};
      key_text.clear();
      return;
    }
    if (first_part) key_text.clear();
    key_view = {};
    append_key_text(s);
  }
  void append_key_text(std::string_view s) {
    auto from = key_text.size();
    key_text.append(s.data(), std::min(s.size(), 64 - std::min<size_t>(from, 64)));
    std::replace(key_text.begin() + static_cast<std::ptrdiff_t>(from), key_text.end(), '\0', '?');
  }
  // Printable and shortened (64 bytes).
  std::string last_key() {
    if (!key_view.empty()) {
      key_text.clear();
      append_key_text(key_view);
      key_view = {};
    }
    return key_text;
  }
  // Ready for the next text: no problem, key or number carried over.
  void reset(json::storage_ptr sp) {
    st.reset(std::move(sp));
    problem.clear();
    key_view = {};
    key_text.clear();
    number_text.clear();
    part_bytes = 0;
  }
  bool on_key_part(json::string_view s, std::size_t n, json::error_code& ec) {
    note_key(s, n == s.size(), false);
    if (!check_chars(s, ec)) return false;
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code& ec) {
    note_key(s, n == s.size(), true);
    if (!check_chars(s, ec)) return false;
    part_bytes = 0;
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code& ec) {
    if (!check_chars(s, ec)) return false;
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code& ec) {
    if (!check_chars(s, ec)) return false;
    part_bytes = 0;
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_text.append(s.data(), s.size());
    return true;
  }
  bool on_int64(int64_t i, json::string_view, json::error_code& ec) {
    number_text.clear();
    if (!exact_integer(i))
      return fail(ec, "integer beyond 2^53 would lose precision; send it as a string");
    st.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code& ec) {
    number_text.clear();
    if (u > static_cast<uint64_t>(max_exact_int))
      return fail(ec, "integer beyond 2^53 would lose precision; send it as a string");
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code& ec) {
    if (!std::isfinite(d)) {
      number_text.clear();
      return fail(ec, "number out of range (not finite), which Postgres cannot store");
    }
    if (overflowed_integer(d, number_text, {s.data(), s.size()}))
      return fail(ec, "integer beyond 2^53 would lose precision; send it as a string");
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

json::parse_options options_for(const json_limits& limits) {
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  return opt;
}

}  // namespace

struct guarded_parser::impl {
  json_limits limits;
  json::basic_parser<guard_handler> p;
  explicit impl(const json_limits& l) : limits(l), p(options_for(l)) { p.handler().limits = l; }
};

guarded_parser::guarded_parser(const json_limits& limits) : impl_(new impl(limits)) {}
guarded_parser::~guarded_parser() = default;

json::value guarded_parser::parse(std::string_view text, json_problem& problem,
                                  json::storage_ptr sp) {
  auto& p = impl_->p;
  auto& h = p.handler();
  p.reset();
  h.reset(std::move(sp));
  h.input = text;
  json::error_code ec;
  auto n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) {
    // Trailing characters after the value (whitespace is consumed by the parser).
    problem = {n, "", "unexpected data after the JSON value"};
    return nullptr;
  }
  if (ec) {
    std::string why = h.problem;
    if (why.empty()) {
      if (ec == json::error::too_deep)
        why = "nesting deeper than " + std::to_string(impl_->limits.max_depth) + " levels";
      else if (ec == json::error::incomplete)
        why = "truncated JSON";
      else
        why = "malformed JSON: " + ec.message();
    }
    problem = {n, h.last_key(), why};
    return nullptr;
  }
  return h.st.release();
}

json::value parse_guarded(std::string_view text, const json_limits& limits, json_problem& problem,
                          json::storage_ptr sp) {
  return guarded_parser{limits}.parse(text, problem, std::move(sp));
}

bool looks_like_ndjson(std::string_view text) {
  // Cheap check: a newline followed by '{' or '[' after the first non-blank line.
  auto nl = text.find('\n');
  while (nl != std::string_view::npos) {
    auto rest = text.find_first_not_of(" \t\r\n", nl);
    if (rest == std::string_view::npos) return false;
    if (text[rest] == '{' || text[rest] == '[') return true;
    nl = text.find('\n', rest);
  }
  return false;
}

}  // namespace rtmon::ingest
