import { describe, expect, it } from 'vitest';
import { toQueryString } from './api';
import { breachRange, chartSpec, guessMetric, parseThreshold } from './chartspec';
import { parseLabels, formatLabels } from './labels';
import { DEFAULT_LOG_FILTER, logFilterFromSearch, logFilterToQuery, logFilterToSearch } from './logfilter';
import type { Incident } from './api';

const NOW = Date.parse('2026-11-24T10:00:00.000Z');

describe('query strings', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(toQueryString({ a: '', b: undefined, c: null, d: 'x y', e: 0, f: false })).toBe('?d=x+y&e=0&f=false');
    expect(toQueryString({})).toBe('');
    expect(toQueryString({ status: 'triggered,acknowledged' })).toBe('?status=triggered%2Cacknowledged');
  });
});

describe('log filters', () => {
  it('defaults to the last hour; custom ranges keep from/to', () => {
    expect(logFilterFromSearch(new URLSearchParams())).toEqual(DEFAULT_LOG_FILTER);
    expect(logFilterToQuery(DEFAULT_LOG_FILTER, NOW)).toEqual({ limit: 100, from: '2026-11-24T09:00:00.000Z' });
    const f = { service: 'api', level: 'error', q: ' timeout ', range: 'custom', from: '2026-11-24T08:00:00.000Z', to: '2026-11-24T08:30:00.000Z' };
    const back = logFilterFromSearch(logFilterToSearch(f));
    expect(back).toEqual(f);
    expect(logFilterToQuery(f, NOW)).toEqual({ limit: 100, service: 'api', level: 'error', q: 'timeout', from: f.from, to: f.to });
  });
});

describe('labels', () => {
  it('parses k=v lists', () => {
    expect(parseLabels('endpoint=/checkout, region = eu')).toEqual({ labels: { endpoint: '/checkout', region: 'eu' }, error: null });
    expect(parseLabels('').labels).toEqual({});
    expect(parseLabels('oops').error).toMatch(/not key=value/);
    expect(formatLabels({ a: '1', b: '2' })).toBe('a=1, b=2');
  });
});

describe('chart spec', () => {
  const inc = (over: Partial<Incident>): Incident => ({
    id: 'i',
    fingerprint: 'f',
    rule: 'high-error-rate',
    service: 'api',
    severity: 'critical',
    status: 'triggered',
    summary: 'api: 0.5 of logs are errors over the last 1m (> 0.05)',
    labels: {},
    group: {},
    last_value: 0.5,
    breach_count: 1,
    opened_at: '2026-11-24T09:40:00.000Z',
    last_seen_at: null,
    acknowledged_at: null,
    resolved_at: null,
    flapping: false,
    silenced: false,
    ...over,
  });

  it('parses the threshold from a rendered summary', () => {
    expect(parseThreshold('api: 0.5 of logs are errors over the last 1m (> 0.05)')).toEqual({ op: '>', value: 0.05 });
    expect(parseThreshold('api: 50% of logs are errors over the last 1m (> 5%)')).toEqual({ op: '>', value: 0.05 });
    expect(parseThreshold('api /checkout: p95 response time 812 ms over 5m (> 500 ms)')).toEqual({ op: '>', value: 500 });
    expect(parseThreshold('a deploy failed')).toBeNull();
  });

  it('guesses the metric a summary names', () => {
    expect(guessMetric('p95 response time 812 ms', ['cpu', 'response_time'])).toBe('response_time');
    expect(guessMetric('anything', ['only'])).toBe('only');
    expect(guessMetric('anything at all', ['a', 'b'])).toBeNull();
  });

  it('charts the error rate of error-rate rules with the threshold, around the breach', () => {
    const s = chartSpec(inc({}), { name: 'high-error-rate', kind: 'error_rate', severity: 'critical', summary: '', for_s: 0, labels: {}, states: [] }, [], NOW);
    expect(s).toMatchObject({ signal: 'log', field: 'error_rate', threshold: 0.05, from: '2026-11-24T09:10:00.000Z', to: '2026-11-24T10:00:00.000Z' });
  });

  it('charts the metric percentile of threshold rules', () => {
    const s = chartSpec(
      inc({ rule: 'slow-responses', summary: 'api /checkout: p95 response time 812 ms over 5m (> 500 ms)' }),
      { name: 'slow-responses', kind: 'threshold', severity: 'warning', summary: '', for_s: 60, labels: {}, states: [] },
      ['response_time', 'queue_depth'],
      NOW,
    );
    expect(s).toMatchObject({ signal: 'metric', name: 'response_time', field: 'p95', threshold: 500 });
  });

  it('breachRange ends 15 min after resolution and stays within 31 days', () => {
    expect(breachRange({ opened_at: '2026-11-24T08:00:00.000Z', resolved_at: '2026-11-24T08:30:00.000Z' }, NOW)).toEqual({
      from: '2026-11-24T07:30:00.000Z',
      to: '2026-11-24T08:45:00.000Z',
    });
    const r = breachRange({ opened_at: '2026-09-01T00:00:00.000Z', resolved_at: null }, NOW);
    expect(Date.parse(r.to) - Date.parse(r.from)).toBe(31 * 86400_000);
  });
});
