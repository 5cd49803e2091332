import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { fmtAxis, fmtTime, utcTitle } from '../time';

export interface ChartSeries {
  label: string;
  color: string;
  /** [time ms, value or null for a gap] */
  points: Array<[number, number | null]>;
}

export interface ChartProps {
  title: string;
  series: ChartSeries[];
  height?: number;
  yFormat?: (v: number) => string;
  threshold?: { value: number; label: string } | null;
  markers?: Array<{ t: number; label: string; color: string }>;
  xDomain?: [number, number];
  /** Lower bound of the y axis (0 by default; null = from the data). */
  yFloor?: number | null;
}

const PAD = { l: 52, r: 12, t: 8, b: 22 };

function niceTicks(min: number, max: number, n = 4): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function timeTicks(a: number, b: number, width: number): number[] {
  const n = Math.max(2, Math.floor(width / 90));
  const span = b - a;
  const steps = [10e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 172800e3, 604800e3];
  const step = steps.find((s) => span / s <= n) ?? steps[steps.length - 1]!;
  const out: number[] = [];
  // Align to local wall-clock multiples (offset of the viewer's zone).
  const off = new Date(a).getTimezoneOffset() * 60e3;
  for (let t = Math.ceil((a - off) / step) * step + off; t <= b; t += step) out.push(t);
  return out;
}

export function Chart({ title, series, height = 160, yFormat = (v) => String(v), threshold, markers = [], xDomain, yFloor = 0 }: ChartProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  const [hover, setHover] = useState<number | null>(null); // index into `times`

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver((es) => {
      const w = es[0]?.contentRect.width;
      if (w && w > 50) setWidth(Math.floor(w));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const times = useMemo(() => {
    const s = new Set<number>();
    for (const se of series) for (const [t] of se.points) s.add(t);
    return [...s].sort((a, b) => a - b);
  }, [series]);

  const { x0, x1, y0, y1 } = useMemo(() => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const se of series)
      for (const [, v] of se.points)
        if (v !== null && Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
    if (threshold) {
      lo = Math.min(lo, threshold.value);
      hi = Math.max(hi, threshold.value);
    }
    if (!Number.isFinite(lo)) {
      lo = 0;
      hi = 1;
    }
    if (yFloor !== null) lo = Math.min(yFloor, lo);
    if (hi === lo) hi = lo + (Math.abs(lo) || 1);
    hi += (hi - lo) * 0.08;
    const a = xDomain?.[0] ?? times[0] ?? Date.now() - 3600e3;
    const b = xDomain?.[1] ?? times[times.length - 1] ?? Date.now();
    return { x0: a, x1: b > a ? b : a + 1, y0: lo, y1: hi };
  }, [series, threshold, xDomain, times, yFloor]);

  const W = width;
  const H = height;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const sx = (t: number) => PAD.l + ((t - x0) / (x1 - x0)) * iw;
  const sy = (v: number) => PAD.t + ih - ((v - y0) / (y1 - y0)) * ih;

  const paths = series.map((se) => {
    let d = '';
    let pen = false;
    for (const [t, v] of se.points) {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${sx(t).toFixed(1)},${sy(v).toFixed(1)}`;
      pen = true;
    }
    return d;
  });
  const dots = series.map((se) => (se.points.filter(([, v]) => v !== null).length <= 2 ? se.points : []));

  const yTicks = niceTicks(y0, y1);
  const xTicks = timeTicks(x0, x1, iw);
  const hasData = series.some((s) => s.points.some(([, v]) => v !== null));

  const pick = (clientX: number, rect: DOMRect) => {
    if (!times.length) return;
    const t = x0 + ((clientX - rect.left - PAD.l) / iw) * (x1 - x0);
    let best = 0;
    for (let i = 1; i < times.length; i++) if (Math.abs(times[i]! - t) < Math.abs(times[best]! - t)) best = i;
    setHover(best);
  };
  const onKey = (e: KeyboardEvent) => {
    if (!times.length) return;
    if (e.key === 'ArrowLeft') setHover((h) => Math.max(0, (h ?? times.length) - 1));
    else if (e.key === 'ArrowRight') setHover((h) => Math.min(times.length - 1, (h ?? -1) + 1));
    else if (e.key === 'Escape') setHover(null);
    else return;
    e.preventDefault();
  };
  const ht = hover !== null ? times[hover] : undefined;

  return (
    <figure className="card p-2">
      <figcaption className="mb-1 flex flex-wrap items-center gap-x-3 gap-y-0.5 px-1 text-xs">
        <span className="font-semibold text-slate-200">{title}</span>
        {series.length > 1 &&
          series.map((s) => (
            <span key={s.label} className="inline-flex items-center gap-1 text-slate-400">
              <span aria-hidden className="inline-block h-0.5 w-3" style={{ background: s.color }} />
              {s.label}
            </span>
          ))}
        {threshold && (
          <span className="inline-flex items-center gap-1 text-red-300">
            <span aria-hidden className="inline-block w-3 border-t border-dashed border-red-400" />
            {threshold.label}
          </span>
        )}
      </figcaption>
      <div ref={wrap} className="relative">
        <svg
          width={W}
          height={H}
          role="img"
          aria-label={`${title} chart${hasData ? '' : ' (no data)'}; use the arrow keys to read values`}
          tabIndex={0}
          onKeyDown={onKey}
          onMouseMove={(e) => pick(e.clientX, e.currentTarget.getBoundingClientRect())}
          onMouseLeave={() => setHover(null)}
          onBlur={() => setHover(null)}
          className="block"
        >
          {yTicks.map((v) => (
            <g key={`y${v}`}>
              <line x1={PAD.l} x2={W - PAD.r} y1={sy(v)} y2={sy(v)} stroke="#1e293b" />
              <text x={PAD.l - 6} y={sy(v) + 3} textAnchor="end" fontSize={10} fill="#64748b">
                {yFormat(v)}
              </text>
            </g>
          ))}
          {xTicks.map((t) => (
            <text key={`x${t}`} x={sx(t)} y={H - 6} textAnchor="middle" fontSize={10} fill="#64748b">
              {fmtAxis(t, x1 - x0)}
            </text>
          ))}
          {markers.map((m, k) =>
            m.t >= x0 && m.t <= x1 ? (
              <g key={`m${m.t}${m.label}`}>
                <line x1={sx(m.t)} x2={sx(m.t)} y1={PAD.t} y2={PAD.t + ih} stroke={m.color} strokeDasharray="2 3" />
                <text
                  x={sx(m.t) > W - 70 ? sx(m.t) - 3 : sx(m.t) + 3}
                  textAnchor={sx(m.t) > W - 70 ? 'end' : 'start'}
                  y={PAD.t + 9 + k * 11}
                  fontSize={10}
                  fill={m.color}
                >
                  {m.label}
                </text>
              </g>
            ) : null,
          )}
          {threshold && (
            <line x1={PAD.l} x2={W - PAD.r} y1={sy(threshold.value)} y2={sy(threshold.value)} stroke="#f87171" strokeDasharray="5 4" />
          )}
          {paths.map((d, i) => (
            <path key={series[i]!.label} d={d} fill="none" stroke={series[i]!.color} strokeWidth={1.6} strokeLinejoin="round" />
          ))}
          {dots.map((pts, i) =>
            pts.map(([t, v]) => (v === null ? null : <circle key={`${i}-${t}`} cx={sx(t)} cy={sy(v)} r={2.5} fill={series[i]!.color} />)),
          )}
          {ht !== undefined && <line x1={sx(ht)} x2={sx(ht)} y1={PAD.t} y2={PAD.t + ih} stroke="#94a3b8" strokeWidth={0.8} />}
          {!hasData && (
            <text x={PAD.l + iw / 2} y={PAD.t + ih / 2} textAnchor="middle" fontSize={12} fill="#64748b">
              No data in this range
            </text>
          )}
        </svg>
        {ht !== undefined && (
          <div
            className="pointer-events-none absolute top-1 z-10 rounded border border-slate-700 bg-slate-950/95 px-2 py-1 text-xs shadow-lg"
            style={sx(ht) > W / 2 ? { right: W - sx(ht) + 8 } : { left: sx(ht) + 8 }}
            title={utcTitle(new Date(ht).toISOString())}
          >
            <div className="mb-0.5 text-slate-400">{fmtTime(new Date(ht).toISOString())}</div>
            {series.map((s) => {
              const p = s.points.find(([t]) => t === ht);
              return (
                <div key={s.label} className="flex items-center gap-2">
                  <span aria-hidden className="inline-block h-2 w-2 rounded-sm" style={{ background: s.color }} />
                  <span className="text-slate-300">{s.label}</span>
                  <span className="ml-auto pl-3 font-mono text-slate-100">{p && p[1] !== null ? yFormat(p[1]) : '—'}</span>
                </div>
              );
            })}
          </div>
        )}
      </div>
    </figure>
  );
}
