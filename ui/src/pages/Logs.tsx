import { useEffect, useMemo, useState, type FormEvent, type ReactElement } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { api, type LogEntry } from '../api';
import { Empty, ErrorState, Loading, PageHeader, Time, errorText } from '../components/ui';
import { LEVELS, logFilterFromSearch, logFilterToQuery, logFilterToSearch, type LogFilter } from '../logfilter';
import { RANGES, fromLocalInput, toLocalInput } from '../time';

const LEVEL_CLS: Record<string, string> = {
  trace: 'text-slate-500',
  debug: 'text-slate-400',
  info: 'text-sky-300',
  warn: 'text-amber-300',
  warning: 'text-amber-300',
  error: 'text-red-300',
  fatal: 'text-white bg-red-700 px-1 rounded',
  critical: 'text-white bg-red-700 px-1 rounded',
};

export function LevelBadge({ level }: { level: string }) {
  return <span className={`inline-block w-11 shrink-0 font-mono text-xs font-semibold uppercase ${LEVEL_CLS[level] ?? 'text-slate-300'}`}>{level}</span>;
}

/** The message with each (case-insensitive) occurrence of `q` highlighted. */
function Highlight({ text, q }: { text: string; q: string }) {
  const needle = q.trim().toLowerCase();
  if (!needle) return <>{text}</>;
  const out: Array<string | ReactElement> = [];
  const lower = text.toLowerCase();
  let i = 0;
  for (let k = lower.indexOf(needle); k >= 0 && out.length < 200; k = lower.indexOf(needle, i)) {
    if (k > i) out.push(text.slice(i, k));
    out.push(
      <mark key={k} className="rounded bg-amber-400/30 text-amber-100">
        {text.slice(k, k + needle.length)}
      </mark>,
    );
    i = k + needle.length;
  }
  out.push(text.slice(i));
  return <>{out}</>;
}

function LogRow({ l, q }: { l: LogEntry; q: string }) {
  const [open, setOpen] = useState(false);
  const hasAttrs = l.attrs && Object.keys(l.attrs).length > 0;
  return (
    <li className="border-b border-slate-800/70 font-mono text-xs" data-level={l.level}>
      <button
        type="button"
        className="flex w-full items-start gap-2 px-4 py-1 text-left hover:bg-slate-800/40"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        <span className="w-24 shrink-0 text-slate-500">
          <Time iso={l.ts} />
        </span>
        <LevelBadge level={l.level} />
        <span className="w-28 shrink-0 truncate text-sky-300/90" title={l.service}>
          {l.service}
        </span>
        <span className={`min-w-0 flex-1 ${open ? 'whitespace-pre-wrap break-all' : 'truncate'} text-slate-200`}>
          <Highlight text={l.message} q={q} />
        </span>
      </button>
      {open && (
        <dl className="grid grid-cols-[8rem_1fr] gap-x-3 bg-slate-900/60 px-4 py-1.5 pl-[9.5rem] text-slate-400">
          <dt>event_id</dt>
          <dd className="break-all text-slate-300">{l.event_id}</dd>
          <dt>host</dt>
          <dd className="text-slate-300">{l.host ?? '—'}</dd>
          <dt>service</dt>
          <dd>
            <Link className="link" to={`/services/${encodeURIComponent(l.service)}`}>
              {l.service}
            </Link>
          </dd>
          {hasAttrs &&
            Object.entries(l.attrs!).map(([k, v]) => (
              <div key={k} className="contents">
                <dt>{k}</dt>
                <dd className="break-all text-slate-300">{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
              </div>
            ))}
        </dl>
      )}
    </li>
  );
}

export default function LogsPage() {
  const [search, setSearch] = useSearchParams();
  const filter = useMemo(() => logFilterFromSearch(search), [search]);
  const key = logFilterToSearch(filter).toString();
  const [draft, setDraft] = useState<LogFilter>(filter);
  const [items, setItems] = useState<LogEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [more, setMore] = useState<'idle' | 'loading' | string>('idle');
  const [tick, setTick] = useState(0);
  const [services, setServices] = useState<string[]>([]);

  useEffect(() => setDraft(filter), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    api
      .services()
      .then((r) => setServices(r.items.map((s) => s.service).sort()))
      .catch(() => undefined);
  }, []);

  useEffect(() => {
    const ctl = new AbortController();
    setItems(null);
    setError(null);
    setMore('idle');
    api
      .logs(logFilterToQuery(filter), ctl.signal)
      .then((r) => {
        setItems(r.items);
        setCursor(r.next_cursor);
      })
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setError(e);
      });
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const next = logFilterToSearch(draft);
    if (next.toString() === key) setTick((t) => t + 1);
    else setSearch(next);
  };

  const loadMore = async () => {
    if (!cursor) return;
    setMore('loading');
    try {
      const r = await api.logs({ ...logFilterToQuery(filter), cursor });
      setItems((xs) => {
        const have = new Set((xs ?? []).map((x) => x.event_id));
        return [...(xs ?? []), ...r.items.filter((x) => !have.has(x.event_id))];
      });
      setCursor(r.next_cursor);
      setMore('idle');
    } catch (e) {
      setMore(errorText(e));
    }
  };

  return (
    <div>
      <PageHeader title="Logs" />
      <form onSubmit={apply} className="flex flex-wrap items-end gap-2 border-b border-slate-800 px-4 py-2" aria-label="Log filters">
        <div>
          <label htmlFor="l-service" className="label">
            Service
          </label>
          <input id="l-service" list="l-service-list" className="w-40" placeholder="any" value={draft.service} onChange={(e) => setDraft({ ...draft, service: e.target.value })} />
          <datalist id="l-service-list">
            {services.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </div>
        <div>
          <label htmlFor="l-level" className="label">
            Level
          </label>
          <select id="l-level" value={draft.level} onChange={(e) => setDraft({ ...draft, level: e.target.value })}>
            <option value="">any</option>
            <option value="warn,error,fatal">warn and worse</option>
            <option value="error,fatal">error and worse</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </div>
        <div className="min-w-[14rem] flex-1">
          <label htmlFor="l-q" className="label">
            Message contains
          </label>
          <input id="l-q" type="search" className="w-full" placeholder="text (case-insensitive)" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        </div>
        <div>
          <label htmlFor="l-range" className="label">
            Time
          </label>
          <select
            id="l-range"
            value={draft.range}
            onChange={(e) =>
              setDraft({
                ...draft,
                range: e.target.value,
                from: e.target.value === 'custom' ? draft.from || new Date(Date.now() - 3600e3).toISOString() : '',
                to: e.target.value === 'custom' ? draft.to : '',
              })
            }
          >
            {RANGES.map((r) => (
              <option key={r.key} value={r.key}>
                {r.label}
              </option>
            ))}
            <option value="custom">Custom…</option>
          </select>
        </div>
        {draft.range === 'custom' && (
          <>
            <div>
              <label htmlFor="l-from" className="label">
                From (local)
              </label>
              <input id="l-from" type="datetime-local" value={toLocalInput(draft.from)} onChange={(e) => setDraft({ ...draft, from: fromLocalInput(e.target.value) })} />
            </div>
            <div>
              <label htmlFor="l-to" className="label">
                To (local)
              </label>
              <input id="l-to" type="datetime-local" value={toLocalInput(draft.to)} onChange={(e) => setDraft({ ...draft, to: fromLocalInput(e.target.value) })} />
            </div>
          </>
        )}
        <button type="submit" className="btn btn-primary">
          Search
        </button>
      </form>

      {error ? (
        <ErrorState error={error} what="Search failed" onRetry={() => setTick((t) => t + 1)} />
      ) : !items ? (
        <Loading what="Searching logs" rows={8} />
      ) : items.length === 0 ? (
        <Empty title="No logs match">Widen the time range, clear the level or change the text.</Empty>
      ) : (
        <>
          <p className="px-4 pt-1 text-xs text-slate-500">Newest first · click a line for its details</p>
          <ul aria-label="Log lines" data-testid="logs-list">
            {items.map((l) => (
              <LogRow key={l.event_id} l={l} q={filter.q} />
            ))}
          </ul>
          <div className="flex items-center gap-3 px-4 py-2 text-xs text-slate-500">
            <span>{items.length} lines</span>
            {cursor ? (
              <button type="button" className="btn btn-sm" disabled={more === 'loading'} onClick={() => void loadMore()}>
                {more === 'loading' ? 'Loading…' : 'Load older'}
              </button>
            ) : (
              <span>end of results</span>
            )}
            {more !== 'idle' && more !== 'loading' && (
              <span role="alert" className="text-red-300">
                {more}
              </span>
            )}
          </div>
        </>
      )}
    </div>
  );
}
