import { describe, expect, it } from 'vitest';
import type { Incident } from './api';
import {
  DEFAULT_FILTER,
  appendPage,
  filterFromSearch,
  filterToQuery,
  filterToSearch,
  initialList,
  mergeTransition,
  tabCount,
  type IncidentFilter,
  type Transition,
} from './incidents';

const NOW = Date.parse('2026-11-24T10:00:00.000Z');

function inc(id: string, over: Partial<Incident> = {}): Incident {
  return {
    id,
    fingerprint: `high-error-rate|${id}`,
    rule: 'high-error-rate',
    service: 'api',
    severity: 'critical',
    status: 'triggered',
    summary: `incident ${id}`,
    labels: {},
    group: {},
    last_value: 0.5,
    breach_count: 1,
    opened_at: '2026-11-24T09:00:00.000Z',
    last_seen_at: null,
    acknowledged_at: null,
    resolved_at: null,
    flapping: false,
    silenced: false,
    ...over,
  };
}

function tr(id: string, seq: number, from: string, to: string, over: Partial<Transition> = {}): Transition {
  return {
    type: 'incident.transition',
    stream_id: seq * 10,
    incident_id: id,
    fingerprint: `high-error-rate|${id}`,
    rule: 'high-error-rate',
    service: 'api',
    severity: 'critical',
    status: to as Transition['status'],
    summary: `incident ${id}`,
    labels: {},
    group: {},
    seq,
    kind: to,
    from,
    to,
    at: '2026-11-24T09:59:00.000Z',
    actor: null,
    detail: null,
    value: 0.4,
    notify: true,
    breach_count: 2,
    opened_at: '2026-11-24T09:30:00.000Z',
    ...over,
  };
}

const counts = (o: Partial<Record<string, number>> = {}) => ({ pending: 0, triggered: 0, acknowledged: 0, resolved: 0, cancelled: 0, ...o });

describe('filters', () => {
  it('round-trips through the URL, leaving defaults out', () => {
    expect(filterToSearch(DEFAULT_FILTER).toString()).toBe('');
    const f: IncidentFilter = { status: 'resolved', service: 'api', severity: 'critical', range: '24h' };
    const s = filterToSearch(f);
    expect(s.toString()).toBe('status=resolved&service=api&severity=critical&range=24h');
    expect(filterFromSearch(s)).toEqual(f);
  });

  it('falls back to defaults for unknown values', () => {
    expect(filterFromSearch(new URLSearchParams('status=bogus&range=3y'))).toEqual(DEFAULT_FILTER);
  });

  it('builds the API query: status open, a from for the range, no status for all', () => {
    expect(filterToQuery(DEFAULT_FILTER, NOW)).toEqual({ limit: 50, status: 'open', from: '2026-11-17T10:00:00.000Z' });
    expect(filterToQuery({ status: 'all', service: 'db', severity: '', range: '1h' }, NOW)).toEqual({
      limit: 50,
      service: 'db',
      from: '2026-11-24T09:00:00.000Z',
    });
  });
});

describe('mergeTransition', () => {
  const open: IncidentFilter = { ...DEFAULT_FILTER };

  it('inserts a new incident at the top and counts it (seq 1 has no previous state)', () => {
    const st = initialList([inc('a')], counts({ triggered: 1, pending: 2 }), null);
    const next = mergeTransition(st, tr('b', 1, 'pending', 'triggered'), open, NOW);
    expect(next.items.map((i) => i.id)).toEqual(['b', 'a']);
    expect(next.counts).toEqual(counts({ triggered: 2, pending: 2 }));
    expect(next.items[0]!.status).toBe('triggered');
    expect(next.fresh.b).toBe(NOW);
  });

  it('moves a listed incident between states and counts', () => {
    const st = initialList([inc('a')], counts({ triggered: 1 }), null);
    const next = mergeTransition(st, tr('a', 2, 'triggered', 'acknowledged', { actor: 'alice' }), open, NOW);
    expect(next.items[0]!.status).toBe('acknowledged');
    expect(next.items[0]!.acknowledged_at).toBe('2026-11-24T09:59:00.000Z');
    expect(next.counts).toEqual(counts({ acknowledged: 1 }));
  });

  it('drops an incident that leaves the status filter (resolved under "open")', () => {
    const st = initialList([inc('a'), inc('b')], counts({ triggered: 2 }), null);
    const next = mergeTransition(st, tr('a', 2, 'triggered', 'resolved'), open, NOW);
    expect(next.items.map((i) => i.id)).toEqual(['b']);
    expect(next.counts).toEqual(counts({ triggered: 1, resolved: 1 }));
  });

  it('is idempotent per (incident, seq): a replayed transition changes nothing', () => {
    const st = initialList([inc('a')], counts({ triggered: 1 }), null);
    const once = mergeTransition(st, tr('a', 2, 'triggered', 'acknowledged'), open, NOW);
    const twice = mergeTransition(once, tr('a', 2, 'triggered', 'acknowledged'), open, NOW);
    expect(twice).toBe(once);
  });

  it('ignores an older transition than the loaded state shows', () => {
    const st = initialList([inc('a', { status: 'acknowledged', acknowledged_at: '2026-11-24T09:59:30.000Z' })], counts({ acknowledged: 1 }), null);
    const next = mergeTransition(st, tr('a', 1, 'pending', 'triggered', { at: '2026-11-24T09:31:00.000Z' }), open, NOW);
    expect(next.items[0]!.status).toBe('acknowledged');
    expect(next.counts).toEqual(counts({ acknowledged: 1 }));
  });

  it('notes, flapping and silenced update flags but not counts', () => {
    const st = initialList([inc('a')], counts({ triggered: 1 }), null);
    let next = mergeTransition(st, tr('a', 2, 'triggered', 'triggered', { kind: 'note', detail: 'looking' }), open, NOW);
    next = mergeTransition(next, tr('a', 3, 'triggered', 'triggered', { kind: 'flapping' }), open, NOW);
    next = mergeTransition(next, tr('a', 4, 'triggered', 'triggered', { kind: 'silenced' }), open, NOW);
    expect(next.counts).toEqual(counts({ triggered: 1 }));
    expect(next.items[0]!.flapping).toBe(true);
    expect(next.items[0]!.silenced).toBe(true);
  });

  it('leaves out incidents of other services or severities, and does not count them', () => {
    const f: IncidentFilter = { ...open, service: 'db' };
    const st = initialList([], counts(), null);
    const next = mergeTransition(st, tr('x', 1, 'pending', 'triggered'), f, NOW);
    expect(next.items).toEqual([]);
    expect(next.counts).toEqual(counts());
  });

  it('does not insert below a partial page (it comes with load more)', () => {
    const st = initialList([inc('a', { opened_at: '2026-11-24T09:50:00.000Z' })], counts({ triggered: 5 }), 'cursor');
    const next = mergeTransition(st, tr('old', 1, 'pending', 'triggered', { opened_at: '2026-11-24T08:00:00.000Z' }), open, NOW);
    expect(next.items.map((i) => i.id)).toEqual(['a']);
    expect(next.counts.triggered).toBe(6);
    const more = appendPage(next, [inc('a'), inc('old')], null);
    expect(more.items.map((i) => i.id)).toEqual(['a', 'old']);
  });

  it('tab counts: open sums pending, triggered and acknowledged', () => {
    const c = counts({ pending: 1, triggered: 2, acknowledged: 3, resolved: 4 });
    expect(tabCount(c, 'open')).toBe(6);
    expect(tabCount(c, 'all')).toBe(10);
    expect(tabCount(c, 'resolved')).toBe(4);
  });
});
