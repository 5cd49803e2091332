#include "system/api/params.hpp"

#include <cctype>
#include <cstdio>

#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

namespace rtmon::api {

namespace {

constexpr const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += b64[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += b64[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::char_traits<char>::find(b64, 64, c);
    if (p == nullptr || c == '\0') return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw bad_request(name + ": " + problem);
}

}  // namespace

std::optional<std::string> query::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

void parse_target(std::string_view target, std::string& path, query& q) {
  auto parsed = boost::urls::parse_origin_form({target.data(), target.size()});
  if (!parsed) throw bad_request("target: not a valid request target");
  path = std::string{parsed->encoded_path()};
  for (auto p : parsed->params()) {
    std::string key = p.key;
    if (q.has(key)) fail(key, "given more than once");
    q.set(std::move(key), p.has_value ? std::string{p.value} : std::string{});
  }
}

int parse_limit(const query& q) {
  auto v = q.get("limit");
  if (!v) return default_limit;
  int n = 0;
  if (v->empty() || v->size() > 6) fail("limit", "must be an integer from 1 to 200");
  for (char c : *v) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      fail("limit", "must be an integer from 1 to 200");
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > max_limit) fail("limit", "must be an integer from 1 to 200, got " + *v);
  return n;
}

std::optional<sys_time> parse_time(const query& q, const std::string& name) {
  auto v = q.get(name);
  if (!v) return std::nullopt;
  bool numeric = !v->empty() && v->size() <= 16;
  for (char c : *v) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
  sys_time t;
  std::string problem;
  boost::json::value jv;
  if (numeric)
    jv = static_cast<int64_t>(std::stoll(*v));
  else
    jv = boost::json::string(*v);
  if (!ingest::parse_timestamp(jv, t, problem))
    fail(name, "must be an RFC 3339 time (2026-11-24T10:00:00Z) or Unix epoch seconds, got '" +
                   v->substr(0, 64) + "'");
  return t;
}

time_range parse_range(const query& q, sys_time now) {
  auto to = parse_time(q, "to");
  auto from = parse_time(q, "from");
  time_range r;
  r.to = to ? *to : now;
  r.from = from ? *from : r.to - default_range;
  if (r.from >= r.to) fail("from", "must be before to");
  if (r.to - r.from > max_range) fail("from", "the time range is at most 31 days");
  return r;
}

std::vector<std::string> parse_statuses(const query& q) {
  static const std::vector<std::string> known{"pending", "triggered", "acknowledged", "resolved",
                                              "cancelled"};
  std::vector<std::string> out;
  auto v = q.get("status");
  if (!v || v->empty()) return out;
  size_t start = 0;
  while (start <= v->size()) {
    auto end = v->find(',', start);
    if (end == std::string::npos) end = v->size();
    auto s = v->substr(start, end - start);
    auto add = [&](const std::string& x) {
      for (const auto& have : out)
        if (have == x) return;
      out.push_back(x);
    };
    if (s == "open") {
      for (const char* x : {"pending", "triggered", "acknowledged"}) add(x);
    } else if (std::find(known.begin(), known.end(), s) != known.end()) {
      add(s);
    } else {
      fail("status", "unknown status '" + s.substr(0, 40) +
                         "' (use open, pending, triggered, acknowledged, resolved, cancelled)");
    }
    start = end + 1;
  }
  return out;
}

std::optional<std::string> parse_text(const query& q, const std::string& name, size_t max) {
  auto v = q.get(name);
  if (!v) return std::nullopt;
  if (v->empty()) return std::nullopt;  // ?service= means "any", as forms send it
  if (v->size() > max) fail(name, "at most " + std::to_string(max) + " bytes");
  for (unsigned char c : *v)
    if (c < 0x20 || c == 0x7f) fail(name, "control characters are not allowed");
  return v;
}

std::string encode_cursor(const cursor& c) { return base64url(std::to_string(c.us) + "|" + c.id); }

std::optional<cursor> decode_cursor(std::string_view text) {
  if (text.empty() || text.size() > 400) return std::nullopt;
  auto raw = unbase64url(text);
  if (!raw) return std::nullopt;
  auto bar = raw->find('|');
  // At most 18 digits (and a sign): always fits an int64_t, so stoll cannot throw.
  if (bar == std::string::npos || bar == 0 || bar > 19 || bar + 1 >= raw->size() ||
      (bar == 19 && (*raw)[0] != '-'))
    return std::nullopt;
  cursor c;
  for (size_t i = 0; i < bar; ++i) {
    char ch = (*raw)[i];
    if (i == 0 && ch == '-') continue;
    if (!std::isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
  }
  c.us = std::stoll(raw->substr(0, bar));
  c.id = raw->substr(bar + 1);
  for (unsigned char ch : c.id)
    if (ch < 0x20 || ch == 0x7f) return std::nullopt;
  // Round trip: only texts this server wrote are accepted.
  if (encode_cursor(c) != text) return std::nullopt;
  return c;
}

std::optional<cursor> parse_cursor(const query& q) {
  auto v = q.get("cursor");
  if (!v || v->empty()) return std::nullopt;
  auto c = decode_cursor(*v);
  if (!c) fail("cursor", "not a cursor from a previous page's next_cursor");
  return c;
}

bool valid_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

int64_t to_us(sys_time t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string iso_ms(sys_time t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms - secs * 1000));
  return buf;
}

std::string iso_us(int64_t us) {
  auto secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
  auto t = iso_ms(sys_time{std::chrono::seconds{secs}});  // "...:SS.000Z"
  char frac[16];
  std::snprintf(frac, sizeof frac, "%06lld", static_cast<long long>(us - secs * 1000000));
  return t.substr(0, t.size() - 4) + frac + "Z";
}

}  // namespace rtmon::api
