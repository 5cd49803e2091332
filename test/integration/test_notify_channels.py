"""The notification channel adapters (system/notify/send.cpp) for real, over local sockets:
rtmon-notify-probe sends one notification per call to SlackReceiver / SmtpReceiver
(receivers.py) and prints the delivery attempt. Checks what arrives (Block Kit, webhook shape,
email subject, body, Message-ID threading) and how answers are classified (delivered, retry with
Retry-After, failed, ambiguous). Needs no Kafka or PostgreSQL."""
import email.policy
import email.utils
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import RTMON
from receivers import (SlackReceiver, SmtpHang, SmtpReceiver, error, hang, ok, rate_limited,
                       server_error)

PROBE = os.environ.get("RTMON_NOTIFY_PROBE") or str(Path(RTMON).parent / "test" /
                                                    "rtmon-notify-probe")
INC = "0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
UI = "http://127.0.0.1:4000"


def transition(event, seq, **over):
    """An incident transition as actors/incident/incident_actor.cpp publishes it."""
    t = {"type": "incident.transition", "incident_id": INC, "fingerprint": "high-error-rate|api|",
         "rule": "high-error-rate", "service": "api", "severity": "critical", "status": event,
         "summary": "5xx rate above 5%", "labels": {"env": "prod"}, "group": {}, "seq": seq,
         "kind": event, "from": "pending", "to": event, "at": "2023-11-14T22:27:20.000000Z",
         "actor": "alice" if event == "acknowledged" else "rtmon",
         "detail": "value 0.12 > 0.05", "value": 0.12, "notify": True, "breach_count": 3,
         "opened_at": "2023-11-14T22:13:20.000000Z"}
    t.update(over)
    return t


def notification(event="triggered", seq=1, channel="oncall", **over):
    return {"id": 100 + seq, "idem_key": f"{INC}:{seq}:{channel}", "incident_id": INC,
            "seq": seq, "channel": channel, "event": event, "attempt": 1,
            "payload": transition(event, seq, **over)}


def probe(channel, note, render=False):
    assert Path(PROBE).exists(), f"{PROBE} missing: build the rtmon-notify-probe target"
    args = [PROBE] + (["--render"] if render else [])
    out = subprocess.run(args, input=json.dumps({"channel": channel, "notification": note}),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def slack_channel(url, **over):
    ch = {"name": "slack", "kind": "slack", "url": url, "timeout_ms": 3000, "ui_base_url": UI}
    ch.update(over)
    return ch


def email_channel(url, **over):
    ch = {"name": "oncall-email", "kind": "email", "url": url, "timeout_ms": 5000,
          "from": "rtmon <alerts@example.com>",
          "to": ["ops@example.com", "Bob <bob@example.com>"], "ui_base_url": UI}
    ch.update(over)
    return ch


def dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def slack():
    with SlackReceiver() as r:
        yield r


@pytest.fixture
def smtp():
    with SmtpReceiver() as r:
        yield r


# --- Slack / webhook ---------------------------------------------------------------------------

def test_slack_delivery_posts_block_kit(slack):
    a = probe(slack_channel(slack.url()), notification())
    assert a["outcome"] == "delivered" and a["status_code"] == 200 and a["error"] == ""
    assert a["latency_ms"] > 0 and a["notification_id"] == 101 and a["attempt"] == 1
    assert abs(a["started_ms"] / 1000 - time.time()) < 60
    assert "XXXXXXXX" not in a["channel"]  # describe() hides the webhook path
    [req] = slack.wait_for(1)
    assert req.method == "POST" and req.headers["content-type"] == "application/json"
    assert "idempotency-key" not in req.headers
    body = req.json
    assert body["text"].startswith(":red_circle: [TRIGGERED] high-error-rate on api")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert f"<{UI}/incidents/{INC}|Open incident in rtmon>" in body["blocks"][1]["text"]["text"]
    fields = [f["text"] for f in body["blocks"][2]["fields"]]
    assert "*Service*\napi" in fields and "*Value*\nvalue 0.12 &gt; 0.05" in fields


def test_slack_refusal_is_permanent_and_keeps_the_reason(slack):
    slack.script(error(400, "invalid_payload"))
    a = probe(slack_channel(slack.url()), notification())
    assert (a["outcome"], a["status_code"], a["error"]) == \
        ("failed", 400, "HTTP 400: invalid_payload")
    slack.script(error(404, "no_service"))
    assert probe(slack_channel(slack.url()), notification())["outcome"] == "failed"


def test_rate_limit_is_retried_after_the_given_time(slack):
    slack.script(rate_limited(3))
    a = probe(slack_channel(slack.url()), notification())
    assert (a["outcome"], a["status_code"], a["retry_after_ms"]) == ("retry", 429, 3000)
    when = email.utils.formatdate(time.time() + 20, usegmt=True)  # HTTP-date form
    slack.script(rate_limited(when))
    a = probe(slack_channel(slack.url()), notification())
    assert a["outcome"] == "retry" and 15000 <= a["retry_after_ms"] <= 21000


def test_server_errors_are_retried(slack):
    slack.script(server_error(500, "rollup_error"), server_error(503, ""))
    a = probe(slack_channel(slack.url()), notification())
    assert (a["outcome"], a["status_code"], a["error"]) == ("retry", 500, "HTTP 500: rollup_error")
    b = probe(slack_channel(slack.url()), notification())
    assert (b["outcome"], b["status_code"], b["retry_after_ms"]) == ("retry", 503, -1)


def test_no_answer_after_sending_is_ambiguous(slack):
    slack.script(hang(5))
    a = probe(slack_channel(slack.url(), timeout_ms=700), notification())
    assert a["outcome"] == "ambiguous" and a["status_code"] == 0
    assert 600 <= a["latency_ms"] < 4000
    assert len(slack.received()) == 1  # it did arrive: a retry may duplicate it


def test_unreachable_receiver_is_retried():
    url = f"http://127.0.0.1:{dead_port()}/services/T0/B0/SECRETPATH"
    a = probe(slack_channel(url), notification())
    assert (a["outcome"], a["status_code"]) == ("retry", 0)
    assert "SECRETPATH" not in a["error"] and "SECRETPATH" not in a["channel"]


def test_webhook_is_pagerduty_shaped_with_idempotency_key(slack):
    ch = slack_channel(slack.url("/hook"), kind="webhook", name="pd",
                       headers=["Authorization: Bearer t0ken-value"])
    note = notification("acknowledged", seq=2, channel="pd")
    a = probe(ch, note)
    assert a["outcome"] == "delivered"
    [req] = slack.wait_for(1, path="/hook")
    assert req.headers["idempotency-key"] == f"{INC}:2:pd"
    assert req.headers["authorization"] == "Bearer t0ken-value"
    body = req.json
    assert body["event_action"] == "acknowledge" and body["dedup_key"] == INC
    assert body["payload"]["source"] == "api" and body["payload"]["severity"] == "critical"
    assert body["payload"]["summary"].startswith("[ACKNOWLEDGED by alice] high-error-rate on api")
    assert body["links"][0]["href"] == f"{UI}/incidents/{INC}"
    assert body["rtmon"] == note["payload"]
    resolved = probe(ch, notification("resolved", seq=3, channel="pd"))
    assert resolved["outcome"] == "delivered"
    assert slack.wait_for(2, path="/hook")[1].json["event_action"] == "resolve"


# --- email -------------------------------------------------------------------------------------

def test_email_incident_is_one_thread(smtp):
    ch = email_channel(smtp.url)  # plain server, no STARTTLS offered: fine unless required
    root_id = f"<incident-{INC}@rtmon>"
    a = probe(ch, notification("triggered", 1, summary="5xx <b>above</b> 5% & rising\n.\nend"))
    assert (a["outcome"], a["status_code"], a["error"]) == ("delivered", 250, "")
    first = smtp.wait_for(1)[0]
    assert first.mail_from == "alerts@example.com"
    assert first.rcpt_tos == ["ops@example.com", "bob@example.com"]
    m = first.message
    assert m["Subject"] == "[CRITICAL] api: high-error-rate triggered"
    assert m["Message-ID"] == root_id and m["In-Reply-To"] is None
    assert m["From"] == "rtmon <alerts@example.com>"
    assert email.utils.parsedate_to_datetime(m["Date"]).timestamp() == \
        pytest.approx(time.time(), abs=60)
    assert m.get_content_type() == "multipart/alternative"
    text, html = first.part("text/plain"), first.part("text/html")
    assert text.startswith("TRIGGERED \u2014 high-error-rate on api\n")
    assert "5xx <b>above</b> 5% & rising\n.\nend" in text  # dot-stuffing undone by the server
    assert "5xx &lt;b&gt;above&lt;/b&gt; 5% &amp; rising" in html and "<b>above" not in html
    assert f"{UI}/incidents/{INC}" in text

    for seq, event in ((2, "acknowledged"), (3, "resolved")):
        assert probe(ch, notification(event, seq))["outcome"] == "delivered"
    mails = smtp.wait_for(3)
    ack, res = mails[1].message, mails[2].message
    assert ack["Subject"] == res["Subject"] == "Re: [CRITICAL] api: high-error-rate triggered"
    assert ack["Message-ID"] == f"<n-{INC}.2.oncall@rtmon>"
    assert res["Message-ID"] == f"<n-{INC}.3.oncall@rtmon>"
    for msg in (ack, res):
        assert msg["In-Reply-To"] == root_id and msg["References"] == root_id
    assert mails[1].part("text/plain").startswith("ACKNOWLEDGED by alice")
    assert mails[2].part("text/plain").startswith("RESOLVED after 14m")


def test_email_retry_keeps_the_message_id(smtp):
    ch = email_channel(smtp.url)
    note = notification("acknowledged", 2)
    for attempt in (1, 2):
        note["attempt"] = attempt
        assert probe(ch, note)["outcome"] == "delivered"
    a, b = smtp.wait_for(2)
    assert a.message["Message-ID"] == b.message["Message-ID"]


def test_email_non_ascii_subject_is_encoded(smtp):
    note = notification("triggered", 1, service="caf\u00e9-api", summary="\u00e9t\u00e9 \u2603")
    assert probe(email_channel(smtp.url), note)["outcome"] == "delivered"
    mail = smtp.wait_for(1)[0]
    assert b"=?UTF-8?B?" in mail.raw and all(c < 0x80 for c in mail.raw)
    assert mail.message["Subject"] == "[CRITICAL] caf\u00e9-api: high-error-rate triggered"
    assert "\u00e9t\u00e9 \u2603" in mail.part("text/plain")


def test_smtp_replies_are_classified(smtp):
    ch = email_channel(smtp.url, to=["ops@example.com"])
    smtp.script_data("451 4.3.0 try again later")
    a = probe(ch, notification())
    assert (a["outcome"], a["status_code"]) == ("retry", 451)
    smtp.script_data("554 5.7.1 message rejected")
    a = probe(ch, notification())
    assert (a["outcome"], a["status_code"]) == ("failed", 554)
    smtp.script_rcpt("550 5.1.1 no such user")
    a = probe(ch, notification())
    assert (a["outcome"], a["status_code"]) == ("failed", 550)
    assert "550" in a["error"]
    smtp.script_rcpt("450 4.2.1 mailbox busy")
    assert probe(ch, notification())["outcome"] == "retry"
    assert smtp.messages == []  # nothing was accepted so far
    assert probe(ch, notification())["outcome"] == "delivered"


def test_smtp_requiring_tls_from_a_plain_server_fails(smtp):
    a = probe(email_channel(smtp.url, require_tls=True), notification())
    assert a["outcome"] == "failed" and "SSL" in a["error"]
    assert smtp.mails == []


def test_smtp_silence_after_the_message_is_ambiguous(smtp):
    smtp.script_data(SmtpHang(5))
    a = probe(email_channel(smtp.url, timeout_ms=1000), notification())
    assert a["outcome"] == "ambiguous"
    assert len(smtp.mails) == 1  # the whole message did arrive


def test_smtp_unreachable_is_retried():
    a = probe(email_channel(f"smtp://127.0.0.1:{dead_port()}"), notification())
    assert (a["outcome"], a["status_code"]) == ("retry", 0)


def test_render_mode_prints_the_email_without_sending():
    out = probe(email_channel("smtp://127.0.0.1:1"), notification("resolved", 3), render=True)
    assert out["subject"] == "Re: [CRITICAL] api: high-error-rate triggered"
    assert out["in_reply_to"] == f"<incident-{INC}@rtmon>"
    msg = email.message_from_string(out["data"], policy=email.policy.default)
    assert msg["Message-ID"] == out["message_id"]
    assert msg["Subject"] == out["subject"]
