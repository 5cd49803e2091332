// "k=v, k2=v2" <-> {k: v, k2: v2} for the silence form.
import type { Labels } from './api';

export function parseLabels(text: string): { labels: Labels; error: string | null } {
  const labels: Labels = {};
  for (const raw of text.split(/[,\n]/)) {
    const part = raw.trim();
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return { labels, error: `"${part}" is not key=value` };
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!k) return { labels, error: `"${part}" has no key` };
    labels[k] = v;
  }
  return { labels, error: null };
}

export function formatLabels(l: Labels | null | undefined): string {
  return Object.entries(l ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
