import { useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api, type SeriesPoint } from '../api';
import { Chart } from '../components/Chart';
import { Empty, ErrorState, Loading, PageHeader, SeverityBadge, StatusBadge, Time, fmtNum, fmtPct } from '../components/ui';
import { useAsync, useInterval } from '../hooks';
import { useStream } from '../streamContext';
import { RANGES, parseTime, rangeSeconds } from '../time';
import { LevelBadge } from './Logs';

const SERVICE_RANGES = RANGES.filter((r) => r.seconds <= 7 * 86400);

function toPoints(points: SeriesPoint[], f: (p: SeriesPoint) => number | null): Array<[number, number | null]> {
  return points.map((p) => [parseTime(p.t) ?? 0, f(p)]);
}

export default function ServicePage() {
  const { name = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const range = rangeSeconds(search.get('range') ?? '') !== null ? search.get('range')! : '1h';
  const [tick, setTick] = useState(0);
  // The window ends "now" as of the last (re)load; refreshed every 30 s.
  const { from, to } = useMemo(() => {
    const now = Date.now();
    return { from: new Date(now - (rangeSeconds(range) ?? 3600) * 1000).toISOString(), to: new Date(now).toISOString() };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [range, tick]);
  useInterval(() => setTick((t) => t + 1), 30000);

  const stats = useAsync((s) => api.services(s), [name, tick]);
  const svc = stats.data?.items.find((s) => s.service === name);
  const metricNames = useMemo(() => svc?.metrics.map((m) => m.name) ?? [], [svc]);
  const [metricChoice, setMetricChoice] = useState<string>('');
  const metric = metricChoice && metricNames.includes(metricChoice) ? metricChoice : (metricNames[0] ?? '');

  const logs = useAsync((s) => api.series(name, { signal: 'log', from, to }, s), [name, from, to]);
  const mseries = useAsync(
    (s) => (metric ? api.series(name, { signal: 'metric', name: metric, from, to }, s) : Promise.resolve(null)),
    [name, metric, from, to],
  );
  const recentLogs = useAsync((s) => api.logs({ service: name, from, limit: 15 }, s), [name, from]);
  const events = useAsync((s) => api.events({ service: name, from, limit: 15 }, s), [name, from]);
  const incidents = useAsync((s) => api.incidents({ service: name, status: 'open', limit: 10, from: new Date(Date.now() - 30 * 86400_000).toISOString() }, s), [name, tick]);
  useStream({
    transition: (t) => {
      if (t.service === name) incidents.reload(true);
    },
  });

  const xDomain: [number, number] = [parseTime(from)!, parseTime(to)!];
  const width = logs.data?.width_s ?? 10;

  return (
    <div>
      <PageHeader
        title={
          <span>
            <Link to="/services" className="link text-base font-normal">
              Services
            </Link>{' '}
            / {name}
          </span>
        }
      >
        {svc && (
          <span className="text-xs text-slate-400">
            now: {fmtNum(svc.logs_per_s)} logs/s · errors {fmtPct(svc.error_rate)} · last seen <Time iso={svc.last_seen} mode="ago" />
          </span>
        )}
        <label htmlFor="svc-range" className="sr-only">
          Time range
        </label>
        <select
          id="svc-range"
          value={range}
          onChange={(e) => {
            const p = new URLSearchParams(search);
            p.set('range', e.target.value);
            setSearch(p);
          }}
        >
          {SERVICE_RANGES.map((r) => (
            <option key={r.key} value={r.key}>
              {r.label}
            </option>
          ))}
        </select>
        <button type="button" className="btn" onClick={() => setTick((t) => t + 1)}>
          ↻ Refresh
        </button>
      </PageHeader>

      <div className="space-y-4 p-4">
        {incidents.data && incidents.data.items.length > 0 && (
          <section aria-label="Open incidents" className="card border-red-900/60 p-2">
            <h2 className="mb-1 px-1 text-sm font-semibold text-red-200">Open incidents</h2>
            <ul>
              {incidents.data.items.map((i) => (
                <li key={i.id} className="flex items-center gap-2 px-1 py-0.5 text-sm">
                  <SeverityBadge severity={i.severity} />
                  <StatusBadge status={i.status} />
                  <Link className="link" to={`/incidents/${encodeURIComponent(i.id)}`}>
                    {i.summary}
                  </Link>
                  <span className="ml-auto text-xs text-slate-500">
                    <Time iso={i.opened_at} />
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}

        {logs.error ? (
          <ErrorState error={logs.error} what="Could not load the log series" onRetry={() => logs.reload()} />
        ) : !logs.data ? (
          <Loading what="Loading charts" rows={3} />
        ) : (
          <div className="grid gap-4 xl:grid-cols-2">
            <Chart
              title={`Throughput (logs/s, ${width}s buckets)`}
              series={[{ label: 'logs/s', color: '#38bdf8', points: toPoints(logs.data.points, (p) => p.count / (logs.data!.width_s || 1)) }]}
              yFormat={(v) => fmtNum(v)}
              xDomain={xDomain}
            />
            <Chart
              title="Error rate"
              series={[{ label: 'error rate', color: '#fb923c', points: toPoints(logs.data.points, (p) => p.error_rate) }]}
              yFormat={fmtPct}
              xDomain={xDomain}
            />
          </div>
        )}

        <section aria-label="Latency">
          <div className="mb-1 flex items-center gap-2">
            <h2 className="text-sm font-semibold text-slate-200">Latency</h2>
            {metricNames.length > 1 && (
              <>
                <label htmlFor="svc-metric" className="sr-only">
                  Metric
                </label>
                <select id="svc-metric" value={metric} onChange={(e) => setMetricChoice(e.target.value)}>
                  {metricNames.map((m) => (
                    <option key={m} value={m}>
                      {m}
                    </option>
                  ))}
                </select>
              </>
            )}
          </div>
          {!metric ? (
            stats.loading ? (
              <Loading what="Loading metrics" rows={1} />
            ) : (
              <Empty title="No metrics from this service in the last 5 minutes">Latency charts show once it sends metrics.</Empty>
            )
          ) : mseries.error ? (
            <ErrorState error={mseries.error} what={`Could not load ${metric}`} onRetry={() => mseries.reload()} />
          ) : !mseries.data ? (
            <Loading what={`Loading ${metric}`} rows={2} />
          ) : (
            <Chart
              title={`${metric} percentiles`}
              series={[
                { label: 'p50', color: '#34d399', points: toPoints(mseries.data.points, (p) => p.p50) },
                { label: 'p95', color: '#fbbf24', points: toPoints(mseries.data.points, (p) => p.p95) },
                { label: 'p99', color: '#f87171', points: toPoints(mseries.data.points, (p) => p.p99) },
              ]}
              yFormat={(v) => fmtNum(v)}
              xDomain={xDomain}
              height={200}
            />
          )}
        </section>

        <div className="grid gap-4 xl:grid-cols-2">
          <section className="card p-2" aria-labelledby="rl-h">
            <div className="mb-1 flex items-center px-1">
              <h2 id="rl-h" className="text-sm font-semibold text-slate-200">
                Recent logs
              </h2>
              <Link className="link ml-auto text-xs" to={`/logs?service=${encodeURIComponent(name)}`}>
                Open in logs explorer →
              </Link>
            </div>
            {recentLogs.error ? (
              <ErrorState error={recentLogs.error} onRetry={() => recentLogs.reload()} />
            ) : !recentLogs.data ? (
              <Loading rows={4} />
            ) : recentLogs.data.items.length === 0 ? (
              <Empty title="No logs in this range" />
            ) : (
              <ul className="divide-y divide-slate-800/70 font-mono text-xs">
                {recentLogs.data.items.map((l) => (
                  <li key={l.event_id} className="flex gap-2 px-1 py-0.5">
                    <span className="text-slate-500">
                      <Time iso={l.ts} />
                    </span>
                    <LevelBadge level={l.level} />
                    <span className="truncate text-slate-200" title={l.message}>
                      {l.message}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section className="card p-2" aria-labelledby="ev-h">
            <h2 id="ev-h" className="mb-1 px-1 text-sm font-semibold text-slate-200">
              Recent events
            </h2>
            {events.error ? (
              <ErrorState error={events.error} onRetry={() => events.reload()} />
            ) : !events.data ? (
              <Loading rows={4} />
            ) : events.data.items.length === 0 ? (
              <Empty title="No events in this range">Deploys, restarts and other events show here.</Empty>
            ) : (
              <ul className="divide-y divide-slate-800/70 text-xs">
                {events.data.items.map((e) => (
                  <li key={e.event_id} className="flex gap-2 px-1 py-0.5">
                    <span className="font-mono text-slate-500">
                      <Time iso={e.ts} />
                    </span>
                    <span className="font-medium text-sky-300">{e.type}</span>
                    <span className="truncate font-mono text-slate-400" title={JSON.stringify(e.attrs)}>
                      {e.attrs ? Object.entries(e.attrs).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : ''}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      </div>
    </div>
  );
}
