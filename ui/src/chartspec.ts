// What the incident page charts: the rule's signal around the breach, with its threshold.
import type { Incident, Rule, Signal } from './api';
import { parseTime } from './time';

/** The threshold a rendered summary names, e.g. "... (> 0.05)" or "(> 500 ms)". */
export function parseThreshold(summary: string | null | undefined): { op: string; value: number } | null {
  if (!summary) return null;
  const m = /\((>=|<=|>|<|==|!=)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(%?)[^)]*\)/i.exec(summary);
  if (!m) return null;
  // "(> 5%)": ratios are written as percentages in summaries, charted as fractions.
  const value = Number(m[2]) / (m[3] ? 100 : 1);
  return Number.isFinite(value) ? { op: m[1]!, value } : null;
}

/** A metric the summary mentions ("p95 response time" -> response_time), among known names. */
export function guessMetric(summary: string, names: string[]): string | null {
  if (names.length === 1) return names[0]!;
  const s = ` ${summary.toLowerCase().replace(/[^a-z0-9_.-]+/g, ' ')} `;
  const has = (w: string) => s.includes(` ${w} `);
  const hit = names.filter((n) => has(n.toLowerCase()) || has(n.toLowerCase().replace(/[_.-]+/g, ' ')));
  hit.sort((a, b) => b.length - a.length);
  return hit[0] ?? null;
}

export function guessStat(summary: string, rule?: Rule): 'p50' | 'p95' | 'p99' {
  const st = (rule?.stat ?? '').toLowerCase();
  if (st === 'p50' || st === 'p95' || st === 'p99') return st;
  const m = /\b(p50|p95|p99)\b/i.exec(summary);
  return (m?.[1]?.toLowerCase() as 'p50' | 'p95' | 'p99' | undefined) ?? 'p95';
}

export interface ChartSpec {
  signal: Signal;
  name?: string;
  /** Which point field is plotted. */
  field: 'error_rate' | 'p50' | 'p95' | 'p99' | 'count';
  label: string;
  threshold: number | null;
  from: string;
  to: string;
}

const MAX_RANGE_MS = 31 * 86400_000;

/** The time range around the breach: 30 min before it opened until 15 min after it resolved (or now). */
export function breachRange(inc: Pick<Incident, 'opened_at' | 'resolved_at'>, now: number = Date.now()): { from: string; to: string } {
  const opened = parseTime(inc.opened_at) ?? now - 3600_000;
  const end = Math.min(now, (parseTime(inc.resolved_at) ?? now) + 15 * 60_000);
  let from = opened - 30 * 60_000;
  if (end - from > MAX_RANGE_MS) from = end - MAX_RANGE_MS;
  return { from: new Date(from).toISOString(), to: new Date(Math.max(end, from + 60_000)).toISOString() };
}

export function chartSpec(inc: Incident, rule: Rule | undefined, metricNames: string[], now: number = Date.now()): ChartSpec {
  const kind = (rule?.kind ?? '').toLowerCase();
  const threshold = typeof rule?.threshold === 'number' ? rule.threshold : (parseThreshold(inc.summary)?.value ?? null);
  const range = breachRange(inc, now);
  if (kind.includes('error') || (!kind && /error/i.test(inc.rule))) {
    return { signal: 'log', field: 'error_rate', label: 'error rate', threshold, ...range };
  }
  if (kind === 'threshold' || kind.includes('metric') || rule?.metric) {
    const name = rule?.metric ?? guessMetric(inc.summary, metricNames) ?? undefined;
    const stat = guessStat(inc.summary, rule);
    if (name) return { signal: 'metric', name, field: stat, label: `${name} ${stat}`, threshold, ...range };
  }
  if (kind.includes('event')) return { signal: 'event', field: 'count', label: 'events', threshold: null, ...range };
  return { signal: 'log', field: 'count', label: 'log lines', threshold: null, ...range };
}
