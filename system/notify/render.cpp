#include "system/notify/render.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "system/ingest/items.hpp"

namespace rtmon::notify {

namespace json = boost::json;

namespace {

// --- reading the transition -------------------------------------------------------------------

// Numbers as people write them ("0.12", not boost's "1.2E-1").
std::string number_text(const json::value& v) {
  char buf[64];
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  std::snprintf(buf, sizeof(buf), "%.6g", v.get_double());
  return buf;
}

std::string text_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return {};
  const auto& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_number()) return number_text(v);
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return json::serialize(v);
}

// "k=v, k2=v2"
std::string pairs_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return {};
  std::string out;
  for (const auto& kv : it->value().get_object()) {
    if (!out.empty()) out += ", ";
    out += std::string(kv.key()) + "=" + text_of(it->value().get_object(), kv.key());
  }
  return out;
}

// The fields every renderer uses, read once; missing fields are empty.
struct view {
  json::object t;  // the transition as received ({} when the payload does not parse)
  std::string incident_id, event, rule, service, severity, status, summary, detail, actor, at,
      opened_at, fingerprint, seq, value, breach_count, labels, group, url;
};

view read(const channel& ch, const notification& n) {
  view v;
  json::error_code ec;
  auto parsed = json::parse(n.payload, ec);
  if (!ec && parsed.is_object()) v.t = std::move(parsed.get_object());
  const auto& t = v.t;
  v.incident_id = n.incident_id.empty() ? text_of(t, "incident_id") : n.incident_id;
  v.event = n.event.empty() ? text_of(t, "kind") : n.event;
  v.rule = text_of(t, "rule");
  v.service = text_of(t, "service");
  v.severity = text_of(t, "severity");
  v.status = text_of(t, "status");
  v.summary = text_of(t, "summary");
  v.detail = text_of(t, "detail");
  v.actor = text_of(t, "actor");
  v.at = text_of(t, "at");
  v.opened_at = text_of(t, "opened_at");
  v.fingerprint = text_of(t, "fingerprint");
  v.seq = text_of(t, "seq");
  if (v.seq.empty() && n.seq != 0) v.seq = std::to_string(n.seq);
  v.value = text_of(t, "value");
  v.breach_count = text_of(t, "breach_count");
  v.labels = pairs_of(t, "labels");
  v.group = pairs_of(t, "group");
  v.url = incident_url(ch.ui_base_url, v.incident_id);
  return v;
}

bool parse_iso(const std::string& iso, int64_t& unix_ms) {
  if (iso.empty()) return false;
  ingest::sys_time tp;
  std::string problem;
  if (!ingest::parse_timestamp(json::value(iso), tp, problem)) return false;
  unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  return true;
}

// "2023-11-14 22:13:20 UTC"; the text itself when it is not a time.
std::string pretty_time(const std::string& iso) {
  int64_t ms = 0;
  if (!parse_iso(iso, ms)) return iso;
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// "45s", "14m", "2h 5m", "3d 4h".
std::string duration_text(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) + "h";
}

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// Someone did it (not rtmon itself): "by alice" is worth saying.
bool by_person(const view& v) { return !v.actor.empty() && v.actor != "rtmon"; }

// What happened, in capitals: "TRIGGERED", "ACKNOWLEDGED by alice", "RESOLVED after 14m".
std::string headline(const view& v) {
  const auto& e = v.event;
  if (e == "acknowledged") return by_person(v) ? "ACKNOWLEDGED by " + v.actor : "ACKNOWLEDGED";
  if (e == "resolved") {
    if (by_person(v)) return "RESOLVED by " + v.actor;
    int64_t from = 0, to = 0;
    if (parse_iso(v.opened_at, from) && parse_iso(v.at, to) && to >= from)
      return "RESOLVED after " + duration_text(to - from);
    return "RESOLVED";
  }
  if (e == "renotify") return "STILL FIRING";
  return upper(e.empty() ? std::string("notification") : e);
}

// "high-error-rate on api"
std::string title(const view& v) {
  auto rule = v.rule.empty() ? std::string("incident ") + v.incident_id : v.rule;
  return v.service.empty() ? rule : rule + " on " + v.service;
}

// Follow-ups where the detail is the value against the threshold rather than an action.
bool tells_value(const view& v) {
  return v.event == "triggered" || v.event == "renotify" || v.event == "flapping";
}

// --- Slack ---------------------------------------------------------------------------------------

std::string severity_emoji(const std::string& sev) {
  if (sev == "critical") return ":red_circle:";
  if (sev == "warning") return ":large_orange_circle:";
  if (sev == "info") return ":large_blue_circle:";
  return ":white_circle:";
}

std::string event_emoji(const view& v) {
  if (v.event == "acknowledged") return ":large_yellow_circle:";
  if (v.event == "resolved" || v.event == "stable") return ":large_green_circle:";
  if (v.event == "cancelled") return ":white_circle:";
  return severity_emoji(v.severity);
}

// Slack shows <!date^...> in the reader's time zone; the fallback is the plain text.
std::string slack_date(const std::string& iso) {
  int64_t ms = 0;
  if (!parse_iso(iso, ms)) return slack_text(iso, 200);
  return "<!date^" + std::to_string(ms / 1000) + "^{date_short_pretty} {time_secs}|" +
         pretty_time(iso) + ">";
}

json::object mrkdwn(std::string text) {
  return json::object{{"type", "mrkdwn"}, {"text", std::move(text)}};
}

// "*Service*\napi" with the value escaped; empty values are left out by the caller.
json::object field(const char* label, const std::string& raw_value, bool escaped = false) {
  std::string head = std::string("*") + label + "*\n";
  auto value = escaped ? std::string(utf8_prefix(raw_value, slack_field_max - head.size()))
                       : slack_text(raw_value, slack_field_max - head.size());
  return mrkdwn(head + value);
}

// --- email -----------------------------------------------------------------------------------

std::string severity_colour(const view& v) {
  if (v.event == "resolved" || v.event == "stable") return "#36a64f";
  if (v.event == "acknowledged") return "#e8a317";
  if (v.event == "cancelled") return "#888888";
  if (v.severity == "critical") return "#d63232";
  if (v.severity == "warning") return "#e8a317";
  return "#3b82f6";
}

// Label/value rows of the message body, in display order; empty values are skipped.
std::vector<std::pair<std::string, std::string>> rows(const view& v) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const char* k, const std::string& val) {
    if (!val.empty()) out.emplace_back(k, val);
  };
  add("Service", v.service);
  add("Severity", v.severity);
  add("Rule", v.rule);
  add("Status", v.status);
  add(tells_value(v) ? "Value" : "Detail", clip(v.detail, 2000));
  add("Started", pretty_time(v.opened_at));
  if (v.event != "triggered") add("At", pretty_time(v.at));
  if (by_person(v)) add("By", v.actor);
  if (!v.breach_count.empty() && v.breach_count != "0" && v.breach_count != "1")
    add("Breaches", v.breach_count);
  add("Labels", clip(v.labels, 2000));
  add("Group", clip(v.group, 2000));
  add("Incident", v.incident_id);
  return out;
}

// Header values carry no line breaks or other controls (no header injection).
std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  return out;
}

// FNV-1a: a short deterministic tag for the MIME boundary.
std::string fnv_hex(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The left part of a msg-id (RFC 5322 dot-atom-text): [A-Za-z0-9_-] pass, ':' between two
// non-empty parts becomes '.', any other byte "=XX". Injective, so distinct keys never collide.
std::string id_part(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
    if (plain) {
      out += static_cast<char>(c);
    } else if (c == ':' && i > 0 && i + 1 < s.size() && s[i - 1] != ':' && s[i + 1] != ':') {
      out += '.';
    } else {
      out += '=';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

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

bool is_root(const notification& n) { return n.event == "triggered"; }

}  // namespace

// --- text helpers ----------------------------------------------------------------------------

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

// --- Slack -----------------------------------------------------------------------------------

std::string render_slack(const channel& ch, const notification& n) {
  auto v = read(ch, n);
  auto emoji = event_emoji(v);
  auto sev = v.severity.empty() ? std::string{} : " (sev: " + v.severity + ")";
  // Fallback text: what notifications and old clients show.
  std::string fallback = "[" + headline(v) + "] " + title(v) + sev;
  if (!v.summary.empty()) fallback += ": " + v.summary;
  json::object msg;
  msg["text"] = emoji + " " + slack_text(fallback, slack_text_max - emoji.size() - 1);

  json::array blocks;
  // Header: plain_text, no escaping (Slack shows it literally), shortcodes become emoji.
  blocks.push_back(json::object{
      {"type", "header"},
      {"text",
       {{"type", "plain_text"},
        {"text",
         emoji + " " + clip(headline(v) + ": " + title(v), slack_header_max - emoji.size() - 1)},
        {"emoji", true}}}});
  // Summary + link to the incident in the UI.
  std::string link = v.url.empty() ? "" : "\n<" + v.url + "|Open incident in rtmon>";
  std::string body = v.summary.empty() ? v.detail : v.summary;
  if (body.empty()) body = title(v);
  blocks.push_back(
      json::object{{"type", "section"},
                   {"text", mrkdwn(slack_text(body, slack_text_max - link.size()) + link)}});
  // Fields (Slack allows 10): the facts a responder looks for first.
  json::array fields;
  if (!v.service.empty()) fields.push_back(field("Service", v.service));
  if (!v.severity.empty())
    fields.push_back(field("Severity", severity_emoji(v.severity) + " " + v.severity));
  if (!v.rule.empty()) fields.push_back(field("Rule", v.rule));
  if (!v.status.empty()) fields.push_back(field("Status", v.status));
  if (!v.detail.empty()) fields.push_back(field(tells_value(v) ? "Value" : "Detail", v.detail));
  if (!v.opened_at.empty()) fields.push_back(field("Started", slack_date(v.opened_at), true));
  if (by_person(v)) fields.push_back(field("By", v.actor));
  if (v.event != "triggered" && !v.at.empty())
    fields.push_back(field("At", slack_date(v.at), true));
  if (!v.breach_count.empty() && v.breach_count != "0" && v.breach_count != "1")
    fields.push_back(field("Breaches", v.breach_count));
  if (!fields.empty())
    blocks.push_back(json::object{{"type", "section"}, {"fields", std::move(fields)}});
  // Context: identity for people and for grepping.
  std::string ctx = "Incident `" + v.incident_id + "`";
  if (!v.seq.empty()) ctx += " \xC2\xB7 seq " + v.seq;
  if (!v.labels.empty()) ctx += " \xC2\xB7 " + v.labels;
  blocks.push_back(json::object{
      {"type", "context"}, {"elements", json::array{mrkdwn(slack_text(ctx, slack_text_max))}}});
  msg["blocks"] = std::move(blocks);
  msg["unfurl_links"] = false;
  return json::serialize(msg);
}

// --- email -----------------------------------------------------------------------------------

std::string root_message_id(std::string_view incident_id) {
  return "<incident-" + id_part(incident_id) + "@rtmon>";
}

std::string message_id(const notification& n) {
  if (is_root(n)) return root_message_id(n.incident_id);
  auto key = n.idem_key.empty()
                 ? n.incident_id + ":" + std::to_string(n.seq) + ":" + n.channel + ":" + n.event
                 : n.idem_key;
  return "<n-" + id_part(key) + "@rtmon>";
}

std::string base_subject(const notification& n) {
  channel none;
  auto v = read(none, n);
  std::string s = "[" + (v.severity.empty() ? std::string("ALERT") : upper(v.severity)) + "] ";
  if (!v.service.empty()) s += v.service + ": ";
  s += v.rule.empty() ? "incident " + v.incident_id : v.rule;
  return s + " triggered";
}

email_message render_email(const channel& ch, const notification& n, int64_t date_ms) {
  notification root = n;  // the thread root id needs the incident id, from the payload if need be
  auto v = read(ch, n);
  root.incident_id = v.incident_id;
  email_message m;
  m.subject = (is_root(n) ? "" : "Re: ") + base_subject(root);
  m.message_id = message_id(root);
  if (!is_root(n)) m.in_reply_to = root_message_id(v.incident_id);

  auto head = headline(v) + " \xE2\x80\x94 " + title(v);  // em dash
  auto summary = clip(v.summary, 10000);
  auto table = rows(v);
  // Plain text.
  m.text = head + "\n\n";
  if (!summary.empty()) m.text += summary + "\n\n";
  for (const auto& [k, val] : table)
    m.text += k + ":" + std::string(10 - k.size(), ' ') + val + "\n";
  if (!v.url.empty()) m.text += "Open:" + std::string(6, ' ') + v.url + "\n";
  m.text += "\n-- \nrtmon notification " + n.idem_key + "\n";
  // HTML: every value escaped; the colour follows the event (green when resolved).
  m.html = "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<h2 style=\"color:" +
           severity_colour(v) + "\">" + html_escape(head) + "</h2>\n";
  if (!summary.empty()) m.html += "<p>" + html_escape(summary) + "</p>\n";
  m.html += "<table cellpadding=\"3\">\n";
  for (const auto& [k, val] : table)
    m.html += "<tr><th align=\"left\">" + html_escape(k) + "</th><td>" + html_escape(val) +
              "</td></tr>\n";
  m.html += "</table>\n";
  if (!v.url.empty())
    m.html += "<p><a href=\"" + html_escape(v.url) + "\">Open incident in rtmon</a></p>\n";
  m.html += "<p style=\"color:#888888;font-size:small\">rtmon notification " +
            html_escape(n.idem_key) + "</p>\n</body></html>\n";

  // The wire form. QP bodies can never contain "=_", so the boundary cannot occur inside them.
  auto boundary = "=_rtmon_" + fnv_hex(n.idem_key + m.message_id);
  std::string to;
  for (const auto& r : ch.to) to += (to.empty() ? "" : ", ") + header_safe(r);
  auto& d = m.data;
  d += "From: " + header_safe(ch.from) + "\r\n";
  d += "To: " + to + "\r\n";
  d += "Subject: " + encode_header(m.subject) + "\r\n";
  d += "Date: " + rfc5322_date(date_ms) + "\r\n";
  d += "Message-ID: " + m.message_id + "\r\n";
  if (!m.in_reply_to.empty()) {
    d += "In-Reply-To: " + m.in_reply_to + "\r\n";
    d += "References: " + m.in_reply_to + "\r\n";
  }
  d += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no vacation replies to alerts
  d += "X-Rtmon-Incident: " + header_safe(v.incident_id) + "\r\n";
  d += "X-Rtmon-Event: " + header_safe(v.event) + "\r\n";
  d += "MIME-Version: 1.0\r\n";
  d += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  d += "This is a multi-part message in MIME format.\r\n";
  for (const auto& [type, body] : {std::pair{"plain", &m.text}, std::pair{"html", &m.html}}) {
    d += "\r\n--" + boundary + "\r\n";
    d += std::string("Content-Type: text/") + type + "; charset=utf-8\r\n";
    d += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    d += quoted_printable(*body);
  }
  d += "\r\n--" + boundary + "--\r\n";
  return m;
}

// --- webhook ---------------------------------------------------------------------------------

std::string event_action(std::string_view event) {
  if (event == "acknowledged") return "acknowledge";
  if (event == "resolved" || event == "cancelled") return "resolve";
  return "trigger";
}

std::string pagerduty_severity(std::string_view severity) {
  if (severity == "critical" || severity == "warning" || severity == "info")
    return std::string(severity);
  return "warning";
}

std::string render_webhook(const channel& ch, const notification& n) {
  auto v = read(ch, n);
  json::object details;
  auto put = [&](const char* k, const std::string& val) {
    if (!val.empty()) details[k] = val;
  };
  put("event", v.event);
  put("rule", v.rule);
  put("status", v.status);
  put("detail", v.detail);
  put("actor", v.actor);
  put("opened_at", v.opened_at);
  put("fingerprint", v.fingerprint);
  for (const char* k : {"value", "breach_count", "seq", "labels", "group"})
    if (auto it = v.t.find(k); it != v.t.end()) details[k] = it->value();
  std::string summary = "[" + headline(v) + "] " + title(v);
  if (!v.summary.empty()) summary += ": " + v.summary;

  json::object payload{{"summary", clip(summary, 1024)},
                       {"source", v.service.empty() ? std::string("rtmon") : v.service},
                       {"severity", pagerduty_severity(v.severity)},
                       {"timestamp", v.at},
                       {"custom_details", std::move(details)}};
  if (!v.rule.empty()) payload["class"] = v.rule;
  json::object msg{{"event_action", event_action(v.event)},
                   {"dedup_key", clip(v.incident_id, 255)},
                   {"payload", std::move(payload)},
                   {"client", "rtmon"}};
  json::array links;
  if (!v.url.empty()) {
    msg["client_url"] = v.url;
    links.push_back(json::object{{"href", v.url}, {"text", "Incident " + v.incident_id}});
  }
  msg["links"] = std::move(links);
  msg["rtmon"] = v.t;
  return json::serialize(msg);
}

}  // namespace rtmon::notify
