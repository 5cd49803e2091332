#define CAF_SUITE notify_render
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "system/notify/channel.hpp"
#include "system/notify/render.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::notify;
namespace json = boost::json;

namespace {

const std::string inc = "0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

// A transition as the incident actor publishes it (actors/incident/incident_actor.cpp).
json::object transition(const std::string& event) {
  return json::object{{"type", "incident.transition"},
                      {"incident_id", inc},
                      {"fingerprint", "high-error-rate|api|"},
                      {"rule", "high-error-rate"},
                      {"service", "api"},
                      {"severity", "critical"},
                      {"status", event == "triggered" ? "triggered" : event},
                      {"summary", "5xx rate above 5%"},
                      {"labels", json::object{{"env", "prod"}}},
                      {"group", json::object{}},
                      {"seq", 2},
                      {"kind", event},
                      {"from", "pending"},
                      {"to", event},
                      {"at", "2023-11-14T22:27:20.000000Z"},
                      {"actor", event == "acknowledged" ? "alice" : "rtmon"},
                      {"detail", "value 0.12 > 0.05"},
                      {"value", 0.12},
                      {"notify", true},
                      {"breach_count", 3},
                      {"opened_at", "2023-11-14T22:13:20.000000Z"}};
}

notification make(const std::string& event, json::object t, channel_kind kind = channel_kind::slack,
                  uint32_t seq = 2) {
  notification n;
  n.id = 7;
  n.incident_id = inc;
  n.seq = seq;
  n.channel = "oncall";
  n.kind = kind;
  n.event = event;
  n.idem_key = inc + ":" + std::to_string(seq) + ":oncall";
  n.payload = json::serialize(t);
  return n;
}

notification make(const std::string& event, channel_kind kind = channel_kind::slack) {
  return make(event, transition(event), kind);
}

channel slack_channel() {
  channel ch;
  ch.name = "slack";
  ch.url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
  ch.ui_base_url = "http://127.0.0.1:4000/";
  return ch;
}

channel email_channel() {
  channel ch;
  ch.name = "oncall-email";
  ch.kind = channel_kind::email;
  ch.url = "smtp://mail.example.com:587";
  ch.from = "rtmon <alerts@example.com>";
  ch.to = {"ops@example.com", "Bob <bob@example.com>"};
  ch.ui_base_url = "http://127.0.0.1:4000";
  return ch;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

json::object slack(const notification& n, const channel& ch = slack_channel()) {
  return json::parse(render_slack(ch, n)).as_object();
}

std::string text_at(const json::value& block) {
  return std::string(block.at("text").at("text").as_string());
}

// "*Label*\nvalue" fields of the fields section, as one string for searching.
std::string fields_of(const json::object& msg) {
  std::string out;
  for (const auto& b : msg.at("blocks").as_array())
    if (b.as_object().contains("fields"))
      for (const auto& f : b.at("fields").as_array())
        out += std::string(f.at("text").as_string()) + "|";
  return out;
}

// The value of header `name` in an RFC 5322 message (first occurrence, unfolded).
std::string header(const std::string& data, const std::string& name) {
  auto pos = data.find("\r\n" + name + ": ");
  if (data.compare(0, name.size() + 2, name + ": ") == 0)
    pos = 0;
  else if (pos == std::string::npos)
    return {};
  else
    pos += 2;
  auto start = pos + name.size() + 2;
  std::string out;
  for (auto end = data.find("\r\n", start);; end = data.find("\r\n", start)) {
    out += data.substr(start, end - start);
    if (data[end + 2] != ' ' && data[end + 2] != '\t') break;
    start = end + 2;
  }
  return out;
}

}  // namespace

CAF_TEST(slack messages carry a fallback text and block kit blocks) {
  auto msg = slack(make("triggered"));
  auto text = std::string(msg.at("text").as_string());
  CAF_CHECK_EQUAL(text,
                  ":red_circle: [TRIGGERED] high-error-rate on api (sev: critical): 5xx rate "
                  "above 5%");
  auto& blocks = msg.at("blocks").as_array();
  CAF_REQUIRE_EQUAL(blocks.size(), 4u);
  CAF_CHECK_EQUAL(blocks[0].at("type"), "header");
  CAF_CHECK_EQUAL(blocks[0].at("text").at("type"), "plain_text");
  CAF_CHECK_EQUAL(text_at(blocks[0]), ":red_circle: TRIGGERED: high-error-rate on api");
  CAF_CHECK_EQUAL(text_at(blocks[1]), "5xx rate above 5%\n<http://127.0.0.1:4000/incidents/" + inc +
                                          "|Open incident in rtmon>");
  auto fields = fields_of(msg);
  CAF_CHECK(fields.find("*Service*\napi|") != std::string::npos);
  CAF_CHECK(fields.find("*Severity*\n:red_circle: critical|") != std::string::npos);
  CAF_CHECK(fields.find("*Rule*\nhigh-error-rate|") != std::string::npos);
  CAF_CHECK(fields.find("*Value*\nvalue 0.12 &gt; 0.05|") != std::string::npos);
  CAF_CHECK(fields.find("*Started*\n<!date^1700000000^") != std::string::npos);
  CAF_CHECK(fields.find("*Breaches*\n3|") != std::string::npos);
  CAF_CHECK(fields.find("*By*") == std::string::npos);  // rtmon itself triggered it
  auto context = std::string(blocks[3].at("elements").at(0).at("text").as_string());
  CAF_CHECK_EQUAL(context, "Incident `" + inc + "` \xC2\xB7 seq 2 \xC2\xB7 env=prod");
}

CAF_TEST(slack follow ups say who and when) {
  auto ack = slack(make("acknowledged"));
  CAF_CHECK(std::string(ack.at("text").as_string())
                .find(":large_yellow_circle: [ACKNOWLEDGED by alice]") == 0);
  auto fields = fields_of(ack);
  CAF_CHECK(fields.find("*By*\nalice|") != std::string::npos);
  CAF_CHECK(fields.find("*At*\n<!date^1700000840^") != std::string::npos);
  CAF_CHECK(fields.find("*Detail*\n") != std::string::npos);
  auto res = slack(make("resolved"));  // by rtmon: how long it lasted instead of who
  CAF_CHECK(std::string(res.at("text").as_string())
                .find(":large_green_circle: [RESOLVED after 14m] high-error-rate on api") == 0);
  CAF_CHECK(fields_of(res).find("*By*") == std::string::npos);
  auto t = transition("resolved");
  t["actor"] = "bob";
  CAF_CHECK(
      std::string(slack(make("resolved", t)).at("text").as_string()).find("[RESOLVED by bob]") !=
      std::string::npos);
}

CAF_TEST(slack text is escaped so nobody can inject mentions or links) {
  auto t = transition("triggered");
  t["summary"] = "a < b & c > d <!channel> <http://evil|click>";
  t["rule"] = "r<1>";
  auto msg = slack(make("triggered", t));
  auto section = text_at(msg.at("blocks").at(1));
  CAF_CHECK(section.find("a &lt; b &amp; c &gt; d &lt;!channel&gt; &lt;http://evil|click&gt;") ==
            0);
  CAF_CHECK(std::string(msg.at("text").as_string()).find("<!channel>") == std::string::npos);
  // Header text is plain_text: shown literally by Slack, so not escaped.
  CAF_CHECK(text_at(msg.at("blocks").at(0)).find("r<1> on api") != std::string::npos);
}

CAF_TEST(slack texts stay within limits and cut at utf8 boundaries) {
  auto t = transition("triggered");
  std::string huge;
  for (int i = 0; i < 5000; ++i) huge += "\xC3\xA9<";  // é< : 2 bytes raw, 6 escaped
  t["summary"] = huge;
  t["rule"] = std::string(400, 'r');
  auto msg = slack(make("triggered", t));
  auto text = std::string(msg.at("text").as_string());
  CAF_CHECK_LESS_OR_EQUAL(text.size(), slack_text_max);
  CAF_CHECK(valid_utf8(text));
  auto header = text_at(msg.at("blocks").at(0));
  CAF_CHECK_LESS_OR_EQUAL(header.size(), slack_header_max);
  CAF_CHECK(valid_utf8(header));
  auto section = text_at(msg.at("blocks").at(1));
  CAF_CHECK_LESS_OR_EQUAL(section.size(), slack_text_max);
  CAF_CHECK(valid_utf8(section));
  CAF_CHECK(section.find("\xE2\x80\xA6\n<http://127.0.0.1:4000/incidents/") != std::string::npos);
  for (const auto& f : msg.at("blocks").at(2).at("fields").as_array())
    CAF_CHECK_LESS_OR_EQUAL(f.at("text").as_string().size(), slack_field_max);
  // Entities are never cut in half; the ellipsis counts.
  CAF_CHECK_EQUAL(slack_text("&&&&", 12), "&amp;\xE2\x80\xA6");
  CAF_CHECK_EQUAL(slack_text("&&", 10), "&amp;&amp;");
  CAF_CHECK_EQUAL(utf8_prefix("a\xC3\xA9", 2), "a");
  CAF_CHECK_EQUAL(utf8_prefix("a\xE2\x82\xAC", 3), "a");
  CAF_CHECK_EQUAL(clip("abcdef", 5), "ab\xE2\x80\xA6");
  CAF_CHECK_EQUAL(clip("abc", 3), "abc");
}

CAF_TEST(a payload that does not parse still renders) {
  auto n = make("triggered");
  n.payload = "{not json";
  auto msg = slack(n);
  CAF_CHECK(std::string(msg.at("text").as_string()).find(inc) != std::string::npos);
  auto m = render_email(email_channel(), n, 0);
  CAF_CHECK_EQUAL(m.message_id, root_message_id(inc));
  auto hook = json::parse(render_webhook(slack_channel(), n));
  CAF_CHECK_EQUAL(hook.at("dedup_key"), inc.c_str());
  CAF_CHECK(hook.at("rtmon").as_object().empty());
}

CAF_TEST(the triggered email is the thread root and follow ups reply to it) {
  auto ch = email_channel();
  auto root = render_email(ch, make("triggered", channel_kind::email), 1700000000000);
  CAF_CHECK_EQUAL(root.message_id, "<incident-" + inc + "@rtmon>");
  CAF_CHECK_EQUAL(root.subject, "[CRITICAL] api: high-error-rate triggered");
  CAF_CHECK(root.in_reply_to.empty());
  CAF_CHECK_EQUAL(header(root.data, "Message-ID"), root.message_id);
  CAF_CHECK_EQUAL(header(root.data, "In-Reply-To"), "");
  CAF_CHECK_EQUAL(header(root.data, "Subject"), root.subject);
  CAF_CHECK_EQUAL(header(root.data, "Date"), "Tue, 14 Nov 2023 22:13:20 +0000");
  CAF_CHECK_EQUAL(header(root.data, "From"), "rtmon <alerts@example.com>");
  CAF_CHECK_EQUAL(header(root.data, "To"), "ops@example.com, Bob <bob@example.com>");
  CAF_CHECK_EQUAL(header(root.data, "MIME-Version"), "1.0");
  CAF_CHECK(header(root.data, "Content-Type").find("multipart/alternative; boundary=\"=_rtmon_") ==
            0);

  auto ack_n = make("acknowledged", transition("acknowledged"), channel_kind::email, 3);
  auto ack = render_email(ch, ack_n, 1700000100000);
  CAF_CHECK_EQUAL(ack.subject, "Re: [CRITICAL] api: high-error-rate triggered");
  CAF_CHECK_EQUAL(ack.message_id, "<n-" + inc + ".3.oncall@rtmon>");
  CAF_CHECK_EQUAL(header(ack.data, "In-Reply-To"), root.message_id);
  CAF_CHECK_EQUAL(header(ack.data, "References"), root.message_id);
  CAF_CHECK(ack.text.find("ACKNOWLEDGED by alice \xE2\x80\x94 high-error-rate on api\n") == 0);
  CAF_CHECK(ack.text.find("By:        alice\n") != std::string::npos);
  // Deterministic: a retry renders the same ids (only Date follows the clock).
  auto again = render_email(ch, ack_n, 1700000200000);
  CAF_CHECK_EQUAL(again.message_id, ack.message_id);
  CAF_CHECK_EQUAL(again.text, ack.text);
  // A renotify of the same entry is another message in the same thread.
  auto re = ack_n;
  re.event = "renotify";
  re.idem_key += ":r1";
  auto renotify = render_email(ch, re, 0);
  CAF_CHECK_EQUAL(renotify.message_id, "<n-" + inc + ".3.oncall.r1@rtmon>");
  CAF_CHECK_EQUAL(renotify.in_reply_to, root.message_id);
}

CAF_TEST(message ids are valid and injective whatever the key) {
  notification n;
  n.incident_id = "i";
  n.event = "resolved";
  n.idem_key = "i:3:my chan.x";
  CAF_CHECK_EQUAL(message_id(n), "<n-i.3.my=20chan=2Ex@rtmon>");
  n.idem_key = "i::3:";
  CAF_CHECK_EQUAL(message_id(n), "<n-i=3A=3A3=3A@rtmon>");
  CAF_CHECK_EQUAL(root_message_id("a@b"), "<incident-a=40b@rtmon>");
}

CAF_TEST(email bodies are escaped and encoded for the wire) {
  auto t = transition("triggered");
  t["summary"] = "<script>alert('x')</script> & caf\xC3\xA9 = 100%";
  t["service"] = "caf\xC3\xA9-api";
  auto m = render_email(email_channel(), make("triggered", t, channel_kind::email), 0);
  CAF_CHECK(m.html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; caf\xC3\xA9") !=
            std::string::npos);
  CAF_CHECK(m.html.find("<script>") == std::string::npos);
  CAF_CHECK(m.text.find("<script>alert('x')</script>") != std::string::npos);
  CAF_CHECK(m.html.find("<a href=\"http://127.0.0.1:4000/incidents/" + inc + "\">") !=
            std::string::npos);
  // Non-ASCII subject: RFC 2047 words; the wire message is pure ASCII with short CRLF lines.
  auto subject = header(m.data, "Subject");
  CAF_CHECK(subject.find("=?UTF-8?B?") == 0);
  CAF_CHECK_EQUAL(encode_header("caf\xC3\xA9"), "=?UTF-8?B?Y2Fmw6k=?=");
  size_t start = 0;
  for (auto end = m.data.find("\r\n"); end != std::string::npos;
       start = end + 2, end = m.data.find("\r\n", start))
    CAF_CHECK_LESS_OR_EQUAL(end - start, 998u);
  for (unsigned char c : m.data) CAF_CHECK(c < 0x80 && (c >= 0x20 || c == '\r' || c == '\n'));
  CAF_CHECK_EQUAL(m.data.find("\n", 0), m.data.find("\r\n") + 1);
}

CAF_TEST(headers and quoted printable) {
  CAF_CHECK_EQUAL(encode_header("plain\r\nBcc: x"), "plain  Bcc: x");
  std::string long_utf8;
  for (int i = 0; i < 60; ++i) long_utf8 += "\xE2\x82\xAC";  // 60 x euro sign, 180 bytes
  auto enc = encode_header(long_utf8);
  size_t start = 0;
  for (auto end = enc.find("\r\n ");; start = end + 3, end = enc.find("\r\n ", start)) {
    auto word = enc.substr(start, end == std::string::npos ? enc.npos : end - start);
    CAF_CHECK_LESS_OR_EQUAL(word.size(), 75u);
    CAF_CHECK(word.find("=?UTF-8?B?") == 0);
    if (end == std::string::npos) break;
  }
  CAF_CHECK_EQUAL(quoted_printable("a=b \nx\t\ny"), "a=3Db=20\r\nx=09\r\ny");
  auto qp = quoted_printable(std::string(200, 'z') + "\xC3\xA9");
  for (size_t s = 0, e = qp.find("\r\n");; s = e + 2, e = qp.find("\r\n", s)) {
    CAF_CHECK_LESS_OR_EQUAL((e == std::string::npos ? qp.size() : e) - s, 76u);
    if (e == std::string::npos) break;
  }
  CAF_CHECK(qp.find("=C3=A9") != std::string::npos);
  CAF_CHECK_EQUAL(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  CAF_CHECK_EQUAL(incident_url("http://ui//", "a b"), "http://ui/incidents/a%20b");
  CAF_CHECK_EQUAL(incident_url("", "x"), "");
}

CAF_TEST(webhook messages follow pagerduty events v2) {
  CAF_CHECK_EQUAL(event_action("triggered"), "trigger");
  CAF_CHECK_EQUAL(event_action("renotify"), "trigger");
  CAF_CHECK_EQUAL(event_action("flapping"), "trigger");
  CAF_CHECK_EQUAL(event_action("stable"), "trigger");
  CAF_CHECK_EQUAL(event_action("acknowledged"), "acknowledge");
  CAF_CHECK_EQUAL(event_action("resolved"), "resolve");
  CAF_CHECK_EQUAL(event_action("cancelled"), "resolve");
  CAF_CHECK_EQUAL(pagerduty_severity("critical"), "critical");
  CAF_CHECK_EQUAL(pagerduty_severity("info"), "info");
  CAF_CHECK_EQUAL(pagerduty_severity("bogus"), "warning");
  auto ch = slack_channel();
  ch.kind = channel_kind::webhook;
  auto t = transition("acknowledged");
  auto msg = json::parse(render_webhook(ch, make("acknowledged", t, channel_kind::webhook)));
  CAF_CHECK_EQUAL(msg.at("event_action"), "acknowledge");
  CAF_CHECK_EQUAL(msg.at("dedup_key"), inc.c_str());
  auto& p = msg.at("payload");
  CAF_CHECK_EQUAL(p.at("summary"),
                  "[ACKNOWLEDGED by alice] high-error-rate on api: 5xx rate above 5%");
  CAF_CHECK_EQUAL(p.at("source"), "api");
  CAF_CHECK_EQUAL(p.at("severity"), "critical");
  CAF_CHECK_EQUAL(p.at("timestamp"), "2023-11-14T22:27:20.000000Z");
  CAF_CHECK_EQUAL(p.at("custom_details").at("rule"), "high-error-rate");
  CAF_CHECK_EQUAL(p.at("custom_details").at("breach_count"), 3);
  CAF_CHECK_EQUAL(p.at("custom_details").at("labels").at("env"), "prod");
  auto href = "http://127.0.0.1:4000/incidents/" + inc;
  CAF_CHECK_EQUAL(msg.at("links").at(0).at("href"), href.c_str());
  CAF_CHECK(msg.at("rtmon") == json::value(t));
}

CAF_TEST(describe never shows secrets) {
  auto ch = slack_channel();
  CAF_CHECK_EQUAL(ch.describe(), "slack (slack, https://hooks.slack.com/\xE2\x80\xA6)");
  auto mail = email_channel();
  mail.url = "smtp://alice:hunter22@mail.example.com:587";
  mail.user = "alice";
  mail.password = "hunter22";
  auto d = mail.describe();
  CAF_CHECK_EQUAL(d, "oncall-email (email, smtp://mail.example.com:587, 2 recipients, auth)");
  channel hook;
  hook.name = "pd";
  hook.kind = channel_kind::webhook;
  hook.url = "http://127.0.0.1:9000/hook?key=abc";
  hook.headers = {"Authorization: Bearer t0ken"};
  CAF_CHECK_EQUAL(hook.describe(),
                  "pd (webhook, http://127.0.0.1:9000/\xE2\x80\xA6, 1 extra header)");
}
