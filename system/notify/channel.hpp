// A notification channel as configured (config/notifications.json, system/notify/routing.hpp):
// where and how to deliver. Secrets (webhook URLs, SMTP passwords) come from the environment or
// files when the config is loaded and are never logged (describe() leaves them out).
#pragma once

#include <string>
#include <vector>

#include "messages/notifications.hpp"

namespace rtmon::notify {

struct channel {
  std::string name;  // unique, e.g. "slack", "oncall-email"
  channel_kind kind = channel_kind::slack;
  // slack / webhook: the URL to POST to (secret for Slack). email: the SMTP server URL,
  // smtp://host:port (STARTTLS when the server offers it, required if `require_tls`) or smtps://.
  std::string url;
  // email only.
  std::string from;             // RTMON_EMAIL_FROM unless set per channel
  std::vector<std::string> to;  // recipients
  std::string user, password;   // SMTP AUTH, empty = none (secret)
  bool require_tls = false;     // refuse to send over a connection without TLS
  // webhook only: extra headers, e.g. "Authorization: Bearer ..." (secret).
  std::vector<std::string> headers;
  // Delivery.
  int timeout_ms = 10000;  // whole attempt; beyond it the attempt is ambiguous
  double rate_per_s = 1;   // sustained rate per destination (Slack: 1 message/s)
  int burst = 3;           // short bursts above the rate
  // The UI's address, for links in messages ("http://127.0.0.1:4000").
  std::string ui_base_url;

  /// "slack (slack, https://hooks.slack.com/...)" without any secret: for logs and errors.
  std::string describe() const;
};

}  // namespace rtmon::notify
