// Email messages: text + HTML, Message-IDs and threading (render.hpp).
#include <cstdio>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "system/notify/render.hpp"
#include "system/notify/render_view.hpp"

namespace rtmon::notify {

namespace json = boost::json;
using namespace detail;

namespace {

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

bool is_root(const notification& n) { return n.event == "triggered"; }

}  // namespace

namespace detail {

std::string email_colour(const view& v) {
  if (v.event == "resolved" || v.event == "stable") return "#36a64f";
  if (v.event == "acknowledged") return "#e8a317";
  if (v.event == "cancelled") return "#888888";
  if (v.severity == "critical") return "#d63232";
  if (v.severity == "warning") return "#e8a317";
  return "#3b82f6";
}

namespace {

// Label/value rows of the message body, in display order; empty values are skipped.
std::vector<std::pair<std::string, std::string>> email_rows(const view& v) {
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

}  // namespace

std::string email_facts_text(const view& v, std::string_view indent) {
  std::string out;
  for (const auto& [k, val] : email_rows(v))
    out += std::string(indent) + k + ":" + std::string(10 - k.size(), ' ') + val + "\n";
  if (!v.url.empty()) out += std::string(indent) + "Open:" + std::string(6, ' ') + v.url + "\n";
  return out;
}

std::string email_facts_html(const view& v) {
  std::string out = "<table cellpadding=\"3\">\n";
  for (const auto& [k, val] : email_rows(v))
    out += "<tr><th align=\"left\">" + html_escape(k) + "</th><td>" + html_escape(val) +
           "</td></tr>\n";
  out += "</table>\n";
  if (!v.url.empty())
    out += "<p><a href=\"" + html_escape(v.url) + "\">Open incident in rtmon</a></p>\n";
  return out;
}

std::string email_html_start(const std::string& colour, const std::string& heading) {
  return "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<h2 style=\"color:" +
         colour + "\">" + html_escape(heading) + "</h2>\n";
}

std::string email_html_end(const std::string& footer) {
  return "<p style=\"color:#888888;font-size:small\">" + html_escape(footer) +
         "</p>\n</body></html>\n";
}

void email_wire(const channel& ch, email_message& m, const std::string& incident_id,
                const std::string& event, const std::string& idem_key) {
  // QP bodies can never contain "=_", so the boundary cannot occur inside them.
  auto boundary = "=_rtmon_" + fnv_hex(idem_key + m.message_id);
  std::string to;
  for (const auto& r : ch.to) to += (to.empty() ? "" : ", ") + header_safe(r);
  auto& d = m.data;
  d += "From: " + header_safe(ch.from) + "\r\n";
  d += "To: " + to + "\r\n";
  d += "Subject: " + encode_header(m.subject) + "\r\n";
  d += "Date: " + rfc5322_date(m.date_ms) + "\r\n";
  d += "Message-ID: " + m.message_id + "\r\n";
  if (!m.in_reply_to.empty()) {
    d += "In-Reply-To: " + m.in_reply_to + "\r\n";
    d += "References: " + m.in_reply_to + "\r\n";
  }
  d += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no vacation replies to alerts
  d += "X-Rtmon-Incident: " + header_safe(incident_id) + "\r\n";
  d += "X-Rtmon-Event: " + header_safe(event) + "\r\n";
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
}

}  // namespace detail

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
  if (!n.grouped.empty()) return render_email_group(ch, n, date_ms);
  notification root = n;  // the thread root id needs the incident id, from the payload if need be
  auto v = read(ch, n);
  root.incident_id = v.incident_id;
  email_message m;
  m.date_ms = date_ms;
  m.subject = (is_root(n) ? "" : "Re: ") + base_subject(root);
  m.message_id = message_id(root);
  if (!is_root(n)) m.in_reply_to = root_message_id(v.incident_id);

  auto head = headline(v) + " \xE2\x80\x94 " + title(v);  // em dash
  auto summary = clip(v.summary, 10000);
  auto footer = "rtmon notification " + n.idem_key;
  // Plain text.
  m.text = head + "\n\n";
  if (!summary.empty()) m.text += summary + "\n\n";
  m.text += email_facts_text(v, "") + "\n-- \n" + footer + "\n";
  // HTML: every value escaped; the colour follows the event (green when resolved).
  m.html = email_html_start(email_colour(v), head);
  if (!summary.empty()) m.html += "<p>" + html_escape(summary) + "</p>\n";
  m.html += email_facts_html(v) + email_html_end(footer);

  email_wire(ch, m, v.incident_id, v.event, n.idem_key);
  return m;
}

}  // namespace rtmon::notify
