import { useEffect, useState, type ReactNode } from 'react';
import { ApiError } from '../api';
import { fmtAgo, fmtDateTime, fmtTime, utcTitle } from '../time';

/** A time in the viewer's zone, UTC in the tooltip. */
export function Time({ iso, mode = 'short', now }: { iso: string | null | undefined; mode?: 'short' | 'full' | 'ago'; now?: number }) {
  if (!iso) return <span className="text-slate-500">—</span>;
  const text = mode === 'full' ? fmtDateTime(iso) : mode === 'ago' ? fmtAgo(iso, now) : fmtTime(iso, now);
  const title = mode === 'ago' ? `${fmtDateTime(iso)} local · ${utcTitle(iso)}` : utcTitle(iso);
  return (
    <time dateTime={iso} title={title} className="whitespace-nowrap">
      {text}
    </time>
  );
}

const SEV: Record<string, string> = {
  critical: 'bg-red-600 text-white border-red-500',
  error: 'bg-orange-600 text-white border-orange-500',
  warning: 'bg-amber-400 text-slate-950 border-amber-300',
  info: 'bg-sky-700 text-white border-sky-600',
};
export const SEV_BAR: Record<string, string> = {
  critical: 'bg-red-500',
  error: 'bg-orange-500',
  warning: 'bg-amber-400',
  info: 'bg-sky-500',
};
export const SEV_RANK: Record<string, number> = { critical: 0, error: 1, warning: 2, info: 3 };

export function SeverityBadge({ severity }: { severity: string | null | undefined }) {
  if (!severity) return <span className="text-slate-500">—</span>;
  return (
    <span
      className={`inline-block rounded border px-1.5 py-px text-[11px] font-bold uppercase tracking-wide ${SEV[severity] ?? 'border-slate-500 bg-slate-700 text-white'}`}
    >
      {severity}
    </span>
  );
}

const STATUS: Record<string, string> = {
  triggered: 'text-red-300 border-red-500/60 bg-red-500/10',
  pending: 'text-amber-200 border-amber-400/60 bg-amber-400/10',
  acknowledged: 'text-violet-200 border-violet-400/60 bg-violet-500/10',
  resolved: 'text-emerald-300 border-emerald-500/60 bg-emerald-500/10',
  cancelled: 'text-slate-300 border-slate-500/60 bg-slate-500/10',
};
const STATUS_DOT: Record<string, string> = {
  triggered: 'bg-red-500 animate-pulse',
  pending: 'bg-amber-400',
  acknowledged: 'bg-violet-400',
  resolved: 'bg-emerald-500',
  cancelled: 'bg-slate-400',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span
      data-status={status}
      className={`inline-flex items-center gap-1.5 rounded-full border px-2 py-px text-xs font-medium ${STATUS[status] ?? 'border-slate-500 text-slate-300'}`}
    >
      <span aria-hidden className={`h-1.5 w-1.5 rounded-full ${STATUS_DOT[status] ?? 'bg-slate-400'}`} />
      {status}
    </span>
  );
}

export function Chips({ labels, className = '' }: { labels: Record<string, string> | null | undefined; className?: string }) {
  const entries = Object.entries(labels ?? {});
  if (!entries.length) return null;
  return (
    <span className={`inline-flex flex-wrap gap-1 ${className}`}>
      {entries.map(([k, v]) => (
        <span key={k} className="rounded bg-slate-800 px-1.5 py-px font-mono text-[11px] text-slate-300">
          {k}={v}
        </span>
      ))}
    </span>
  );
}

export function Loading({ what = 'Loading', rows = 3 }: { what?: string; rows?: number }) {
  return (
    <div role="status" aria-live="polite" className="space-y-2 p-4">
      <span className="sr-only">{what}…</span>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="h-5 animate-pulse rounded bg-slate-800/80" style={{ width: `${90 - i * 12}%` }} />
      ))}
      <p className="text-xs text-slate-500" aria-hidden>
        {what}…
      </p>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center gap-1 px-4 py-10 text-center">
      <p className="text-sm font-medium text-slate-300">{title}</p>
      {children && <div className="max-w-md text-xs text-slate-500">{children}</div>}
    </div>
  );
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.status ? `${e.status}: ${e.message}` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function ErrorState({ error, onRetry, what = 'Could not load' }: { error: unknown; onRetry?: () => void; what?: string }) {
  return (
    <div role="alert" className="m-3 flex items-start gap-3 rounded border border-red-500/50 bg-red-950/40 p-3 text-sm">
      <span aria-hidden className="mt-0.5 text-red-400">●</span>
      <div className="flex-1">
        <p className="font-medium text-red-200">{what}</p>
        <p className="mt-0.5 font-mono text-xs text-red-300/90">{errorText(error)}</p>
      </div>
      {onRetry && (
        <button type="button" className="btn btn-sm" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** A short-lived message after an action (success or failure). */
export function Toast({ kind, text, onClose }: { kind: 'ok' | 'error' | 'info'; text: string; onClose: () => void }) {
  useEffect(() => {
    if (kind === 'error') return;
    const t = setTimeout(onClose, 6000);
    return () => clearTimeout(t);
  }, [kind, onClose]);
  const cls =
    kind === 'ok'
      ? 'border-emerald-500/60 bg-emerald-950/70 text-emerald-200'
      : kind === 'error'
        ? 'border-red-500/60 bg-red-950/70 text-red-200'
        : 'border-sky-500/60 bg-sky-950/70 text-sky-200';
  return (
    <div role={kind === 'error' ? 'alert' : 'status'} className={`flex items-start gap-2 rounded border px-3 py-2 text-sm ${cls}`}>
      <span className="flex-1">{text}</span>
      <button type="button" className="text-xs opacity-70 hover:opacity-100" onClick={onClose} aria-label="Dismiss">
        ✕
      </button>
    </div>
  );
}

/** Re-renders every `ms` (relative times, "open for"). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function fmtNum(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a >= 100) return v.toFixed(0);
  return String(Number(v.toPrecision(digits)));
}

export function fmtPct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const p = v * 100;
  if (p === 0) return '0%';
  return `${p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toFixed(2)}%`;
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-800 px-4 py-2">
      <h1 className="text-lg font-semibold text-slate-100">{title}</h1>
      <div className="flex flex-wrap items-center gap-2">{children}</div>
    </div>
  );
}
