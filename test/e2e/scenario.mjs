// The browser half of the end-to-end test (driven by test_ui.py, which starts the hub on the
// test stack and checks the Slack receiver). Steps:
//   incidents page open -> an error burst is posted over HTTP -> the incident appears in the open
//   list without a reload -> open it, acknowledge it -> its state changes in the list -> add a
//   note -> it shows in the timeline. Screenshots of the main pages go to $SCREENSHOTS.
// Env: RTMON_URL (hub), E2E_SERVICE (the burst's service), SCREENSHOTS (dir), E2E_USER.
// Prints "E2E-RESULT {json}" on success; exits non-zero with the failed step otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const BASE = process.env.RTMON_URL;
const SERVICE = process.env.E2E_SERVICE;
const SHOTS = process.env.SCREENSHOTS;
const USER = process.env.E2E_USER || 'e2e-oncall';
const NOTE = `e2e note: rolled back ${SERVICE} at ${new Date().toISOString()}`;
if (!BASE || !SERVICE || !SHOTS) {
  console.error('RTMON_URL, E2E_SERVICE and SCREENSHOTS are required');
  process.exit(2);
}
fs.mkdirSync(SHOTS, { recursive: true });

let step = 'start';
const log = (msg) => console.log(`[e2e ${new Date().toISOString().slice(11, 23)}] ${msg}`);
const begin = (s) => {
  step = s;
  log(s);
};

/** The burst of test/integration/test_incidents.py: 20 error and 20 info lines, interleaved. */
function burstLines(service, errors, infos, ts, tag) {
  const total = errors + infos;
  const out = [];
  let e = 0;
  for (let i = 0; i < total; i++) {
    const isError = Math.floor(((i + 1) * errors) / total) > e;
    if (isError) e++;
    out.push({
      event_id: `${tag}-${i}`,
      service,
      ts: Math.round((ts + i * 0.001) * 1000) / 1000,
      level: isError ? 'error' : 'info',
      message: `${tag} line ${i}` + (isError ? ' failed: upstream timed out' : ' ok'),
      host: 'e2e-host',
    });
  }
  return out;
}

async function post(pathname, items, contentType = 'application/x-ndjson') {
  const body = contentType === 'application/x-ndjson' ? items.map((x) => JSON.stringify(x)).join('\n') + '\n' : JSON.stringify(items);
  const r = await fetch(BASE + pathname, { method: 'POST', headers: { 'Content-Type': contentType }, body });
  if (r.status !== 202) throw new Error(`POST ${pathname}: ${r.status} ${await r.text()}`);
}

const { context, close } = await launch();
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
page.on('console', (m) => {
  if (m.type() === 'error') problems.push(`console: ${m.text()}`);
});
const shot = async (name) => {
  await page.waitForTimeout(400); // let charts lay out
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  log(`screenshot ${name}.png`);
};

const result = {};
try {
  begin('set the user name once (stored in localStorage)');
  await page.goto(`${BASE}/incidents`);
  await page.getByLabel('Your name').fill(USER);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('user-name').waitFor();

  begin('the incidents page is live (stream connected, list loaded)');
  await page.locator('[data-stream="live"]').waitFor({ timeout: 20000 });
  await page.getByTestId('incidents-table').or(page.getByText('Nothing is burning')).first().waitFor({ timeout: 20000 });
  const navigations = [];
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations.push(f.url());
  });

  begin(`post an error burst for ${SERVICE} over HTTP`);
  const t0 = Date.now() / 1000;
  // Some context traffic too (for the services and logs pages).
  await post('/logs', burstLines(`${SERVICE}-peer`, 1, 49, t0, 'e2e-peer'));
  await post(
    '/metrics',
    Array.from({ length: 60 }, (_, i) => ({ service: SERVICE, ts: t0 + i * 0.01, response_time: 40 + ((i * 37) % 300), endpoint: '/checkout' })),
    'application/json',
  );
  await post('/events', [{ service: SERVICE, ts: t0, type: 'deploy', version: 'v2.14.1', status: 'succeeded' }], 'application/json');
  await post('/logs', burstLines(SERVICE, 20, 20, t0 + 0.3, 'e2e-burst'));

  begin('the incident appears in the open list without a reload');
  const row = page.locator(`tr[data-service="${SERVICE}"]`).first();
  await row.waitFor({ timeout: 30000 });
  if (navigations.length) throw new Error(`the page navigated: ${navigations.join(', ')}`);
  result.incident_id = await row.getAttribute('data-incident');
  result.status_in_list = await row.getAttribute('data-status');
  log(`incident ${result.incident_id} is ${result.status_in_list}`);
  await shot('incidents');

  begin('open it');
  await row.getByRole('link').first().click();
  await page.waitForURL(`**/incidents/${result.incident_id}`);
  await page.getByTestId('incident-header').waitFor();
  await page.locator('figure svg').first().waitFor();

  begin('acknowledge it');
  await page.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await page.locator('[data-testid="incident-header"][data-status="acknowledged"]').waitFor({ timeout: 20000 });
  await page.locator('[data-testid="timeline"] li[data-kind="acknowledged"]').waitFor({ timeout: 20000 });
  const ackText = await page.locator('[data-testid="timeline"] li[data-kind="acknowledged"]').first().innerText();
  if (!ackText.includes(USER)) throw new Error(`the acknowledgement is not by ${USER}: ${ackText}`);

  begin('add a note; it shows in the timeline');
  await page.getByLabel('Add a note').fill(NOTE);
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.locator('[data-testid="timeline"] li[data-kind="note"]', { hasText: NOTE }).waitFor({ timeout: 20000 });
  result.note = NOTE;
  // The triggered notification says it went out grouped (the route has a group wait).
  result.trigger_group_in_ui = await page
    .locator('[data-testid="notifications"] li[data-event="triggered"] [data-testid="notification-group"]')
    .first()
    .innerText({ timeout: 20000 })
    .catch(() => null);
  // The Slack acknowledgement shows in the notifications once delivered (the page polls).
  await page
    .locator('[data-testid="notifications"] li[data-event="acknowledged"][data-status="delivered"]')
    .waitFor({ timeout: 20000 })
    .then(() => (result.ack_delivered_in_ui = true))
    .catch(() => (result.ack_delivered_in_ui = false));
  await shot('incident');

  begin('back in the list, its state changed (live, no reload)');
  await page.getByRole('link', { name: 'Incidents', exact: true }).first().click();
  await page.waitForURL('**/incidents');
  const row2 = page.locator(`tr[data-incident="${result.incident_id}"]`);
  await row2.waitFor({ timeout: 20000 });
  await page.locator(`tr[data-incident="${result.incident_id}"][data-status="acknowledged"]`).waitFor({ timeout: 20000 });
  result.status_after_ack = await row2.getAttribute('data-status');

  begin('the state changes in an already open list too (acknowledged by someone else -> resolved)');
  // A second tab resolves it; the first one, untouched, follows live.
  const other = await context.newPage();
  await other.goto(`${BASE}/incidents/${result.incident_id}`);
  await other.getByRole('button', { name: 'Resolve', exact: true }).click();
  await other.locator('[data-testid="incident-header"][data-status="resolved"]').waitFor({ timeout: 20000 });
  await other.close();
  await row2.waitFor({ state: 'detached', timeout: 20000 }); // it left the "open" tab
  await page.getByRole('tab', { name: /Resolved/ }).click();
  await page.locator(`tr[data-incident="${result.incident_id}"][data-status="resolved"]`).waitFor({ timeout: 20000 });
  await page.getByRole('tab', { name: /Open/ }).click();

  begin('screenshots of the other pages');
  await page.goto(`${BASE}/services`);
  await page.getByTestId('services-table').waitFor({ timeout: 20000 });
  await shot('services');
  await page.goto(`${BASE}/services/${encodeURIComponent(SERVICE)}`);
  await page.locator('figure svg').first().waitFor({ timeout: 20000 });
  await shot('service');
  await page.goto(`${BASE}/logs?service=${encodeURIComponent(SERVICE)}`);
  await page.getByTestId('logs-list').waitFor({ timeout: 20000 });
  await shot('logs');
  await page.goto(`${BASE}/rules`);
  await page.getByTestId('rules-table').waitFor({ timeout: 20000 });
  await shot('rules');
  await page.goto(`${BASE}/silences`);
  await page.getByLabel('Service').fill(SERVICE);
  await page.getByLabel('Comment').fill('e2e: maintenance window');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByTestId('silences-table').waitFor({ timeout: 20000 });
  await shot('silences');

  result.page_problems = problems;
  console.log(`E2E-RESULT ${JSON.stringify(result)}`);
  await close();
} catch (e) {
  console.error(`E2E FAILED at step "${step}": ${e && e.stack ? e.stack : e}`);
  if (problems.length) console.error(`page problems:\n  ${problems.join('\n  ')}`);
  await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => undefined);
  console.error(`failure screenshot: ${path.join(SHOTS, 'failure.png')} (url ${page.url()})`);
  await close();
  process.exit(1);
}
