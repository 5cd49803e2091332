"""Local fakes of the places rtmon notifies, for integration tests: no network beyond 127.0.0.1.

SlackReceiver: a threaded HTTP server that records every request and answers as scripted, per
path or from a shared queue (ok, 400 invalid_payload, 429 + Retry-After, 500, hang). It stands
in for Slack incoming webhooks and for generic/PagerDuty-style webhooks alike.

    with SlackReceiver() as slack:
        slack.script(rate_limited(2), ok())                # the next two answers, any path
        slack.script(error(400, "invalid_payload"), path="/services/T/B/broken")
        url = slack.url("/services/T/B/ok")
        ...
        slack.wait_for(1)[0].json["text"]

SmtpReceiver: an aiosmtpd server (plain SMTP, no TLS, no AUTH) that records every message
delivered to it, parsed with the email package, plus scripted RCPT/DATA replies and hangs.

    with SmtpReceiver() as smtp:
        smtp.script_data("451 4.3.0 try again later")      # next DATA gets this reply
        ...
        mail = smtp.wait_for(1)[0]; mail.message["Subject"]
"""
import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

from aiosmtpd.controller import Controller


def _wait(arrived, pred, timeout, what):
    """Waits until `pred()` holds; the receiver notifies `arrived` on every request or mail."""
    with arrived:
        got = arrived.wait_for(pred, timeout)
    if got:
        return got
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- HTTP --------------------------------------------------------------------------------------

@dataclass
class Answer:
    """One scripted HTTP answer. `hang` > 0: wait that long first; with status None nothing is
    ever sent (the connection is closed), so the sender cannot know whether it arrived."""
    status: Optional[int] = 200
    body: str = "ok"
    headers: dict = field(default_factory=dict)
    hang: float = 0.0


def ok(body="ok"):
    return Answer(200, body)


def error(status=400, body="invalid_payload"):
    return Answer(status, body)


def rate_limited(retry_after=2, body="rate_limited"):
    """429 with `Retry-After: <retry_after>` (seconds, or an HTTP-date string)."""
    return Answer(429, body, {"Retry-After": str(retry_after)})


def server_error(status=500, body="rollup_error"):
    return Answer(status, body)


def hang(seconds, then: Optional[Answer] = None):
    """Read the request, wait `seconds`, then send `then` (default: nothing, just close)."""
    if then is None:
        return Answer(None, "", {}, seconds)
    return Answer(then.status, then.body, dict(then.headers), seconds)


@dataclass
class Request:
    at: float            # time.time() when the request was read completely
    method: str
    path: str            # with the query string
    headers: dict        # header names lower-cased
    body: bytes
    answer: Answer

    @property
    def json(self):
        return json.loads(self.body)


class SlackReceiver:
    def __init__(self, default: Answer = None):
        self.default = default or ok()
        self.requests = []
        self._lock = threading.Condition()  # also signals arrivals (_wait)
        self._per_path = {}
        self._queue = deque()
        self._stop = threading.Event()
        self._server = None
        self._thread = None

    # scripting
    def script(self, *answers: Answer, path: Optional[str] = None):
        """Queues answers for the next requests to `path` (exact, without query), or to any path
        when `path` is None. Path scripts win over the shared queue; then the default answers."""
        with self._lock:
            (self._per_path.setdefault(path, deque()) if path else self._queue).extend(answers)

    def _next_answer(self, path):
        with self._lock:
            q = self._per_path.get(path.split("?", 1)[0])
            if q:
                return q.popleft()
            if self._queue:
                return self._queue.popleft()
            return self.default

    # life cycle
    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = receiver._next_answer(self.path)
                req = Request(time.time(), self.command, self.path,
                              {k.lower(): v for k, v in self.headers.items()}, body, answer)
                with receiver._lock:
                    receiver.requests.append(req)
                    receiver._lock.notify_all()
                if answer.hang:
                    receiver._stop.wait(answer.hang)
                if answer.status is None:
                    self.close_connection = True
                    return
                data = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender gave up (timeout) before the late answer came

            do_PUT = do_POST

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # inspection
    @property
    def port(self):
        return self._server.server_address[1]

    def url(self, path="/services/T000/B000/XXXXXXXX"):
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: Optional[str] = None):
        with self._lock:
            return [r for r in self.requests if path is None or r.path.split("?", 1)[0] == path]

    def wait_for(self, n=1, timeout=10.0, path: Optional[str] = None):
        """Blocks until at least `n` requests (to `path`) arrived; returns them all."""
        return _wait(self._lock,
                     lambda: (lambda rs: rs if len(rs) >= n else None)(self.received(path)),
                     timeout, f"{n} request(s) on {path or 'any path'}")


# --- SMTP --------------------------------------------------------------------------------------

@dataclass
class Mail:
    at: float
    peer: tuple
    mail_from: str
    rcpt_tos: list
    raw: bytes
    message: email.message.EmailMessage  # parsed with email.policy.default
    reply: str                           # what the server answered to DATA

    @property
    def accepted(self):
        return self.reply.startswith("250")

    def part(self, content_type):
        """The decoded text of the first part of that type ("text/plain", "text/html"), with
        LF line ends (quoted-printable keeps the CRLF of the wire)."""
        for p in self.message.walk():
            if p.get_content_type() == content_type:
                return p.get_content().replace("\r\n", "\n")
        return None


@dataclass
class SmtpHang:
    seconds: float
    then: str = "250 OK"


class SmtpReceiver:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.mails = []      # every message that got to the end of DATA, answered or not
        self._lock = threading.Condition()  # also signals arrivals (_wait)
        self._rcpt_script = deque()
        self._data_script = deque()
        self._controller = None
        self.port = None

    # scripting: replies such as "451 4.3.0 try later", "550 5.1.1 no such user", SmtpHang(5)
    def script_rcpt(self, *replies):
        with self._lock:
            self._rcpt_script.extend(replies)

    def script_data(self, *replies):
        with self._lock:
            self._data_script.extend(replies)

    def _pop(self, q):
        with self._lock:
            return q.popleft() if q else None

    def start(self):
        receiver = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                reply = receiver._pop(receiver._rcpt_script)
                if reply:
                    return reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                reply = receiver._pop(receiver._data_script) or "250 OK"
                raw = envelope.original_content or envelope.content
                mail = Mail(time.time(), session.peer, envelope.mail_from,
                            list(envelope.rcpt_tos), raw,
                            email.message_from_bytes(raw, policy=email.policy.default),
                            reply if isinstance(reply, str) else "(hung)")
                with receiver._lock:
                    receiver.mails.append(mail)
                    receiver._lock.notify_all()
                if isinstance(reply, SmtpHang):
                    await asyncio.sleep(reply.seconds)
                    return reply.then
                return reply

        last = None
        for _ in range(5):  # aiosmtpd needs a concrete port: take a free one, retry on a race
            with socket.socket() as s:
                s.bind((self.host, 0))
                port = s.getsockname()[1]
            controller = Controller(Handler(), hostname=self.host, port=port)
            try:
                controller.start()
            except Exception as e:  # noqa: BLE001 - the port got taken in between
                last = e
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"SmtpReceiver could not start: {last}")

    def stop(self):
        if self._controller:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self):
        """The accepted messages."""
        with self._lock:
            return [m for m in self.mails if m.accepted]

    def wait_for(self, n=1, timeout=10.0):
        """Blocks until at least `n` messages were accepted; returns them all."""
        return _wait(self._lock, lambda: (lambda ms: ms if len(ms) >= n else None)(self.messages),
                     timeout, f"{n} accepted mail(s)")
