import { useMemo, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { ApiError, api, getUser, type Incident, type IncidentDetail, type Notification, type Rule, type TimelineEntry } from '../api';
import { chartSpec } from '../chartspec';
import { Chart } from '../components/Chart';
import { Chips, Empty, ErrorState, Loading, SeverityBadge, StatusBadge, Time, Toast, errorText, fmtNum, fmtPct, useNow } from '../components/ui';
import { useAsync, useInterval } from '../hooks';
import { useStream } from '../streamContext';
import { fmtDuration, parseTime } from '../time';

type ToastT = { kind: 'ok' | 'error' | 'info'; text: string } | null;

const KIND_STYLE: Record<string, string> = {
  triggered: 'bg-red-500',
  pending: 'bg-amber-400',
  acknowledged: 'bg-violet-400',
  resolved: 'bg-emerald-500',
  cancelled: 'bg-slate-400',
  note: 'bg-sky-400',
  flapping: 'bg-amber-500',
  stable: 'bg-slate-400',
  silenced: 'bg-slate-300',
};

function Timeline({ entries }: { entries: TimelineEntry[] }) {
  if (!entries.length) return <Empty title="No timeline entries yet" />;
  const sorted = [...entries].sort((a, b) => b.seq - a.seq);
  return (
    <ol className="relative space-y-0 border-l border-slate-700 pl-4" data-testid="timeline" aria-label="Timeline, newest first">
      {sorted.map((e) => (
        <li key={e.seq} className="relative pb-3" data-kind={e.kind}>
          <span aria-hidden className={`absolute -left-[21px] top-1.5 h-2.5 w-2.5 rounded-full ring-2 ring-slate-950 ${KIND_STYLE[e.kind] ?? 'bg-slate-500'}`} />
          <div className="flex flex-wrap items-baseline gap-x-2 text-sm">
            <span className="font-medium text-slate-100">{e.kind}</span>
            {e.from && e.to && e.from !== e.to && (
              <span className="text-xs text-slate-400">
                {e.from} → {e.to}
              </span>
            )}
            {e.actor && <span className="text-xs text-slate-400">by {e.actor}</span>}
            {e.value !== null && <span className="font-mono text-xs text-slate-400">value {fmtNum(e.value)}</span>}
            <span className="ml-auto text-xs text-slate-500">
              <Time iso={e.at} /> · #{e.seq}
            </span>
          </div>
          {e.detail && (
            <p className={`mt-0.5 whitespace-pre-wrap text-sm ${e.kind === 'note' ? 'rounded bg-slate-800/70 px-2 py-1 text-slate-200' : 'text-slate-400'}`}>
              {e.detail}
            </p>
          )}
        </li>
      ))}
    </ol>
  );
}

const NOTIF_STATUS: Record<string, string> = {
  delivered: 'text-emerald-300',
  pending: 'text-amber-300',
  failed: 'text-red-300',
  muted: 'text-slate-400',
};

function Notifications({ items }: { items: Notification[] }) {
  if (!items.length)
    return <Empty title="No notifications">No route matched this incident, or none of its transitions notify.</Empty>;
  return (
    <ul className="divide-y divide-slate-800" data-testid="notifications">
      {items.map((n) => (
        <li key={n.id} className="py-1.5" data-channel={n.channel} data-event={n.event} data-status={n.status}>
          <details>
            <summary className="flex cursor-pointer list-none flex-wrap items-center gap-x-3 gap-y-0.5 text-sm">
              <span className="font-medium text-slate-100">{n.channel}</span>
              <span className="text-xs text-slate-500">{n.kind}</span>
              <span className="text-xs text-slate-300">{n.event}</span>
              <span className={`text-xs font-semibold ${NOTIF_STATUS[n.status] ?? 'text-slate-300'}`}>
                {n.status}
                {n.ambiguous ? ' (ambiguous)' : ''}
              </span>
              <span className="text-xs text-slate-500">
                {n.attempts} attempt{n.attempts === 1 ? '' : 's'}
              </span>
              {n.group !== null && (
                <span className="text-xs text-slate-400" data-testid="notification-group">
                  grouped{n.group ? ` by ${n.group}` : ''}
                </span>
              )}
              <span className="ml-auto text-xs text-slate-500">
                <Time iso={n.created_at} />
              </span>
            </summary>
            {n.last_error && <p className="mt-1 font-mono text-xs text-red-300">{n.last_error}</p>}
            {n.attempt_log.length > 0 ? (
              <table className="mt-1 w-full text-xs">
                <thead>
                  <tr className="text-slate-500">
                    <th className="px-2 text-left font-medium">#</th>
                    <th className="px-2 text-left font-medium">Started</th>
                    <th className="px-2 text-left font-medium">Outcome</th>
                    <th className="px-2 text-right font-medium">HTTP</th>
                    <th className="px-2 text-right font-medium">Latency</th>
                    <th className="px-2 text-left font-medium">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {n.attempt_log.map((a) => (
                    <tr key={a.attempt} className="text-slate-300">
                      <td className="px-2">{a.attempt}</td>
                      <td className="px-2">
                        <Time iso={a.started_at} />
                      </td>
                      <td className={`px-2 ${NOTIF_STATUS[a.outcome] ?? ''}`}>
                        {a.outcome}
                        {a.retry_after_ms !== null ? ` (retry in ${fmtDuration(a.retry_after_ms)})` : ''}
                      </td>
                      <td className="px-2 text-right font-mono">{a.status_code ?? '—'}</td>
                      <td className="px-2 text-right font-mono">{a.latency_ms !== null ? `${a.latency_ms} ms` : '—'}</td>
                      <td className="px-2 font-mono text-red-300">{a.error ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="mt-1 text-xs text-slate-500">No delivery attempts yet.</p>
            )}
          </details>
        </li>
      ))}
    </ul>
  );
}

function BreachChart({ inc, rule, metricNames }: { inc: Incident; rule: Rule | undefined; metricNames: string[] }) {
  const spec = useMemo(() => chartSpec(inc, rule, metricNames), [inc, rule, metricNames]);
  const series = useAsync(
    (signal) => api.series(inc.service, { signal: spec.signal, name: spec.name, from: spec.from, to: spec.to }, signal),
    [inc.service, spec.signal, spec.name, spec.from.slice(0, 16), spec.to.slice(0, 16)],
  );
  if (series.error) return <ErrorState error={series.error} what={`Could not load the ${spec.label} series`} onRetry={() => series.reload()} />;
  if (!series.data) return <Loading what={`Loading ${spec.label}`} rows={2} />;
  const pts = series.data.points.map((p): [number, number | null] => [parseTime(p.t) ?? 0, p[spec.field] ?? null]);
  const isRate = spec.field === 'error_rate';
  const markers = [
    { t: parseTime(inc.opened_at), label: 'opened', color: '#f87171' },
    { t: parseTime(inc.acknowledged_at), label: 'ack', color: '#a78bfa' },
    { t: parseTime(inc.resolved_at), label: 'resolved', color: '#34d399' },
  ].filter((m): m is { t: number; label: string; color: string } => m.t !== null);
  return (
    <Chart
      title={`${inc.service} · ${spec.label} (${series.data.width_s}s buckets)`}
      series={[{ label: spec.label, color: isRate ? '#fb923c' : '#38bdf8', points: pts }]}
      yFormat={isRate ? fmtPct : (v) => fmtNum(v)}
      threshold={spec.threshold !== null ? { value: spec.threshold, label: `threshold ${isRate ? fmtPct(spec.threshold) : fmtNum(spec.threshold)}` } : null}
      markers={markers}
      xDomain={[parseTime(spec.from)!, parseTime(spec.to)!]}
      height={190}
    />
  );
}

const DURATIONS = [
  { key: 'resolved', label: 'until resolved' },
  { key: '3600', label: '1 hour' },
  { key: '14400', label: '4 hours' },
  { key: '86400', label: '24 hours' },
];

function SilenceForm({ inc, onDone, onCancel }: { inc: Incident; onDone: (text: string) => void; onCancel: () => void }) {
  const [useService, setUseService] = useState(true);
  const [useRule, setUseRule] = useState(true);
  const [useGroup, setUseGroup] = useState(Object.keys(inc.group).length > 0);
  const [ending, setEnding] = useState('resolved');
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const s = await api.createSilence({
        service: useService ? inc.service : undefined,
        rule: useRule ? inc.rule : undefined,
        labels: useGroup && Object.keys(inc.group).length ? inc.group : undefined,
        comment: comment.trim() || undefined,
        ...(ending === 'resolved' ? { until_resolved: true as const } : { duration_s: Number(ending) }),
      });
      onDone(`Silenced ${s.until_resolved ? 'until resolved' : `until ${new Date(s.ends_at ?? '').toLocaleString()}`}`);
    } catch (e2) {
      setErr(errorText(e2));
    } finally {
      setBusy(false);
    }
  };
  const none = !useService && !useRule && !useGroup;
  return (
    <form onSubmit={submit} className="card mt-2 space-y-2 p-3 text-sm" aria-label="Silence this incident">
      <fieldset>
        <legend className="label">Match</legend>
        <div className="flex flex-wrap gap-3">
          <label className="inline-flex items-center gap-1.5">
            <input type="checkbox" checked={useService} onChange={(e) => setUseService(e.target.checked)} /> service = {inc.service}
          </label>
          <label className="inline-flex items-center gap-1.5">
            <input type="checkbox" checked={useRule} onChange={(e) => setUseRule(e.target.checked)} /> rule = {inc.rule}
          </label>
          {Object.keys(inc.group).length > 0 && (
            <label className="inline-flex items-center gap-1.5">
              <input type="checkbox" checked={useGroup} onChange={(e) => setUseGroup(e.target.checked)} /> <Chips labels={inc.group} />
            </label>
          )}
        </div>
      </fieldset>
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="sil-ending" className="label">
            For
          </label>
          <select id="sil-ending" value={ending} onChange={(e) => setEnding(e.target.value)}>
            {DURATIONS.map((d) => (
              <option key={d.key} value={d.key}>
                {d.label}
              </option>
            ))}
          </select>
        </div>
        <div className="min-w-[12rem] flex-1">
          <label htmlFor="sil-comment" className="label">
            Comment
          </label>
          <input id="sil-comment" className="w-full" value={comment} onChange={(e) => setComment(e.target.value)} placeholder="why (optional)" />
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy || none}>
          {busy ? 'Silencing…' : 'Create silence'}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {none && <p className="text-xs text-amber-300">Choose at least one matcher.</p>}
      {err && (
        <p role="alert" className="text-xs text-red-300">
          {err}
        </p>
      )}
    </form>
  );
}

function NoteForm({ id, onDone, onError }: { id: string; onDone: (pending: boolean) => void; onError: (t: string) => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    setBusy(true);
    try {
      const r = await api.note(id, t);
      setText('');
      onDone(r.kind === 'pending');
    } catch (e2) {
      onError(`Note failed: ${errorText(e2)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="space-y-1.5">
      <label htmlFor="note-text" className="label">
        Add a note
      </label>
      <textarea
        id="note-text"
        rows={2}
        maxLength={4000}
        className="w-full"
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="What you found, what you did…"
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit(e);
        }}
      />
      <div className="flex items-center gap-2">
        <button type="submit" className="btn btn-primary btn-sm" disabled={busy || !text.trim()}>
          {busy ? 'Adding…' : 'Add note'}
        </button>
        <span className="text-xs text-slate-500">Ctrl+Enter</span>
      </div>
    </form>
  );
}

export default function IncidentPage() {
  const { id = '' } = useParams();
  const detail = useAsync((signal) => api.incident(id, signal), [id]);
  const rules = useAsync((signal) => api.rules(signal), []);
  const services = useAsync((signal) => api.services(signal), []);
  const [toast, setToast] = useState<ToastT>(null);
  const [busy, setBusy] = useState<'acknowledge' | 'resolve' | null>(null);
  const [silencing, setSilencing] = useState(false);
  const now = useNow(1000);

  useStream({
    transition: (t) => {
      if (t.incident_id === id) detail.reload(true);
    },
    reset: () => detail.reload(true),
  });

  const d: IncidentDetail | undefined = detail.data;
  // Deliveries and retries are not stream messages: poll while any is pending (or it is open).
  const pendingDelivery = d?.notifications.some((n) => n.status === 'pending') ?? false;
  const isOpen = d ? d.incident.status !== 'resolved' && d.incident.status !== 'cancelled' : false;
  useInterval(() => detail.reload(true), pendingDelivery ? 2000 : isOpen ? 5000 : 30000);
  const rule = rules.data?.items.find((r) => r.name === d?.incident.rule);
  const metricNames = useMemo(
    () => services.data?.items.find((s) => s.service === d?.incident.service)?.metrics.map((m) => m.name) ?? [],
    [services.data, d?.incident.service],
  );

  if (detail.error && !d) {
    const notFound = detail.error instanceof ApiError && detail.error.status === 404;
    return notFound ? (
      <Empty title="Incident not found">
        No incident has the id <span className="font-mono">{id}</span>.{' '}
        <Link className="link" to="/incidents">
          Back to incidents
        </Link>
      </Empty>
    ) : (
      <ErrorState error={detail.error} what="Could not load the incident" onRetry={() => detail.reload()} />
    );
  }
  if (!d) return <Loading what="Loading the incident" rows={8} />;
  const inc = d.incident;

  const act = async (what: 'acknowledge' | 'resolve') => {
    setBusy(what);
    try {
      const r = what === 'acknowledge' ? await api.acknowledge(inc.id) : await api.resolve(inc.id);
      if (r.kind === 'done') setToast({ kind: 'ok', text: what === 'acknowledge' ? 'Acknowledged' : 'Resolved' });
      else setToast({ kind: 'info', text: `The ${what} command is on its way (${r.command_id.slice(0, 8)}); the page updates when it is committed.` });
      detail.reload(true);
    } catch (e) {
      setToast({ kind: 'error', text: `${what === 'acknowledge' ? 'Acknowledge' : 'Resolve'} failed: ${errorText(e)}` });
    } finally {
      setBusy(null);
    }
  };

  const closed = inc.status === 'resolved' || inc.status === 'cancelled';
  const openFor = (parseTime(inc.resolved_at) ?? now) - (parseTime(inc.opened_at) ?? now);

  return (
    <div className="mx-auto max-w-7xl px-4 py-3">
      <nav aria-label="Breadcrumb" className="mb-1 text-xs text-slate-500">
        <Link to="/incidents" className="link">
          Incidents
        </Link>{' '}
        / <span className="font-mono">{inc.id}</span>
      </nav>
      <header className="mb-3 flex flex-wrap items-start gap-3" data-testid="incident-header" data-status={inc.status}>
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-2">
            <SeverityBadge severity={inc.severity} />
            <StatusBadge status={inc.status} />
            {inc.flapping && <span className="rounded bg-amber-500/20 px-1.5 text-xs text-amber-300">flapping</span>}
            {inc.silenced && <span className="rounded bg-slate-700 px-1.5 text-xs text-slate-200">silenced</span>}
          </div>
          <h1 className="mt-1 text-xl font-semibold text-slate-50">{inc.summary || inc.rule}</h1>
          <dl className="mt-1 flex flex-wrap gap-x-5 gap-y-1 text-sm">
            <div>
              <dt className="inline text-slate-500">service </dt>
              <dd className="inline">
                <Link className="link" to={`/services/${encodeURIComponent(inc.service)}`}>
                  {inc.service}
                </Link>
              </dd>
            </div>
            <div>
              <dt className="inline text-slate-500">rule </dt>
              <dd className="inline font-mono">
                <Link className="link" to="/rules">
                  {inc.rule}
                </Link>
              </dd>
            </div>
            <div>
              <dt className="inline text-slate-500">opened </dt>
              <dd className="inline">
                <Time iso={inc.opened_at} mode="full" />
              </dd>
            </div>
            <div>
              <dt className="inline text-slate-500">{closed ? 'lasted ' : 'open for '}</dt>
              <dd className="inline">{fmtDuration(openFor)}</dd>
            </div>
            <div>
              <dt className="inline text-slate-500">last value </dt>
              <dd className="inline font-mono">{fmtNum(inc.last_value)}</dd>
            </div>
            <div>
              <dt className="inline text-slate-500">breaches </dt>
              <dd className="inline font-mono">{inc.breach_count}</dd>
            </div>
            {inc.last_seen_at && (
              <div>
                <dt className="inline text-slate-500">last seen </dt>
                <dd className="inline">
                  <Time iso={inc.last_seen_at} mode="ago" now={now} />
                </dd>
              </div>
            )}
          </dl>
          <div className="mt-1 flex flex-wrap gap-2 text-xs">
            <Chips labels={inc.group} />
            <Chips labels={inc.labels} />
          </div>
        </div>
        <div className="flex flex-wrap gap-2" role="group" aria-label="Actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={busy !== null || !(inc.status === 'triggered' || inc.status === 'pending')}
            onClick={() => void act('acknowledge')}
          >
            {busy === 'acknowledge' ? 'Acknowledging…' : 'Acknowledge'}
          </button>
          <button type="button" className="btn btn-ok" disabled={busy !== null || closed} onClick={() => void act('resolve')}>
            {busy === 'resolve' ? 'Resolving…' : 'Resolve'}
          </button>
          <button type="button" className="btn" aria-expanded={silencing} onClick={() => setSilencing((s) => !s)} disabled={closed && !silencing}>
            Silence…
          </button>
        </div>
      </header>
      {!getUser() && (
        <p className="mb-2 text-xs text-amber-300">Set your name in the top bar: actions are recorded as “anonymous” until you do.</p>
      )}
      {silencing && (
        <SilenceForm
          inc={inc}
          onCancel={() => setSilencing(false)}
          onDone={(text) => {
            setSilencing(false);
            setToast({ kind: 'ok', text });
            detail.reload(true);
          }}
        />
      )}
      {toast && (
        <div className="my-2">
          <Toast kind={toast.kind} text={toast.text} onClose={() => setToast(null)} />
        </div>
      )}
      {detail.error ? <ErrorState error={detail.error} what="Refresh failed (showing the last loaded state)" onRetry={() => detail.reload(true)} /> : null}

      <div className="grid gap-4 lg:grid-cols-5">
        <section className="space-y-4 lg:col-span-3" aria-label="Signal">
          <BreachChart inc={inc} rule={rule} metricNames={metricNames} />
          <section className="card p-3" aria-labelledby="notif-h">
            <h2 id="notif-h" className="mb-1 text-sm font-semibold text-slate-200">
              Notifications
            </h2>
            <Notifications items={d.notifications} />
          </section>
        </section>
        <section className="card space-y-3 p-3 lg:col-span-2" aria-labelledby="tl-h">
          <h2 id="tl-h" className="text-sm font-semibold text-slate-200">
            Timeline
          </h2>
          <NoteForm
            id={inc.id}
            onDone={(pending) => {
              if (pending) setToast({ kind: 'info', text: 'Note sent; it shows once committed.' });
              detail.reload(true);
            }}
            onError={(t) => setToast({ kind: 'error', text: t })}
          />
          <Timeline entries={d.timeline} />
        </section>
      </div>
    </div>
  );
}
