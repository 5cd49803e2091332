import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, type ServiceStats } from '../api';
import { Empty, ErrorState, Loading, PageHeader, SEV_RANK, SeverityBadge, Time, fmtNum, fmtPct, useNow } from '../components/ui';
import { useAsync } from '../hooks';
import { useLiveStats } from '../streamContext';

export function errorRateClass(r: number | null): string {
  if (r === null) return 'text-slate-500';
  if (r >= 0.05) return 'text-red-300 font-semibold';
  if (r >= 0.01) return 'text-amber-300';
  return 'text-emerald-300';
}

function RateBar({ rate }: { rate: number | null }) {
  const w = rate === null ? 0 : Math.min(100, Math.max(rate > 0 ? 2 : 0, rate * 100 * 4)); // 25 % fills the bar
  const color = rate === null ? 'bg-slate-700' : rate >= 0.05 ? 'bg-red-500' : rate >= 0.01 ? 'bg-amber-400' : 'bg-emerald-500';
  return (
    <span aria-hidden className="inline-block h-1.5 w-20 overflow-hidden rounded bg-slate-800 align-middle">
      <span className={`block h-full ${color}`} style={{ width: `${w}%` }} />
    </span>
  );
}

/** Worst first: open incidents by severity, then error rate, then name. */
export function sortServices(items: ServiceStats[]): ServiceStats[] {
  return [...items].sort((a, b) => {
    const sa = a.open_incidents > 0 ? (SEV_RANK[a.worst_severity ?? ''] ?? 4) : 9;
    const sb = b.open_incidents > 0 ? (SEV_RANK[b.worst_severity ?? ''] ?? 4) : 9;
    if (sa !== sb) return sa - sb;
    const ea = a.error_rate ?? -1;
    const eb = b.error_rate ?? -1;
    if (ea !== eb) return eb - ea;
    return a.service.localeCompare(b.service);
  });
}

export default function ServicesPage() {
  const res = useAsync((s) => api.services(s), []);
  const live = useLiveStats();
  const [items, setItems] = useState<ServiceStats[] | null>(null);
  const [updated, setUpdated] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const now = useNow(5000);

  useEffect(() => {
    if (res.data) {
      setItems(res.data.items);
      setUpdated(new Date().toISOString());
    }
  }, [res.data]);
  useEffect(() => {
    if (live) {
      setItems(live.items);
      setUpdated(live.at);
    }
  }, [live]);

  const shown = useMemo(() => sortServices((items ?? []).filter((s) => !filter || s.service.includes(filter))), [items, filter]);

  return (
    <div>
      <PageHeader title="Services">
        <span className="text-xs text-slate-500">
          last 5 minutes · updated <Time iso={updated} mode="ago" now={now} />
        </span>
        <label htmlFor="svc-filter" className="sr-only">
          Filter services
        </label>
        <input id="svc-filter" placeholder="filter…" value={filter} onChange={(e) => setFilter(e.target.value)} className="w-40" />
      </PageHeader>
      {res.error && !items ? (
        <ErrorState error={res.error} what="Could not load services" onRetry={() => res.reload()} />
      ) : !items ? (
        <Loading what="Loading services" rows={5} />
      ) : shown.length === 0 ? (
        <Empty title={filter ? 'No service matches' : 'No service has sent data in the last 5 minutes'}>
          Services appear here once they send logs, metrics or events to the hub.
        </Empty>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-sm" aria-label="Services" data-testid="services-table">
            <thead className="border-b border-slate-800">
              <tr>
                <th className="th">Service</th>
                <th className="th">Incidents</th>
                <th className="th text-right">Logs/s</th>
                <th className="th">Error rate</th>
                <th className="th">Latency (p50 / p95 / p99)</th>
                <th className="th">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr key={s.service} className="border-b border-slate-800/70 hover:bg-slate-800/40" data-service={s.service}>
                  <td className="td font-medium">
                    <Link className="link" to={`/services/${encodeURIComponent(s.service)}`}>
                      {s.service}
                    </Link>
                  </td>
                  <td className="td">
                    {s.open_incidents > 0 ? (
                      <Link to={`/incidents?service=${encodeURIComponent(s.service)}`} className="inline-flex items-center gap-1.5 hover:underline">
                        <SeverityBadge severity={s.worst_severity} />
                        <span>{s.open_incidents} open</span>
                      </Link>
                    ) : (
                      <span className="text-emerald-400/80">ok</span>
                    )}
                  </td>
                  <td className="td text-right font-mono">{fmtNum(s.logs_per_s)}</td>
                  <td className="td whitespace-nowrap">
                    <RateBar rate={s.error_rate} /> <span className={`ml-1 font-mono ${errorRateClass(s.error_rate)}`}>{fmtPct(s.error_rate)}</span>
                  </td>
                  <td className="td">
                    {s.metrics.length === 0 ? (
                      <span className="text-slate-500">no metrics</span>
                    ) : (
                      <ul className="space-y-0.5">
                        {s.metrics.slice(0, 4).map((m) => (
                          <li key={m.name} className="flex gap-2 font-mono text-xs">
                            <span className="w-32 truncate text-slate-400" title={m.name}>
                              {m.name}
                            </span>
                            <span>
                              {fmtNum(m.p50)} / {fmtNum(m.p95)} / <span className="text-slate-100">{fmtNum(m.p99)}</span>
                            </span>
                            <span className="text-slate-500">n={m.count}</span>
                          </li>
                        ))}
                        {s.metrics.length > 4 && <li className="text-xs text-slate-500">+{s.metrics.length - 4} more</li>}
                      </ul>
                    )}
                  </td>
                  <td className="td text-slate-400">
                    <Time iso={s.last_seen} mode="ago" now={now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
