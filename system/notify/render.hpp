// Renderers: pure functions from a claimed notification (its payload is the incident transition
// JSON, as on rtmon.incidents) to what each channel kind sends. No I/O, no clock (the email Date
// is an argument), never throw: a payload that does not parse renders from the notification's
// own fields (incident id, event) so a broken row still tells someone something.
//
// Email threading (one incident = one thread in every mail client):
//  * every incident has a root Message-ID, root_message_id(id) = "<incident-<id>@rtmon>";
//  * the notification about the `triggered` transition IS the root: its Message-ID is exactly
//    the root id and it has no In-Reply-To (an incident triggers at most once; retries of it
//    share the id, so a duplicate after an ambiguous attempt is recognisable as one);
//  * every other notification (acknowledged, resolved, renotify, flapping, ...) has its own
//    Message-ID derived from its idem_key ("<n-<incident>.<seq>.<channel>[.r<n>]@rtmon>"), stable
//    across retries, plus In-Reply-To and References = the root id, and the subject
//    "Re: <base subject>" with the same base subject as the root ("[CRITICAL] api: rule
//    triggered"), because Gmail and others also require an unchanged subject to thread. What
//    happened is the first line of the body.
//  * Two email channels notifying the same incident send the same root Message-ID to their own
//    recipients; a mailbox on both lists keeps one copy, which is the intent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "messages/notifications.hpp"
#include "system/notify/channel.hpp"

namespace rtmon::notify {

// --- Slack (incoming webhook, Block Kit) ------------------------------------------------------

/// Slack limits the renderer keeps to (bytes, which never exceed Slack's character counts).
constexpr size_t slack_text_max = 3000;   // section text and the top-level fallback text
constexpr size_t slack_header_max = 150;  // header block plain_text
constexpr size_t slack_field_max = 2000;  // one section field

/// `{"text": <fallback>, "blocks": [header, summary section, fields section, context]}`.
/// A grouped message (n.grouped non-empty): `[header "N incidents TRIGGERED", a section per
/// incident, context naming the group]`.
std::string render_slack(const channel& ch, const notification& n);

// --- Email --------------------------------------------------------------------------------------

struct email_message {
  std::string subject;      // unencoded, e.g. "[CRITICAL] api: high-error-rate triggered"
  std::string message_id;   // "<...@rtmon>"
  std::string in_reply_to;  // the root id, empty for the root message itself
  std::string text, html;   // the two alternatives, unencoded (LF line ends)
  std::string data;         // the whole RFC 5322 message: CRLF line ends, ready for SMTP DATA
  int64_t date_ms = 0;      // the Date header (Unix ms)
};

/// The message for one notification; `date_ms` (Unix ms) becomes the Date header.
/// A grouped message (n.grouped non-empty) lists every incident; its Message-ID is the leader's
/// thread root, so the leader's follow-ups thread under it (the other incidents' follow-ups
/// reference their own roots, which this message cannot also be).
email_message render_email(const channel& ch, const notification& n, int64_t date_ms);

/// "<incident-<incident_id>@rtmon>": the thread root of an incident.
std::string root_message_id(std::string_view incident_id);
/// The Message-ID of notification `n` (see threading above).
std::string message_id(const notification& n);
/// "[CRITICAL] api: high-error-rate triggered" (no "Re: ").
std::string base_subject(const notification& n);

// --- Generic webhook (PagerDuty Events v2 shape) -----------------------------------------------

/// `{"event_action", "dedup_key": incident id, "payload": {...}, "links": [...], "client",
/// "client_url", "rtmon": <the transition>}`.
std::string render_webhook(const channel& ch, const notification& n);
/// acknowledged -> "acknowledge"; resolved, cancelled -> "resolve"; anything else -> "trigger".
std::string event_action(std::string_view event);
/// critical, warning and info pass; anything else -> "warning".
std::string pagerduty_severity(std::string_view severity);

// --- Text helpers (shared with send.cpp, exposed for tests) ------------------------------------

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a UTF-8 code point
/// boundary (a cut never splits a multi-byte sequence).
std::string_view utf8_prefix(std::string_view s, size_t max_bytes);
/// `s` if it fits in `max_bytes`, else a prefix plus "…" that fits.
std::string clip(std::string_view s, size_t max_bytes);
/// Slack mrkdwn escaping (&, <, > as entities), clipped to `max_bytes` after escaping without
/// ever cutting an entity in half.
std::string slack_text(std::string_view raw, size_t max_bytes);
/// &, <, >, ", ' as HTML entities.
std::string html_escape(std::string_view s);
/// A header value: as is when printable ASCII, else RFC 2047 "=?UTF-8?B?...?=" words of at most
/// 75 characters joined by folding whitespace. CR and LF never survive (no header injection).
std::string encode_header(std::string_view value);
/// "Tue, 14 Nov 2023 22:13:20 +0000" (RFC 5322 date-time, UTC).
std::string rfc5322_date(int64_t unix_ms);
/// Quoted-printable (RFC 2045) with CRLF line ends and lines of at most 76 characters.
std::string quoted_printable(std::string_view text);
/// "<base>/incidents/<id>" (trailing slashes of base dropped); empty when base is empty.
std::string incident_url(std::string_view ui_base_url, std::string_view incident_id);

}  // namespace rtmon::notify
