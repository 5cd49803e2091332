"""Fixtures for integration tests against the real Kafka broker and PostgreSQL that
test/integration/stack.sh started (CTest fixture `stack`). Each test module gets its own
database and its own topic prefix and consumer group, so modules never see each other's data,
and can start and kill rtmon processes freely."""
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
RTMON = os.environ.get("RTMON_BIN", str(ROOT / "build" / "rtmon"))
KAFKA = f"127.0.0.1:{os.environ.get('TEST_KAFKA_PORT', '29092')}"
PG_PORT = os.environ.get("TEST_PG_PORT", "55433")
PG_ADMIN_URL = f"postgresql://rtmon:rtmon@127.0.0.1:{PG_PORT}/rtmon"
ARTIFACTS = Path(os.environ.get("RTMON_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=30.0, interval=0.1, what="condition"):
    """Polls `pred` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Postgres:
    def __init__(self, url):
        self.url = url

    def query(self, sql, *args):
        """Runs one statement with psql; returns rows as lists of strings. `args` are bound as
        psql variables :v1, :v2 ... (quoted with :'v1')."""
        cmd = ["psql", self.url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        for i, a in enumerate(args, 1):
            cmd += ["-v", f"v{i}={a}"]
        out = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr}")
        return [line.split("\t") for line in out.stdout.splitlines() if line != ""]

    def scalar(self, sql, *args):
        rows = self.query(sql, *args)
        return rows[0][0] if rows else None


class Hub:
    """One rtmon process. Logs go to build/test-artifacts/<name>.log."""

    def __init__(self, name, db_url, prefix, group, extra=(), env=None):
        self.port = free_port()
        self.name = name
        self.db_url = db_url
        self.prefix = prefix
        self.group = group
        self.extra = list(extra)
        self.env = dict(env or {})
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, wait_ready=True):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"{self.name}.log"
        env = dict(os.environ)
        env.update({
            "RTMON_KAFKA_BROKERS": KAFKA,
            "RTMON_DATABASE_URL": self.db_url,
            "RTMON_HTTP_ADDR": f"127.0.0.1:{self.port}",
        })
        env.update(self.env)
        args = [RTMON, "serve", f"--config-file={ROOT / 'config' / 'rtmon.ini'}",
                f"--kafka.topic-prefix={self.prefix}", f"--kafka.group={self.group}",
                "--kafka.session-timeout-ms=6000"] + self.extra
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=ROOT)
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=60):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"rtmon exited with {self.proc.returncode}; see {self.log_path}")
            try:
                return requests.get(self.url + "/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, timeout, what=f"{self.name} /readyz")

    def post(self, path, body, content_type="application/json", **kw):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return requests.post(self.url + path, data=data,
                             headers={"Content-Type": content_type, **kw.pop("headers", {})},
                             timeout=kw.pop("timeout", 30), **kw)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None


class Env:
    """Per-module isolation: a database, a topic prefix, a consumer group."""

    def __init__(self, name):
        tag = f"{name}_{uuid.uuid4().hex[:8]}"
        self.dbname = f"t_{tag}"
        admin = Postgres(PG_ADMIN_URL)
        admin.query(f'create database "{self.dbname}"')
        self.db_url = f"postgresql://rtmon:rtmon@127.0.0.1:{PG_PORT}/{self.dbname}"
        self.pg = Postgres(self.db_url)
        self.prefix = f"{tag}."
        self.group = f"g_{tag}"
        self.hubs = []
        self.name = name

    def topic(self, kind):
        return f"{self.prefix}{kind}"

    def hub(self, extra=(), env=None, start=True, group=None):
        h = Hub(f"{self.name}-{len(self.hubs)}", self.db_url, self.prefix, group or self.group,
                extra, env)
        self.hubs.append(h)
        return h.start() if start else h

    def close(self):
        for h in self.hubs:
            h.stop()

    def kcat_consume(self, kind, timeout=30):
        """All messages of a topic as (key, value) pairs, read with kcat from the start."""
        out = subprocess.run(
            ["kcat", "-C", "-b", KAFKA, "-t", self.topic(kind), "-o", "beginning", "-e", "-q",
             "-f", "%k\t%s\n"], capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"kcat failed: {out.stderr}")
        return [tuple(line.split("\t", 1)) for line in out.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def env(request):
    e = Env(Path(request.module.__file__).stem.replace("test_", ""))
    yield e
    e.close()


@pytest.fixture(scope="module")
def slack():
    """A Slack (and webhook) stand-in for the module's hubs (receivers.py)."""
    from receivers import SlackReceiver
    with SlackReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server (aiosmtpd) for the module's hubs (receivers.py)."""
    from receivers import SmtpReceiver
    with SmtpReceiver() as r:
        yield r
