// Time formatting: times are shown in the viewer's time zone, with UTC on hover (title).

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "2026-11-24 10:00:00.123 UTC" for a title tooltip. */
export function utcTitle(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) return '';
  const d = new Date(t);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} UTC`
  );
}

interface Parts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

const partsCache = new Map<string, Intl.DateTimeFormat>();
function parts(t: number, timeZone?: string): Parts {
  const key = timeZone ?? '';
  let f = partsCache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: 'short',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    partsCache.set(key, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(t))) out[p.type] = p.value;
  return out as unknown as Parts;
}

/**
 * A compact local time: "14:03:07" when it is the same day as `now` (in the zone), else
 * "24 Nov 14:03", or "24 Nov 2025 14:03" in another year.
 */
export function fmtTime(iso: string | null | undefined, now: number = Date.now(), timeZone?: string): string {
  const t = parseTime(iso);
  if (t === null) return '—';
  const p = parts(t, timeZone);
  const n = parts(now, timeZone);
  const hms = `${p.hour}:${p.minute}:${p.second}`;
  if (p.year === n.year && p.month === n.month && p.day === n.day) return hms;
  if (p.year === n.year) return `${p.day} ${p.month} ${p.hour}:${p.minute}`;
  return `${p.day} ${p.month} ${p.year} ${p.hour}:${p.minute}`;
}

/** Full local date and time: "24 Nov 2026 14:03:07". */
export function fmtDateTime(iso: string | null | undefined, timeZone?: string): string {
  const t = parseTime(iso);
  if (t === null) return '—';
  const p = parts(t, timeZone);
  return `${p.day} ${p.month} ${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** Chart axis label in the viewer's zone: "14:03" (or "24 Nov" for ranges over 2 days). */
export function fmtAxis(t: number, spanMs: number, timeZone?: string): string {
  const p = parts(t, timeZone);
  if (spanMs > 2 * 86400_000) return `${p.day} ${p.month}`;
  if (spanMs <= 10 * 60_000) return `${p.hour}:${p.minute}:${p.second}`;
  return `${p.hour}:${p.minute}`;
}

/** "45s", "12m", "3h 5m", "2d 4h": the largest two units, for durations. */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** "just now", "12s ago", "3h 5m ago" ("in 5s" for times a little ahead of the clock). */
export function fmtAgo(iso: string | null | undefined, now: number = Date.now()): string {
  const t = parseTime(iso);
  if (t === null) return '—';
  const d = now - t;
  if (Math.abs(d) < 2000) return 'just now';
  if (d < 0) return `in ${fmtDuration(-d)}`;
  return `${fmtDuration(d)} ago`;
}

export interface RangePreset {
  key: string;
  label: string;
  seconds: number;
}

export const RANGES: RangePreset[] = [
  { key: '15m', label: 'Last 15 min', seconds: 15 * 60 },
  { key: '1h', label: 'Last hour', seconds: 3600 },
  { key: '6h', label: 'Last 6 hours', seconds: 6 * 3600 },
  { key: '24h', label: 'Last 24 hours', seconds: 86400 },
  { key: '7d', label: 'Last 7 days', seconds: 7 * 86400 },
  { key: '30d', label: 'Last 30 days', seconds: 30 * 86400 },
];

export function rangeSeconds(key: string): number | null {
  return RANGES.find((r) => r.key === key)?.seconds ?? null;
}

/** ISO `from` for a preset ending now ("" for an unknown key: the API's default applies). */
export function rangeFrom(key: string, now: number = Date.now()): string {
  const s = rangeSeconds(key);
  return s === null ? '' : new Date(now - s * 1000).toISOString();
}

/** Value for <input type="datetime-local"> in the viewer's zone, and back to ISO UTC. */
export function toLocalInput(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) return '';
  const d = new Date(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function fromLocalInput(v: string): string {
  if (!v) return '';
  const t = new Date(v).getTime(); // "YYYY-MM-DDTHH:MM" without a zone is local time
  return Number.isNaN(t) ? '' : new Date(t).toISOString();
}
