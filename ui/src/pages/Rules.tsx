import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api';
import { Chips, Empty, ErrorState, Loading, PageHeader, SeverityBadge, StatusBadge } from '../components/ui';
import { useAsync } from '../hooks';
import { useStream } from '../streamContext';
import { fmtDuration } from '../time';

export default function RulesPage() {
  const rules = useAsync((s) => api.rules(s), []);
  const [filter, setFilter] = useState('');
  // Rule states are the rules' open incidents: follow them live.
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const soon = () => {
    if (!timer.current) timer.current = setTimeout(() => ((timer.current = null), rules.reload(true)), 1000);
  };
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  useStream({ transition: soon, reset: soon });
  const items = (rules.data?.items ?? []).filter((r) => !filter || r.name.includes(filter) || r.states.some((s) => s.service.includes(filter)));
  return (
    <div>
      <PageHeader title="Rules">
        <Link to="/silences" className="link text-sm">
          Silences →
        </Link>
        <label htmlFor="r-filter" className="sr-only">
          Filter rules
        </label>
        <input id="r-filter" placeholder="rule or service…" value={filter} onChange={(e) => setFilter(e.target.value)} className="w-48" />
      </PageHeader>
      {rules.error && !rules.data ? (
        <ErrorState error={rules.error} what="Could not load rules" onRetry={() => rules.reload()} />
      ) : !rules.data ? (
        <Loading what="Loading rules" rows={4} />
      ) : items.length === 0 ? (
        <Empty title={filter ? 'No rule matches' : 'No rules are loaded'}>Rules come from the hub's rules file (config/rules.json); SIGHUP reloads it.</Empty>
      ) : (
        <table className="w-full text-sm" aria-label="Rules" data-testid="rules-table">
          <thead className="border-b border-slate-800">
            <tr>
              <th className="th">Rule</th>
              <th className="th">Severity</th>
              <th className="th">Kind</th>
              <th className="th">For</th>
              <th className="th">Summary</th>
              <th className="th">Firing</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.name} className="border-b border-slate-800/70" data-rule={r.name}>
                <td className="td font-mono font-medium text-slate-100">
                  {r.name}
                  <Chips labels={r.labels} className="mt-0.5 block" />
                </td>
                <td className="td">
                  <SeverityBadge severity={r.severity} />
                </td>
                <td className="td text-slate-300">{r.kind}</td>
                <td className="td text-slate-300">{r.for_s ? fmtDuration(r.for_s * 1000) : 'at once'}</td>
                <td className="td max-w-md font-mono text-xs text-slate-400">{r.summary}</td>
                <td className="td">
                  {r.states.length === 0 ? (
                    <span className="text-emerald-400/80">ok everywhere</span>
                  ) : (
                    <ul className="space-y-0.5">
                      {r.states.map((s) => (
                        <li key={s.incident_id} className="flex items-center gap-2">
                          <StatusBadge status={s.status} />
                          <Link className="link" to={`/incidents/${encodeURIComponent(s.incident_id)}`}>
                            {s.service}
                          </Link>
                          <Chips labels={s.group} />
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
