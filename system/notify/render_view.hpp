// What every renderer reads from a notification, and the phrasing they share ("TRIGGERED",
// "high-error-rate on api", times and durations). Internal to system/notify/render_*.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "messages/notifications.hpp"
#include "system/notify/channel.hpp"
#include "system/notify/render.hpp"

namespace rtmon::notify::detail {

namespace json = boost::json;

// The fields every renderer uses, read once; missing fields are empty.
struct view {
  json::object t;  // the transition as received ({} when the payload does not parse)
  std::string incident_id, event, rule, service, severity, status, summary, detail, actor, at,
      opened_at, fingerprint, seq, value, breach_count, labels, group, url;
};

view read(const channel& ch, const notification& n);

// Numbers as people write them ("0.12", not boost's "1.2E-1").
std::string number_text(const json::value& v);
std::string text_of(const json::object& o, std::string_view key);
// "k=v, k2=v2"
std::string pairs_of(const json::object& o, std::string_view key);
bool parse_iso(const std::string& iso, int64_t& unix_ms);
// "2023-11-14 22:13:20 UTC"; the text itself when it is not a time.
std::string pretty_time(const std::string& iso);
// "45s", "14m", "2h 5m", "3d 4h".
std::string duration_text(int64_t ms);
std::string upper(std::string s);
// Someone did it (not rtmon itself): "by alice" is worth saying.
bool by_person(const view& v);
// What happened, in capitals: "TRIGGERED", "ACKNOWLEDGED by alice", "RESOLVED after 14m".
std::string headline(const view& v);
// "high-error-rate on api"
std::string title(const view& v);
// Follow-ups where the detail is the value against the threshold rather than an action.
bool tells_value(const view& v);
// Header values carry no line breaks or other controls (no header injection).
std::string header_safe(std::string_view s);

// Email parts shared by the one-incident and the grouped message (render_email.cpp).
// The incident's facts (service, severity, rule, value, times, labels, id, link): as aligned
// "Label:    value" lines, each after `indent`, and as an HTML table plus link.
std::string email_facts_text(const view& v, std::string_view indent);
std::string email_facts_html(const view& v);
// The HTML document up to its <h2> heading (in `colour`), and from its small-print footer on.
std::string email_html_start(const std::string& colour, const std::string& heading);
std::string email_html_end(const std::string& footer);
// The heading colour: follows the event (green when resolved), else the severity.
std::string email_colour(const view& v);
// Fills m.data: headers (m.subject, m.message_id, m.in_reply_to, m.date_ms) and the MIME body
// of m.text and m.html.
void email_wire(const channel& ch, email_message& m, const std::string& incident_id,
                const std::string& event, const std::string& idem_key);

// Slack parts (render_slack.cpp): ":red_circle:" for critical ...; <!date^...> with a fallback.
std::string severity_emoji(const std::string& severity);
std::string slack_date(const std::string& iso);
json::object mrkdwn(std::string text);  // {"type": "mrkdwn", "text": ...}

// Grouped messages (render_group.cpp).
std::string render_slack_group(const channel& ch, const notification& n);
email_message render_email_group(const channel& ch, const notification& n, int64_t date_ms);

}  // namespace rtmon::notify::detail
