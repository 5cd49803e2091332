import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api, SEVERITIES, type Incident } from '../api';
import {
  appendPage,
  filterFromSearch,
  filterToQuery,
  filterToSearch,
  initialList,
  mergeTransition,
  tabCount,
  type IncidentFilter,
  type ListState,
  type StatusFilter,
  type Transition,
} from '../incidents';
import { useStream } from '../streamContext';
import { RANGES, fmtDuration, parseTime } from '../time';
import { Chips, Empty, ErrorState, Loading, PageHeader, SEV_BAR, SeverityBadge, StatusBadge, Time, Toast, errorText, fmtNum, useNow } from '../components/ui';

const TABS: Array<{ key: StatusFilter; label: string }> = [
  { key: 'open', label: 'Open' },
  { key: 'triggered', label: 'Triggered' },
  { key: 'acknowledged', label: 'Acknowledged' },
  { key: 'pending', label: 'Pending' },
  { key: 'resolved', label: 'Resolved' },
  { key: 'cancelled', label: 'Cancelled' },
  { key: 'all', label: 'All' },
];

function useServiceNames(): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    const ctl = new AbortController();
    api
      .services(ctl.signal)
      .then((r) => setNames(r.items.map((s) => s.service).sort()))
      .catch(() => undefined);
    return () => ctl.abort();
  }, []);
  return names;
}

export default function IncidentsPage() {
  const [search, setSearch] = useSearchParams();
  const filter = useMemo(() => filterFromSearch(search), [search]);
  const filterKey = filterToSearch(filter).toString();
  const [list, setList] = useState<ListState | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [reloadTick, setReloadTick] = useState(0);
  const [toast, setToast] = useState<{ kind: 'ok' | 'error' | 'info'; text: string } | null>(null);
  const loadedKey = useRef<string | null>(null);
  const buffer = useRef<Transition[] | null>(null); // transitions seen while a load is in flight
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const services = useServiceNames();
  const now = useNow(5000);
  const navigate = useNavigate();

  const setFilter = (patch: Partial<IncidentFilter>) => setSearch(filterToSearch({ ...filter, ...patch }), { replace: false });

  // Load the first page whenever the filter changes (or on reload / stream reset).
  useEffect(() => {
    const ctl = new AbortController();
    buffer.current = [];
    setError(null);
    // A reload keeps showing the list until the answer comes; another filter starts empty.
    const sameFilter = loadedKey.current === filterKey;
    loadedKey.current = filterKey;
    if (!sameFilter) setList(null);
    api
      .incidents(filterToQuery(filter), ctl.signal)
      .then((r) => {
        if (ctl.signal.aborted) return;
        let st = initialList(r.items, r.counts, r.next_cursor);
        for (const t of buffer.current ?? []) st = mergeTransition(st, t, filter);
        buffer.current = null;
        setList(st);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        buffer.current = null;
        setError(e);
      });
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey, reloadTick]);

  // Counts are reconciled with the server a little after live changes (a transition committed
  // just before a load may be counted twice otherwise).
  const reconcile = useRef<ReturnType<typeof setTimeout> | null>(null);
  const scheduleReconcile = useCallback(() => {
    if (reconcile.current) clearTimeout(reconcile.current);
    reconcile.current = setTimeout(() => {
      const f = filterRef.current;
      api
        .incidents({ ...filterToQuery(f), limit: 1 })
        .then((r) => {
          if (filterToSearch(filterRef.current).toString() !== filterToSearch(f).toString()) return;
          setList((l) => (l ? { ...l, counts: { ...l.counts, ...r.counts } } : l));
        })
        .catch(() => undefined);
    }, 2500);
  }, []);
  useEffect(() => () => {
    if (reconcile.current) clearTimeout(reconcile.current);
  }, []);

  useStream({
    transition: (t) => {
      if (buffer.current) {
        buffer.current.push(t);
        return;
      }
      setList((l) => (l ? mergeTransition(l, t, filterRef.current) : l));
      scheduleReconcile();
    },
    reset: () => setReloadTick((n) => n + 1),
  });

  const loadMore = async () => {
    if (!list?.next_cursor) return;
    setLoadingMore(true);
    try {
      const r = await api.incidents({ ...filterToQuery(filter), cursor: list.next_cursor });
      setList((l) => (l ? appendPage(l, r.items, r.next_cursor) : l));
    } catch (e) {
      setToast({ kind: 'error', text: `Could not load more: ${errorText(e)}` });
    } finally {
      setLoadingMore(false);
    }
  };

  const ack = async (inc: Incident) => {
    try {
      const r = await api.acknowledge(inc.id);
      setToast(
        r.kind === 'done'
          ? { kind: 'ok', text: `Acknowledged: ${inc.summary}` }
          : { kind: 'info', text: 'Acknowledgement sent; it will show here once the owning process commits it.' },
      );
    } catch (e) {
      setToast({ kind: 'error', text: `Acknowledge failed: ${errorText(e)}` });
    }
  };

  const counts = list?.counts;
  const sevSelectId = 'f-severity';

  return (
    <div>
      <PageHeader title="Incidents">
        <div className="flex items-end gap-2">
          <div>
            <label htmlFor="f-service" className="label">
              Service
            </label>
            <input
              id="f-service"
              list="f-service-list"
              defaultValue={filter.service}
              key={filter.service}
              placeholder="any"
              className="w-40"
              onKeyDown={(e) => {
                if (e.key === 'Enter') setFilter({ service: e.currentTarget.value.trim() });
              }}
              onBlur={(e) => {
                if (e.currentTarget.value.trim() !== filter.service) setFilter({ service: e.currentTarget.value.trim() });
              }}
            />
            <datalist id="f-service-list">
              {services.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </div>
          <div>
            <label htmlFor={sevSelectId} className="label">
              Severity
            </label>
            <select id={sevSelectId} value={filter.severity} onChange={(e) => setFilter({ severity: e.target.value })}>
              <option value="">any</option>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="f-range" className="label">
              Opened
            </label>
            <select id="f-range" value={filter.range} onChange={(e) => setFilter({ range: e.target.value })}>
              {RANGES.map((r) => (
                <option key={r.key} value={r.key}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
          <button type="button" className="btn" onClick={() => setReloadTick((n) => n + 1)} title="Reload from the server">
            ↻ Refresh
          </button>
        </div>
      </PageHeader>

      <div role="tablist" aria-label="Incident status" className="flex flex-wrap gap-1 border-b border-slate-800 px-4 pt-2">
        {TABS.map((t) => {
          const active = filter.status === t.key;
          const n = counts ? tabCount(counts, t.key) : null;
          const hot = (t.key === 'triggered' || t.key === 'open') && counts && counts.triggered > 0;
          return (
            <button
              key={t.key}
              type="button"
              role="tab"
              aria-selected={active}
              data-tab={t.key}
              onClick={() => setFilter({ status: t.key })}
              className={`-mb-px flex items-center gap-1.5 rounded-t border-b-2 px-3 py-1.5 text-sm ${
                active ? 'border-sky-400 font-semibold text-white' : 'border-transparent text-slate-400 hover:text-slate-200'
              }`}
            >
              {t.label}
              <span
                data-count={t.key}
                className={`min-w-[1.5rem] rounded-full px-1.5 text-center text-xs ${hot ? 'bg-red-600 text-white' : 'bg-slate-800 text-slate-300'}`}
              >
                {n ?? '·'}
              </span>
            </button>
          );
        })}
      </div>

      {toast && (
        <div className="px-4 pt-2">
          <Toast kind={toast.kind} text={toast.text} onClose={() => setToast(null)} />
        </div>
      )}

      {error ? (
        <ErrorState error={error} what="Could not load incidents" onRetry={() => setReloadTick((n) => n + 1)} />
      ) : !list ? (
        <Loading what="Loading incidents" rows={6} />
      ) : list.items.length === 0 ? (
        <Empty title={filter.status === 'open' ? 'Nothing is burning' : 'No incidents match'}>
          {filter.status === 'open'
            ? 'No open incidents for these filters. New ones appear here live, without reloading.'
            : 'Try another status, service, severity or a longer time range.'}
        </Empty>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-sm" aria-label="Incidents" data-testid="incidents-table">
            <thead className="border-b border-slate-800">
              <tr>
                <th className="th w-1 pr-0" aria-label="Severity colour" />
                <th className="th">Severity</th>
                <th className="th">Status</th>
                <th className="th">Incident</th>
                <th className="th">Service</th>
                <th className="th">Opened</th>
                <th className="th text-right">Value</th>
                <th className="th text-right" title="Breaches">#</th>
                <th className="th">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((inc) => {
                const fresh = list.fresh[inc.id] !== undefined && now - list.fresh[inc.id]! < 5000;
                const openFor = (parseTime(inc.resolved_at) ?? now) - (parseTime(inc.opened_at) ?? now);
                return (
                  <tr
                    key={`${inc.id}:${list.fresh[inc.id] ?? 0}`}
                    data-incident={inc.id}
                    data-service={inc.service}
                    data-status={inc.status}
                    className={`cursor-pointer border-b border-slate-800/70 hover:bg-slate-800/40 ${fresh ? 'row-fresh' : ''}`}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a,button')) return;
                      navigate(`/incidents/${encodeURIComponent(inc.id)}`);
                    }}
                  >
                    <td className="w-1 p-0">
                      <span aria-hidden className={`block h-9 w-1 ${SEV_BAR[inc.severity] ?? 'bg-slate-500'}`} />
                    </td>
                    <td className="td">
                      <SeverityBadge severity={inc.severity} />
                    </td>
                    <td className="td">
                      <StatusBadge status={inc.status} />
                    </td>
                    <td className="td max-w-xl">
                      <Link to={`/incidents/${encodeURIComponent(inc.id)}`} className="link font-medium text-slate-100">
                        {inc.summary || inc.rule}
                      </Link>
                      <div className="mt-0.5 flex flex-wrap items-center gap-1 text-xs text-slate-500">
                        <span className="font-mono">{inc.rule}</span>
                        <Chips labels={inc.group} />
                        {inc.flapping && <span className="rounded bg-amber-500/20 px-1 text-amber-300">flapping</span>}
                        {inc.silenced && <span className="rounded bg-slate-700 px-1 text-slate-300">silenced</span>}
                      </div>
                    </td>
                    <td className="td">
                      <Link to={`/services/${encodeURIComponent(inc.service)}`} className="link">
                        {inc.service}
                      </Link>
                    </td>
                    <td className="td text-slate-300">
                      <Time iso={inc.opened_at} now={now} />
                      <div className="text-xs text-slate-500">{inc.resolved_at ? 'lasted' : 'open for'} {fmtDuration(openFor)}</div>
                    </td>
                    <td className="td text-right font-mono">{fmtNum(inc.last_value)}</td>
                    <td className="td text-right font-mono text-slate-400">{inc.breach_count}</td>
                    <td className="td text-right">
                      {(inc.status === 'triggered' || inc.status === 'pending') && (
                        <button type="button" className="btn btn-sm" onClick={() => void ack(inc)} aria-label={`Acknowledge ${inc.summary}`}>
                          Ack
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div className="flex items-center justify-between px-4 py-2 text-xs text-slate-500">
            <span>
              {list.items.length} shown{list.next_cursor ? ', more available' : ''}
            </span>
            {list.next_cursor && (
              <button type="button" className="btn btn-sm" onClick={() => void loadMore()} disabled={loadingMore}>
                {loadingMore ? 'Loading…' : 'Load more'}
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
