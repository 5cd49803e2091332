// Text helpers of the renderers (render.hpp): UTF-8-safe clipping, Slack and HTML escaping,
// RFC 2047 headers, RFC 5322 dates, quoted-printable, incident links.
#include <cstdio>
#include <ctime>

#include "system/notify/render.hpp"
#include "system/notify/render_view.hpp"

namespace rtmon::notify {

namespace {

std::string base64(std::string_view in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16 |
                 static_cast<unsigned char>(in[i + 1]) << 8 | static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += abc[(n >> k) & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += abc[(n >> 18) & 63];
    out += abc[(n >> 12) & 63];
    out += i + 1 < in.size() ? abc[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

namespace detail {

// Header values carry no line breaks or other controls (no header injection).
std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  return out;
}

}  // namespace detail

using detail::header_safe;

std::string_view utf8_prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t i = max_bytes;
  // s[i] is the first byte left out: if it continues a sequence, leave that sequence out too.
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return s.substr(0, i);
}

std::string clip(std::string_view s, size_t max_bytes) {
  static constexpr std::string_view ellipsis = "\xE2\x80\xA6";  // …
  if (s.size() <= max_bytes) return std::string(s);
  if (max_bytes < ellipsis.size()) return std::string(utf8_prefix(s, max_bytes));
  return std::string(utf8_prefix(s, max_bytes - ellipsis.size())) + std::string(ellipsis);
}

std::string slack_text(std::string_view raw, size_t max_bytes) {
  static constexpr std::string_view ellipsis = "\xE2\x80\xA6";
  auto escape = [](unsigned char c) -> std::string_view {
    switch (c) {
      case '&':
        return "&amp;";
      case '<':
        return "&lt;";
      case '>':
        return "&gt;";
      default:
        return {};
    }
  };
  std::string out;
  size_t i = 0;
  // Escaping only touches ASCII, so whole code points (or entities) are appended at a time
  // until the next one would not fit.
  auto full = [&] {
    size_t n = 0;
    for (unsigned char c : raw) n += escape(c).empty() ? 1 : escape(c).size();
    return n;
  }();
  size_t budget = full <= max_bytes
                      ? max_bytes
                      : (max_bytes >= ellipsis.size() ? max_bytes - ellipsis.size() : 0);
  while (i < raw.size()) {
    auto c = static_cast<unsigned char>(raw[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    len = std::min(len, raw.size() - i);
    auto esc = escape(c);
    std::string_view piece = esc.empty() ? raw.substr(i, len) : esc;
    if (out.size() + piece.size() > budget) break;
    out += piece;
    i += len;
  }
  if (i < raw.size() && max_bytes >= ellipsis.size()) out += ellipsis;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  return out;
}

std::string encode_header(std::string_view value) {
  auto safe = header_safe(value);
  bool ascii = true;
  for (unsigned char c : safe) ascii = ascii && c < 0x80;
  if (ascii) return clip(safe, 900);
  // 45 bytes -> 60 base64 characters; with "=?UTF-8?B?" and "?=" a word is 72 <= 75.
  std::string out;
  std::string_view rest = utf8_prefix(safe, 900);
  while (!rest.empty()) {
    auto piece = utf8_prefix(rest, 45);
    if (piece.empty()) piece = rest.substr(0, 1);  // a stray continuation byte: move on
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(piece) + "?=";
    rest.remove_prefix(piece.size());
  }
  return out;
}

std::string rfc5322_date(int64_t unix_ms) {
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string quoted_printable(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    auto line = text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      char token[4] = {static_cast<char>(c), 0, 0, 0};
      size_t len = 1;
      // Literal: printable ASCII except '=', and blanks that are not at the end of the line.
      if (!((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last))) {
        token[0] = '=';
        token[1] = hex[c >> 4];
        token[2] = hex[c & 15];
        len = 3;
      }
      if (col + len > 75) {  // soft break: "=" ends the line at 76 characters at most
        out += "=\r\n";
        col = 0;
      }
      out.append(token, len);
      col += len;
    }
    if (end == std::string_view::npos) break;
    out += "\r\n";
    start = end + 1;
  }
  return out;
}

std::string incident_url(std::string_view ui_base_url, std::string_view incident_id) {
  if (ui_base_url.empty()) return {};
  while (!ui_base_url.empty() && ui_base_url.back() == '/') ui_base_url.remove_suffix(1);
  static const char* hex = "0123456789ABCDEF";
  std::string id;
  for (unsigned char c : incident_id) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      id += static_cast<char>(c);
    } else {
      id += '%';
      id += hex[c >> 4];
      id += hex[c & 15];
    }
  }
  return std::string(ui_base_url) + "/incidents/" + id;
}

}  // namespace rtmon::notify
