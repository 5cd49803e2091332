"""Browser end to end: the web UI served by a hub on the test stack (real Kafka and Postgres),
driven by playwright-core in Debian's Chromium (scenario.mjs).

An error burst posted over HTTP -> the incident appears in the open list without a reload ->
open it, acknowledge it -> its state changes in the list and the Slack test receiver gets the
acknowledgement -> add a note -> it shows in the timeline. Screenshots of the main pages are
saved to $RTMON_TEST_ARTIFACTS/screenshots/ (RTMON_UPDATE_SCREENSHOTS=1 also copies them to
docs/screenshots/ for the README).

The hub is started the way the integration tests start one (test/integration/conftest.py: its
own database, topic prefix and consumer group), with a notifications file routing everything to
a local Slack receiver."""
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INTEGRATION = ROOT / "test" / "integration"

# The integration fixtures (Env, Hub, wait_until), loaded under another name: this directory
# has no conftest of its own to clash with.
sys.path.insert(0, str(INTEGRATION))
_spec = importlib.util.spec_from_file_location("rtmon_it_conftest", INTEGRATION / "conftest.py")
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)

from receivers import SlackReceiver  # noqa: E402  (test/integration/receivers.py)

ARTIFACTS = it.ARTIFACTS
SHOTS = ARTIFACTS / "screenshots"


def run(cmd, cwd, what, timeout=900):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"{what} failed ({out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return out


def ensure_node_deps():
    """npm ci in test/e2e when its lock file changed (playwright-core only: no browser download)."""
    stamp = HERE / "node_modules" / ".rtmon-lock.sha256"
    want = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != want:
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], HERE,
            "npm ci in test/e2e (playwright-core)", timeout=600)
        stamp.write_text(want)


@pytest.fixture(scope="module")
def stack():
    if shutil.which("node") is None:
        pytest.fail("node not found: the e2e test needs Node.js 20+")
    chromium = os.environ.get("RTMON_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        pytest.fail(f"{chromium} not found: run infra/deps.sh (it installs Debian's chromium)")
    run(["bash", str(ROOT / "infra" / "ui.sh")], ROOT, "infra/ui.sh (building the UI)")
    ensure_node_deps()

    slack = SlackReceiver()
    slack.start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    notif = ARTIFACTS / f"e2e-notifications-{uuid.uuid4().hex[:6]}.json"
    notif.write_text(json.dumps({
        "channels": {"slack": {"kind": "slack", "url": slack.url("/slack")}},
        # A short group wait: the incident page shows the triggered notification as grouped.
        "routes": [{"match": {}, "channels": ["slack"], "group_wait": "1s",
                    "group_by": ["service"]}],
    }))
    env = it.Env("e2e_ui")
    hub = env.hub(env={"RTMON_NOTIFICATIONS_FILE": str(notif),
                       "RTMON_UI_DIR": str(ROOT / "ui" / "dist")})
    yield env, hub, slack
    env.close()
    slack.stop()
    notif.unlink(missing_ok=True)


def slack_texts(slack):
    return [r.body.decode("utf-8", "replace") for r in slack.received()]


def test_incident_flow_in_the_browser(stack):
    env, hub, slack = stack
    service = f"e2e-checkout-{uuid.uuid4().hex[:4]}"
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)

    # The hub serves the UI at / with an SPA fallback.
    r = requests.get(hub.url + "/incidents/some-id", headers={"Accept": "text/html"}, timeout=10)
    assert r.status_code == 200 and '<div id="root"' in r.text, (r.status_code, r.text[:300])

    proc = subprocess.run(
        ["node", str(HERE / "scenario.mjs")], cwd=HERE, capture_output=True, text=True, timeout=300,
        env={**os.environ, "RTMON_URL": hub.url, "E2E_SERVICE": service, "SCREENSHOTS": str(SHOTS)})
    (ARTIFACTS / "e2e-scenario.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    assert proc.returncode == 0, f"browser scenario failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    line = next(l for l in proc.stdout.splitlines() if l.startswith("E2E-RESULT "))
    result = json.loads(line[len("E2E-RESULT "):])
    inc = result["incident_id"]
    assert result["status_in_list"] in ("triggered", "pending"), result
    assert result["status_after_ack"] == "acknowledged", result
    assert result["trigger_group_in_ui"] == f"grouped by service={service}", result

    # The Slack receiver got the trigger and the acknowledgement of this incident.
    def acked():
        texts = [t for t in slack_texts(slack) if service in t]
        return [t for t in texts if "acknowledg" in t.lower()]
    it.wait_until(acked, 30, interval=0.25, what="the Slack acknowledgement")

    # The database agrees with what the browser showed.
    rows = env.pg.query(
        "select kind, coalesce(actor, ''), coalesce(detail, '') from incident_events"
        " where incident_id = :'v1' order by seq", inc)
    kinds = [k for k, _, _ in rows]
    assert kinds[:1] == ["triggered"] and "acknowledged" in kinds and "note" in kinds, rows
    assert any(k == "note" and d == result["note"] for k, _, d in rows), rows
    assert any(k == "acknowledged" and a == "e2e-oncall" for k, a, _ in rows), rows

    for name in ("incidents", "incident", "services", "service", "logs", "rules", "silences"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, name
    if os.environ.get("RTMON_UPDATE_SCREENSHOTS") == "1":
        dest = ROOT / "docs" / "screenshots"
        dest.mkdir(parents=True, exist_ok=True)
        for p in SHOTS.glob("*.png"):
            if p.name != "failure.png":
                shutil.copy2(p, dest / p.name)
    assert not result.get("page_problems"), result["page_problems"]
