// Slack incoming webhook messages (Block Kit).
#include <cstdio>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "system/notify/render.hpp"
#include "system/notify/render_view.hpp"

namespace rtmon::notify {

namespace json = boost::json;
using namespace detail;

namespace detail {

std::string severity_emoji(const std::string& sev) {
  if (sev == "critical") return ":red_circle:";
  if (sev == "warning") return ":large_orange_circle:";
  if (sev == "info") return ":large_blue_circle:";
  return ":white_circle:";
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

}  // namespace detail

namespace {

std::string event_emoji(const view& v) {
  if (v.event == "acknowledged") return ":large_yellow_circle:";
  if (v.event == "resolved" || v.event == "stable") return ":large_green_circle:";
  if (v.event == "cancelled") return ":white_circle:";
  return severity_emoji(v.severity);
}

// "*Service*\napi" with the value escaped; empty values are left out by the caller.
json::object field(const char* label, const std::string& raw_value, bool escaped = false) {
  std::string head = std::string("*") + label + "*\n";
  auto value = escaped ? std::string(utf8_prefix(raw_value, slack_field_max - head.size()))
                       : slack_text(raw_value, slack_field_max - head.size());
  return mrkdwn(head + value);
}

}  // namespace

std::string render_slack(const channel& ch, const notification& n) {
  if (!n.grouped.empty()) return render_slack_group(ch, n);
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

}  // namespace rtmon::notify
