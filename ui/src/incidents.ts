// Pure logic of the live incident list: filters <-> URL and API query, and merging stream
// transitions into a loaded page of incidents and its counts.
import { OPEN_STATUSES, STATUSES, type Counts, type Incident, type IncidentQuery, type Labels, type Status } from './api';
import { parseTime, rangeFrom, rangeSeconds } from './time';

export type StatusFilter = 'open' | 'all' | Status;

export interface IncidentFilter {
  status: StatusFilter;
  service: string;
  severity: string;
  range: string; // a RANGES key
}

export const DEFAULT_FILTER: IncidentFilter = { status: 'open', service: '', severity: '', range: '7d' };

const STATUS_FILTERS: readonly string[] = ['open', 'all', ...STATUSES];

export function filterFromSearch(search: URLSearchParams): IncidentFilter {
  const status = search.get('status') ?? DEFAULT_FILTER.status;
  const range = search.get('range') ?? DEFAULT_FILTER.range;
  return {
    status: (STATUS_FILTERS.includes(status) ? status : DEFAULT_FILTER.status) as StatusFilter,
    service: (search.get('service') ?? '').trim(),
    severity: (search.get('severity') ?? '').trim(),
    range: rangeSeconds(range) !== null ? range : DEFAULT_FILTER.range,
  };
}

/** URL search params of a filter; defaults are left out so the plain URL is the default view. */
export function filterToSearch(f: IncidentFilter): URLSearchParams {
  const p = new URLSearchParams();
  if (f.status !== DEFAULT_FILTER.status) p.set('status', f.status);
  if (f.service) p.set('service', f.service);
  if (f.severity) p.set('severity', f.severity);
  if (f.range !== DEFAULT_FILTER.range) p.set('range', f.range);
  return p;
}

/** The API query of a filter (a range ends now: only `from` is sent). */
export function filterToQuery(f: IncidentFilter, now: number = Date.now(), limit = 50): IncidentQuery {
  const q: IncidentQuery = { limit };
  if (f.status !== 'all') q.status = f.status;
  if (f.service) q.service = f.service;
  if (f.severity) q.severity = f.severity;
  const from = rangeFrom(f.range, now);
  if (from) q.from = from;
  return q;
}

export function statusMatches(f: StatusFilter, s: Status): boolean {
  if (f === 'all') return true;
  if (f === 'open') return OPEN_STATUSES.includes(s);
  return f === s;
}

/** Whether an incident passes every filter but the status (the filters `counts` apply). */
export function matchesScope(f: IncidentFilter, service: string, severity: string, openedAt: string, now: number): boolean {
  if (f.service && f.service !== service) return false;
  if (f.severity && f.severity !== severity) return false;
  const secs = rangeSeconds(f.range);
  const t = parseTime(openedAt);
  if (secs !== null && t !== null && t < now - secs * 1000) return false;
  return true;
}

/** An `incident.transition` message of the live stream (docs/api.md). */
export interface Transition {
  type: 'incident.transition';
  stream_id: number;
  incident_id: string;
  fingerprint: string;
  rule: string;
  service: string;
  severity: string;
  status: Status;
  summary: string;
  labels: Labels;
  group: Labels;
  seq: number;
  kind: string;
  from: string | null;
  to: string | null;
  at: string;
  actor: string | null;
  detail: string | null;
  value: number | null;
  notify: boolean;
  breach_count: number;
  opened_at: string;
}

export interface ListState {
  items: Incident[];
  counts: Counts;
  next_cursor: string | null;
  /** Highest timeline seq applied per incident id (from the stream): older ones are ignored. */
  seqs: Record<string, number>;
  /** Incident ids that arrived or changed live, for a brief highlight. */
  fresh: Record<string, number>;
}

export function emptyCounts(): Counts {
  return { pending: 0, triggered: 0, acknowledged: 0, resolved: 0, cancelled: 0 };
}

export function initialList(items: Incident[], counts: Counts | undefined, next_cursor: string | null): ListState {
  return { items, counts: { ...emptyCounts(), ...(counts ?? {}) }, next_cursor, seqs: {}, fresh: {} };
}

const isStatus = (s: string | null | undefined): s is Status => !!s && (STATUSES as readonly string[]).includes(s);

/** The incident a transition describes, its fields updated (or created from the message). */
export function applyToIncident(prev: Incident | undefined, t: Transition): Incident {
  const base: Incident = prev ?? {
    id: t.incident_id,
    fingerprint: t.fingerprint,
    rule: t.rule,
    service: t.service,
    severity: t.severity,
    status: t.status,
    summary: t.summary,
    labels: t.labels ?? {},
    group: t.group ?? {},
    last_value: t.value,
    breach_count: t.breach_count,
    opened_at: t.opened_at,
    last_seen_at: t.at,
    acknowledged_at: null,
    resolved_at: null,
    flapping: false,
    silenced: false,
  };
  const next: Incident = {
    ...base,
    status: isStatus(t.status) ? t.status : base.status,
    severity: t.severity || base.severity,
    summary: t.summary || base.summary,
    labels: t.labels ?? base.labels,
    group: t.group ?? base.group,
    breach_count: Math.max(base.breach_count, t.breach_count ?? 0),
    last_value: t.value ?? base.last_value,
    last_seen_at: t.at,
  };
  if (t.kind === 'acknowledged') next.acknowledged_at = t.at;
  if (t.kind === 'resolved' || t.kind === 'cancelled') next.resolved_at = t.at;
  if (t.kind === 'triggered' && prev && (prev.status === 'resolved' || prev.status === 'cancelled')) next.resolved_at = null;
  if (t.kind === 'flapping') next.flapping = true;
  if (t.kind === 'stable') next.flapping = false;
  if (t.kind === 'silenced') next.silenced = true;
  return next;
}

/** Whether a transition is older than what the loaded incident already shows. */
function isStale(prev: Incident, t: Transition, seenSeq: number | undefined): boolean {
  if (seenSeq !== undefined && t.seq <= seenSeq) return true;
  const at = parseTime(t.at) ?? 0;
  const closed = parseTime(prev.resolved_at);
  if (closed !== null && at < closed && t.to !== prev.status) return true;
  const acked = parseTime(prev.acknowledged_at);
  if (acked !== null && at < acked && (t.to === 'triggered' || t.to === 'pending')) return true;
  return false;
}

function sortNewestFirst(items: Incident[]): Incident[] {
  return [...items].sort((a, b) => {
    const d = (parseTime(b.opened_at) ?? 0) - (parseTime(a.opened_at) ?? 0);
    if (d !== 0) return d;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  });
}

/**
 * Merges one transition into the list: updates a loaded incident (removing it when it no longer
 * passes the status filter), inserts a new one that passes the filters, and moves the counts
 * from the old status to the new one. Idempotent per (incident, seq).
 */
export function mergeTransition(state: ListState, t: Transition, f: IncidentFilter, now: number = Date.now()): ListState {
  const idx = state.items.findIndex((i) => i.id === t.incident_id);
  const prev = idx >= 0 ? state.items[idx] : undefined;
  const seen = state.seqs[t.incident_id];
  if (seen !== undefined && t.seq <= seen) return state;
  if (prev && isStale(prev, t, seen)) return { ...state, seqs: { ...state.seqs, [t.incident_id]: t.seq } };

  const inScope = matchesScope(f, t.service, t.severity, t.opened_at, now);
  const counts = { ...state.counts };
  const from = t.from;
  const to = isStatus(t.to) ? t.to : t.status;
  if (inScope && from !== to) {
    // seq 1 opens the incident: its "from" (pending) was never a stored state.
    if (t.seq > 1 && isStatus(from)) counts[from] = Math.max(0, counts[from] - 1);
    if (isStatus(to)) counts[to] += 1;
  }

  const next = applyToIncident(prev, t);
  let items = state.items;
  const keep = inScope && statusMatches(f.status, next.status);
  if (prev) {
    items = keep ? items.map((i, k) => (k === idx ? next : i)) : items.filter((_, k) => k !== idx);
  } else if (keep) {
    // A new incident, or one outside the loaded page: insert in order when it belongs above the
    // page's last item (or the list is complete), else it comes with "load more".
    const last = items[items.length - 1];
    const belongs = !state.next_cursor || !last || (parseTime(next.opened_at) ?? 0) >= (parseTime(last.opened_at) ?? 0);
    if (belongs) items = sortNewestFirst([next, ...items]);
  }
  return {
    ...state,
    items,
    counts,
    seqs: { ...state.seqs, [t.incident_id]: t.seq },
    fresh: keep ? { ...state.fresh, [t.incident_id]: now } : state.fresh,
  };
}

/** Appends a further page (load more), skipping incidents already listed. */
export function appendPage(state: ListState, items: Incident[], next_cursor: string | null): ListState {
  const have = new Set(state.items.map((i) => i.id));
  return { ...state, items: [...state.items, ...items.filter((i) => !have.has(i.id))], next_cursor };
}

export function openCount(c: Counts): number {
  return c.pending + c.triggered + c.acknowledged;
}

/** The number a status tab shows. */
export function tabCount(c: Counts, f: StatusFilter): number {
  if (f === 'open') return openCount(c);
  if (f === 'all') return STATUSES.reduce((n, s) => n + c[s], 0);
  return c[f];
}
