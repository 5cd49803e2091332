// Typed client for the rtmon HTTP API (docs/api.md; the authority is /api/openapi.json).
// Times are ISO 8601 UTC strings; errors are {"error": "<field>: <problem>"} with a 4xx/5xx.

export const STATUSES = ['pending', 'triggered', 'acknowledged', 'resolved', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];
export const OPEN_STATUSES: readonly Status[] = ['pending', 'triggered', 'acknowledged'];
export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = string; // the rules file names them; the UI knows the four above

export type Labels = Record<string, string>;
export type Counts = Record<Status, number>;

export interface Incident {
  id: string;
  fingerprint: string;
  rule: string;
  service: string;
  severity: Severity;
  status: Status;
  summary: string;
  labels: Labels;
  group: Labels;
  last_value: number | null;
  breach_count: number;
  opened_at: string;
  last_seen_at: string | null;
  acknowledged_at: string | null;
  resolved_at: string | null;
  flapping: boolean;
  silenced: boolean;
}

export interface IncidentList {
  items: Incident[];
  next_cursor: string | null;
  counts: Counts;
}

export interface TimelineEntry {
  seq: number;
  stream_id: number | null;
  at: string;
  kind: string;
  from: string | null;
  to: string | null;
  actor: string | null;
  detail: string | null;
  value: number | null;
  notify: boolean;
}

export interface Attempt {
  attempt: number;
  started_at: string;
  latency_ms: number | null;
  status_code: number | null;
  outcome: 'delivered' | 'retry' | 'failed' | 'ambiguous' | 'muted' | string;
  retry_after_ms: number | null;
  error: string | null;
}

export interface Notification {
  id: string;
  channel: string;
  kind: 'slack' | 'email' | 'webhook' | string;
  event: string;
  seq: number;
  status: 'pending' | 'delivered' | 'failed' | 'muted' | string;
  attempts: number;
  ambiguous: number; // attempts whose outcome is unknown (a timeout after sending)
  created_at: string;
  done_at: string | null;
  last_error: string | null;
  /** Sent in one message with the other incidents of this group (a route's group_wait): the
   * group's values ("service=api"), "" for a whole-route group; null when not grouped. */
  group: string | null;
  attempt_log: Attempt[];
}

export interface IncidentDetail {
  incident: Incident;
  timeline: TimelineEntry[];
  notifications: Notification[];
}

export type ActionResult =
  | { kind: 'done'; command_id: string; seq: number; incident: Incident }
  | { kind: 'pending'; command_id: string };

export interface Silence {
  id: string;
  service: string | null;
  rule: string | null;
  severity: string | null;
  labels: Labels;
  ends_at: string | null;
  until_resolved: boolean;
  comment: string;
  created_by: string;
  created_at: string;
  deleted_at: string | null;
  active: boolean;
}

export interface NewSilence {
  service?: string;
  rule?: string;
  severity?: string;
  labels?: Labels;
  comment?: string;
  ends_at?: string;
  duration_s?: number;
  until_resolved?: true;
}

export interface MetricStats {
  name: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  count: number;
}

export interface ServiceStats {
  service: string;
  last_seen: string | null;
  logs_per_s: number;
  error_rate: number | null;
  metrics: MetricStats[];
  open_incidents: number;
  worst_severity: Severity | null;
}

export type Signal = 'log' | 'metric' | 'event';

export interface SeriesPoint {
  t: string;
  count: number;
  errors: number | null;
  error_rate: number | null;
  sum: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface Series {
  service: string;
  signal: Signal;
  name: string | null;
  width_s: number;
  points: SeriesPoint[];
}

export interface LogEntry {
  event_id: string;
  ts: string;
  service: string;
  host: string | null;
  level: string;
  message: string;
  attrs: Record<string, unknown> | null;
}

export interface EventEntry {
  event_id: string;
  ts: string;
  service: string;
  type: string;
  attrs: Record<string, unknown> | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface RuleState {
  service: string;
  group: Labels;
  status: Status;
  incident_id: string;
}

export interface Rule {
  name: string;
  kind: string;
  severity: Severity;
  summary: string;
  for_s: number;
  labels: Labels;
  states: RuleState[];
  // Not in the contract; used when the API provides them (the chart's threshold and metric).
  metric?: string | null;
  stat?: string | null;
  op?: string | null;
  threshold?: number | null;
  window?: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// Who acts: a name the user sets once (header), sent as X-Rtmon-User.
const USER_KEY = 'rtmon.user';
export function getUser(): string {
  try {
    return localStorage.getItem(USER_KEY) ?? '';
  } catch {
    return '';
  }
}
export function setUser(name: string): void {
  try {
    if (name) localStorage.setItem(USER_KEY, name);
    else localStorage.removeItem(USER_KEY);
  } catch {
    /* private mode: the name lasts this page only */
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=x` from the defined, non-empty values (in insertion order); '' if none. */
export function toQueryString(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; data: T }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const user = getUser();
  if (user && method !== 'GET') headers['X-Rtmon-User'] = user;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'the hub is unreachable (network error)');
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const msg =
      data && typeof data === 'object' && 'error' in data && typeof (data as { error: unknown }).error === 'string'
        ? (data as { error: string }).error
        : `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, msg, data);
  }
  return { status: res.status, data: data as T };
}

const get = async <T>(path: string, signal?: AbortSignal): Promise<T> => (await request<T>('GET', path, undefined, signal)).data;
const enc = encodeURIComponent;

export interface IncidentQuery {
  status?: string;
  service?: string;
  severity?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export interface LogQuery {
  service?: string;
  level?: string;
  q?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export interface EventQuery {
  service?: string;
  type?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

async function action(path: string, body?: unknown): Promise<ActionResult> {
  const { status, data } = await request<{ command_id: string; status: string; seq?: number; incident?: Incident }>(
    'POST',
    path,
    body ?? {},
  );
  if (status === 202 || data.status === 'pending' || !data.incident) return { kind: 'pending', command_id: data.command_id };
  return { kind: 'done', command_id: data.command_id, seq: data.seq ?? 0, incident: data.incident };
}

export const api = {
  incidents: (q: IncidentQuery, signal?: AbortSignal) => get<IncidentList>(`/api/incidents${toQueryString({ ...q })}`, signal),
  incident: (id: string, signal?: AbortSignal) => get<IncidentDetail>(`/api/incidents/${enc(id)}`, signal),
  acknowledge: (id: string) => action(`/api/incidents/${enc(id)}/acknowledge`),
  resolve: (id: string) => action(`/api/incidents/${enc(id)}/resolve`),
  note: (id: string, text: string) => action(`/api/incidents/${enc(id)}/notes`, { text }),
  silences: (active?: boolean, signal?: AbortSignal) =>
    get<Page<Silence>>(`/api/silences${toQueryString({ active })}`, signal),
  createSilence: async (s: NewSilence) => (await request<Silence>('POST', '/api/silences', s)).data,
  expireSilence: async (id: string) => (await request<Silence>('DELETE', `/api/silences/${enc(id)}`)).data,
  services: (signal?: AbortSignal) => get<{ items: ServiceStats[] }>('/api/services', signal),
  series: (service: string, q: { signal: Signal; name?: string; from?: string; to?: string }, signal?: AbortSignal) =>
    get<Series>(`/api/services/${enc(service)}/series${toQueryString({ ...q })}`, signal),
  logs: (q: LogQuery, signal?: AbortSignal) => get<Page<LogEntry>>(`/api/logs${toQueryString({ ...q })}`, signal),
  events: (q: EventQuery, signal?: AbortSignal) => get<Page<EventEntry>>(`/api/events${toQueryString({ ...q })}`, signal),
  rules: (signal?: AbortSignal) => get<{ items: Rule[] }>('/api/rules', signal),
};
