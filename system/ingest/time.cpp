// Event time and event ids of the ingest data model: RFC 3339 / epoch parsing, the canonical
// timestamp text, and time-ordered UUIDv7 ids.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>

#include <boost/json/value.hpp>

#include "system/ingest/items.hpp"

namespace rtmon::ingest {

namespace json = boost::json;

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;  // ASCII digits only, whatever the locale
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool parse_rfc3339(std::string_view s, sys_time& out) {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec))
    return false;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
    return false;
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return false;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return false;  // RFC 3339 requires an offset
  }
  if (pos != s.size()) return false;
  int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                 h * 3600 + mi * 60 + std::min(sec, 59) - offset_min * 60;
  out = sys_time{std::chrono::duration_cast<sys_time::duration>(std::chrono::seconds{secs} +
                                                                std::chrono::nanoseconds{nanos})};
  return true;
}

}  // namespace

bool parse_timestamp_text(std::string_view s, sys_time& out, std::string& problem) {
  if (!parse_rfc3339(s, out)) {
    problem = "must be an RFC 3339 time such as 2026-11-23T21:51:15.123Z or a Unix epoch number";
    return false;
  }
  return true;
}

bool parse_timestamp(const json::value& v, sys_time& out, std::string& problem) {
  if (v.is_string()) {
    const auto& s = v.get_string();  // a reference: a copy would allocate
    return parse_timestamp_text({s.data(), s.size()}, out, problem);
  }
  if (v.is_number()) {
    // Magnitude picks the unit: seconds until year 5138, then ms, then us. Integers convert
    // exactly; fractions round to the microsecond (the storage precision).
    auto unit_us = [](double magnitude) -> int64_t {
      return magnitude < 1e11 ? 1000000 : magnitude < 1e14 ? 1000 : 1;
    };
    int64_t us = 0;
    if (v.is_int64() || v.is_uint64()) {
      int64_t x = v.is_int64() ? v.get_int64() : static_cast<int64_t>(v.get_uint64());
      if (x < 0) {
        problem = "must not be negative";
        return false;
      }
      us = x * unit_us(static_cast<double>(x));
    } else {
      double x = v.get_double();
      if (x < 0 || x >= 1e17) {
        problem = "must be a Unix epoch in seconds, milliseconds or microseconds";
        return false;
      }
      us = std::llround(x * static_cast<double>(unit_us(x)));
    }
    out = sys_time{std::chrono::duration_cast<sys_time::duration>(std::chrono::microseconds{us})};
    return true;
  }
  problem = "must be an RFC 3339 string or a Unix epoch number";
  return false;
}

size_t format_timestamp(sys_time t, timestamp_buffer& buf) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
  auto frac = us - secs * 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  auto sod = secs - days * 86400;
  // civil_from_days (H. Hinnant), the inverse of days_from_civil above.
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  if (y < 0 || y > 9999) {  // beyond 4 digits: what snprintf writes for such years
    std::tm tm{};
    auto tt = static_cast<std::time_t>(secs);
    gmtime_r(&tt, &tm);
    int n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, static_cast<long long>(frac));
    return std::min(static_cast<size_t>(n), buf.size() - 1);
  }
  // Fixed width: "YYYY-MM-DDTHH:MM:SS.ffffffZ". Hand-rolled because this runs for every item
  // (snprintf and gmtime_r, which takes the time zone lock, were 6 % of the ingest CPU).
  auto put = [&buf](size_t pos, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[pos + i] = static_cast<char>('0' + v % 10);
  };
  put(0, y, 4);
  buf[4] = '-';
  put(5, m, 2);
  buf[7] = '-';
  put(8, d, 2);
  buf[10] = 'T';
  put(11, sod / 3600, 2);
  buf[13] = ':';
  put(14, sod / 60 % 60, 2);
  buf[16] = ':';
  put(17, sod % 60, 2);
  buf[19] = '.';
  put(20, frac, 6);
  buf[26] = 'Z';
  buf[27] = '\0';
  return 27;
}

std::string format_timestamp(sys_time t) {
  timestamp_buffer buf;
  return std::string(buf.data(), format_timestamp(t, buf));
}

std::string new_event_id(sys_time now) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  uint64_t hi = (ms << 16) | 0x7000u | (rng() & 0x0fffu);                 // 48-bit time, version 7
  uint64_t lo = (rng() & 0x3fffffffffffffffull) | 0x8000000000000000ull;  // variant 10
  // 8-4-4-4-12 hex digits; hand-rolled because this runs for every item.
  static const char digits[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  for (int nibble = 15; nibble >= 0; --nibble) {
    if (pos == 8 || pos == 13) ++pos;
    out[pos++] = digits[(hi >> (nibble * 4)) & 0xf];
  }
  pos = 19;
  for (int nibble = 15; nibble >= 0; --nibble) {
    if (pos == 23) ++pos;
    out[pos++] = digits[(lo >> (nibble * 4)) & 0xf];
  }
  return out;
}

}  // namespace rtmon::ingest
