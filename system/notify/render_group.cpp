// Grouped messages: the first alerts of several incidents of one group (a route's group_wait
// with group_by; actors/notify/grouping.hpp) as one Slack message or one email. Each incident
// keeps what a responder looks for first (severity, rule and service, summary, value against
// threshold, start, link); the header says how many and what they share.
#include <algorithm>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "system/notify/render.hpp"
#include "system/notify/render_view.hpp"
#include "system/notify/routing.hpp"

namespace rtmon::notify {

namespace json = boost::json;

using namespace detail;

namespace {

int rank(const std::string& severity) {
  return severity == "critical" ? 3 : severity == "warning" ? 2 : severity == "info" ? 1 : 0;
}

struct group_view {
  std::vector<view> members;  // the leader first
  std::string severity;       // the highest
  std::string what;           // "3 incidents TRIGGERED"
  std::string shared;         // "high-error-rate on api", "on api", "high-error-rate" or ""
  std::string grouped_by;     // "service=api" or ""
};

group_view read_group(const channel& ch, const notification& n) {
  group_view g;
  g.members.push_back(read(ch, n));
  for (const auto& m : n.grouped) g.members.push_back(read(ch, m));
  for (const auto& v : g.members)
    if (rank(v.severity) > rank(g.severity)) g.severity = v.severity;
  g.what = std::to_string(g.members.size()) + " incidents " + headline(g.members.front());
  auto all_same = [&](std::string view::*field) {
    return std::all_of(g.members.begin(), g.members.end(), [&](const view& v) {
      return !(v.*field).empty() && v.*field == g.members.front().*field;
    });
  };
  const auto& first = g.members.front();
  bool rule = all_same(&view::rule), service = all_same(&view::service);
  if (rule && service)
    g.shared = title(first);
  else if (rule)
    g.shared = first.rule;
  else if (service)
    g.shared = "on " + first.service;
  g.grouped_by = group_values(n.group_key);
  return g;
}

// One incident of the group: title (linked), severity, summary, value, start.
std::string slack_member(const view& v) {
  auto name = slack_text(title(v), 300);
  std::string out = severity_emoji(v.severity) + " *" +
                    (v.url.empty() ? name : "<" + v.url + "|" + name + ">") + "*";
  if (!v.severity.empty()) out += " \xC2\xB7 " + v.severity;
  if (!v.summary.empty()) out += "\n" + slack_text(v.summary, 1000);
  std::string facts;
  if (!v.detail.empty()) facts += "_Value_ " + slack_text(v.detail, 500);
  if (!v.opened_at.empty())
    facts +=
        std::string(facts.empty() ? "" : " \xC2\xB7 ") + "_Started_ " + slack_date(v.opened_at);
  if (!facts.empty()) out += "\n" + facts;
  return std::string(utf8_prefix(out, slack_text_max));
}

}  // namespace

std::string detail::render_slack_group(const channel& ch, const notification& n) {
  auto g = read_group(ch, n);
  auto emoji = severity_emoji(g.severity);
  std::string fallback =
      "[" + headline(g.members.front()) + "] " + std::to_string(g.members.size()) + " incidents:";
  for (size_t i = 0; i < g.members.size(); ++i) fallback += (i ? ", " : " ") + title(g.members[i]);
  json::object msg;
  msg["text"] = emoji + " " + slack_text(fallback, slack_text_max - emoji.size() - 1);
  json::array blocks;
  auto header = g.what + (g.shared.empty() ? "" : ": " + g.shared);
  blocks.push_back(
      json::object{{"type", "header"},
                   {"text",
                    {{"type", "plain_text"},
                     {"text", emoji + " " + clip(header, slack_header_max - emoji.size() - 1)},
                     {"emoji", true}}}});
  for (const auto& v : g.members)
    blocks.push_back(json::object{{"type", "section"}, {"text", mrkdwn(slack_member(v))}});
  std::string ctx = g.grouped_by.empty() ? "Grouped by route" : "Grouped by " + g.grouped_by;
  ctx += " \xC2\xB7 first incident `" + g.members.front().incident_id + "`";
  blocks.push_back(json::object{
      {"type", "context"}, {"elements", json::array{mrkdwn(slack_text(ctx, slack_text_max))}}});
  msg["blocks"] = std::move(blocks);
  msg["unfurl_links"] = false;
  return json::serialize(msg);
}

email_message detail::render_email_group(const channel& ch, const notification& n,
                                         int64_t date_ms) {
  auto g = read_group(ch, n);
  const auto& lead = g.members.front();
  email_message m;
  m.date_ms = date_ms;
  std::string subject = "[" + (g.severity.empty() ? std::string("ALERT") : upper(g.severity)) +
                        "] " + std::to_string(g.members.size()) + " incidents " + lead.event;
  for (size_t i = 0; i < g.members.size(); ++i) subject += (i ? ", " : ": ") + title(g.members[i]);
  m.subject = clip(subject, 200);
  // The leader's thread root: its own follow-ups thread under this message.
  notification root = n;
  root.incident_id = lead.incident_id;
  root.grouped.clear();
  m.message_id = message_id(root);

  auto intro = g.what + (g.grouped_by.empty() ? "" : " \xE2\x80\x94 grouped by " + g.grouped_by);
  m.text = intro + "\n\n";
  m.html = email_html_start(email_colour(lead), intro);
  for (size_t i = 0; i < g.members.size(); ++i) {
    const auto& v = g.members[i];
    auto head = std::to_string(i + 1) + ". " + headline(v) + " \xE2\x80\x94 " + title(v);
    auto summary = clip(v.summary, 2000);
    m.text += head + "\n";
    if (!summary.empty()) m.text += "   " + summary + "\n";
    m.text += email_facts_text(v, "   ") + "\n";
    m.html += "<h3 style=\"color:" + email_colour(v) + "\">" + html_escape(head) + "</h3>\n";
    if (!summary.empty()) m.html += "<p>" + html_escape(summary) + "</p>\n";
    m.html += email_facts_html(v);
  }
  auto footer = "rtmon notification " + n.idem_key + " (grouped with " +
                std::to_string(n.grouped.size()) + " more)";
  m.text += "-- \n" + footer + "\n";
  m.html += email_html_end(footer);
  email_wire(ch, m, lead.incident_id, lead.event, n.idem_key);
  return m;
}

}  // namespace rtmon::notify
