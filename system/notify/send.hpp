// One delivery attempt over the network: blocking (call it from a detached/blocking actor or a
// thread of its own, never from a CAF worker), libcurl underneath, an easy handle per call.
//
// Outcomes (messages/notifications.hpp):
//  HTTP (slack, webhook)
//    2xx                                   delivered
//    408, 425, 429, 5xx                    retry (Retry-After kept in retry_after_ms)
//    any other status (400, 403, 404, 410) failed (the body, e.g. "invalid_payload", in error)
//    DNS failure, refused/failed connect   retry
//    a timeout or a broken connection once the request started going out, with no status
//                                          ambiguous (it may have arrived)
//    a timeout before that                 retry
//    TLS verification, bad URL, protocol   failed (configuration: retrying cannot help)
//  SMTP (email)
//    message accepted after DATA (250)     delivered, status_code 250
//    a 4xx reply at any stage              retry
//    a 5xx reply at any stage              failed (rejected recipient, 530 auth required, ...)
//    no reply after the whole message went out (timeout, connection lost)
//                                          ambiguous; before that: retry (a server keeps
//                                          nothing of an unfinished DATA)
//    STARTTLS required but not offered, login denied, TLS verification
//                                          failed
//  A notification with a `mute` reason is not sent: muted, the reason in error.
//
// Email goes out with STARTTLS when the server offers it; TLS is required (CURLUSESSL_ALL) when
// the channel says require_tls and whenever it has credentials, so a password never travels in
// clear text. smtps:// is TLS from the start. A rejected recipient fails the whole message.
#pragma once

#include <cstdint>
#include <string_view>

#include "messages/notifications.hpp"
#include "system/notify/channel.hpp"

namespace rtmon::notify {

/// Delivers `n` over `ch` once and reports how it went. Never throws; errors never contain the
/// channel's secrets (webhook URL path, password, extra header values).
delivery_attempt send(const channel& ch, const notification& n);

/// A Retry-After header value, delta-seconds ("120") or an HTTP-date, as milliseconds from
/// `now_ms` (Unix ms; a date in the past gives 0); -1 when it is neither.
int64_t parse_retry_after(std::string_view value, int64_t now_ms);

}  // namespace rtmon::notify
