// rtmon-notify-probe: drives one notification channel adapter for the integration tests
// (test/integration/test_notify_channels.py). Reads {"channel": {...}, "notification": {...}}
// as JSON on stdin and prints the delivery_attempt as JSON on stdout; with --render it prints
// what would be sent instead ({"body": ...} for slack/webhook, {"subject", "message_id",
// "in_reply_to", "data"} for email; "date_ms" in the input fixes the email Date).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "system/notify/render.hpp"
#include "system/notify/send.hpp"

using namespace rtmon;
using namespace rtmon::notify;
namespace json = boost::json;

namespace {

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string{};
}

std::vector<std::string> strings(const json::object& o, const char* key) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(key); v && v->is_array())
    for (const auto& x : v->get_array())
      if (x.is_string()) out.emplace_back(x.get_string());
  return out;
}

channel read_channel(const json::object& o) {
  channel ch;
  ch.name = str(o, "name");
  if (!parse_channel_kind(str(o, "kind"), ch.kind))
    throw std::runtime_error("channel.kind must be slack, email or webhook");
  ch.url = str(o, "url");
  ch.from = str(o, "from");
  ch.to = strings(o, "to");
  ch.user = str(o, "user");
  ch.password = str(o, "password");
  if (auto* v = o.if_contains("require_tls")) ch.require_tls = v->as_bool();
  ch.headers = strings(o, "headers");
  if (auto* v = o.if_contains("timeout_ms")) ch.timeout_ms = json::value_to<int>(*v);
  ch.ui_base_url = str(o, "ui_base_url");
  return ch;
}

notification read_notification(const json::object& o, channel_kind kind) {
  notification n;
  if (auto* v = o.if_contains("id")) n.id = json::value_to<int64_t>(*v);
  n.idem_key = str(o, "idem_key");
  n.incident_id = str(o, "incident_id");
  if (auto* v = o.if_contains("seq")) n.seq = json::value_to<uint32_t>(*v);
  n.channel = str(o, "channel");
  n.kind = kind;
  n.event = str(o, "event");
  // The payload may be given as the transition object itself or as its JSON text.
  if (auto* v = o.if_contains("payload"))
    n.payload = v->is_string() ? str(o, "payload") : json::serialize(*v);
  if (auto* v = o.if_contains("attempt")) n.attempt = json::value_to<uint32_t>(*v);
  n.mute = str(o, "mute");
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  bool render = argc > 1 && std::string(argv[1]) == "--render";
  try {
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto in = json::parse(input).as_object();
    auto ch = read_channel(in.at("channel").as_object());
    auto n = read_notification(in.at("notification").as_object(), ch.kind);
    json::object out;
    if (render) {
      if (ch.kind == channel_kind::email) {
        int64_t date_ms = 0;
        if (auto* v = in.if_contains("date_ms")) date_ms = json::value_to<int64_t>(*v);
        auto m = render_email(ch, n, date_ms);
        out = {{"subject", m.subject},
               {"message_id", m.message_id},
               {"in_reply_to", m.in_reply_to},
               {"data", m.data}};
      } else {
        out["body"] = ch.kind == channel_kind::slack ? render_slack(ch, n) : render_webhook(ch, n);
      }
    } else {
      auto a = send(ch, n);
      out = {{"notification_id", a.notification_id},
             {"attempt", a.attempt},
             {"started_ms", a.started_ms},
             {"latency_ms", a.latency_ms},
             {"status_code", a.status_code},
             {"outcome", to_string(a.outcome)},
             {"retry_after_ms", a.retry_after_ms},
             {"error", a.error},
             {"attempted", a.attempted},
             {"channel", ch.describe()}};
    }
    std::cout << json::serialize(out) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtmon-notify-probe: %s\n", e.what());
    return 2;
  }
}
