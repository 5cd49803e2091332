import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api, SEVERITIES, type NewSilence, type Silence } from '../api';
import { Chips, Empty, ErrorState, Loading, PageHeader, Time, Toast, errorText, useNow } from '../components/ui';
import { useAsync } from '../hooks';
import { parseLabels } from '../labels';
import { fromLocalInput } from '../time';

type Show = 'active' | 'expired';

function CreateForm({ onCreated, rules, services }: { onCreated: (s: Silence) => void; rules: string[]; services: string[] }) {
  const [service, setService] = useState('');
  const [rule, setRule] = useState('');
  const [severity, setSeverity] = useState('');
  const [labels, setLabels] = useState('');
  const [ending, setEnding] = useState<'duration' | 'until' | 'resolved'>('duration');
  const [hours, setHours] = useState('2');
  const [until, setUntil] = useState('');
  const [comment, setComment] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErr(null);
    const pl = parseLabels(labels);
    if (pl.error) return setErr(`Labels: ${pl.error}`);
    const body: NewSilence = {};
    if (service.trim()) body.service = service.trim();
    if (rule.trim()) body.rule = rule.trim();
    if (severity) body.severity = severity;
    if (Object.keys(pl.labels).length) body.labels = pl.labels;
    if (!body.service && !body.rule && !body.severity && !body.labels) return setErr('Give at least one matcher (service, rule, severity or labels).');
    if (comment.trim()) body.comment = comment.trim();
    if (ending === 'resolved') body.until_resolved = true;
    else if (ending === 'duration') {
      const h = Number(hours);
      if (!(h > 0)) return setErr('Duration: a positive number of hours.');
      body.duration_s = Math.round(h * 3600);
    } else {
      const iso = fromLocalInput(until);
      if (!iso) return setErr('Ends at: pick a date and time.');
      body.ends_at = iso;
    }
    setBusy(true);
    try {
      const s = await api.createSilence(body);
      onCreated(s);
      setService('');
      setRule('');
      setSeverity('');
      setLabels('');
      setComment('');
    } catch (e2) {
      setErr(errorText(e2));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="card m-4 p-3" aria-labelledby="new-sil-h">
      <h2 id="new-sil-h" className="mb-2 text-sm font-semibold text-slate-200">
        New silence
      </h2>
      <div className="flex flex-wrap items-end gap-2">
        <div>
          <label htmlFor="s-service" className="label">
            Service
          </label>
          <input id="s-service" list="s-service-list" className="w-36" value={service} onChange={(e) => setService(e.target.value)} placeholder="any" />
          <datalist id="s-service-list">
            {services.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </div>
        <div>
          <label htmlFor="s-rule" className="label">
            Rule
          </label>
          <select id="s-rule" value={rule} onChange={(e) => setRule(e.target.value)}>
            <option value="">any</option>
            {rules.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="s-sev" className="label">
            Severity
          </label>
          <select id="s-sev" value={severity} onChange={(e) => setSeverity(e.target.value)}>
            <option value="">any</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="s-labels" className="label">
            Labels (k=v, …)
          </label>
          <input id="s-labels" className="w-44 font-mono" value={labels} onChange={(e) => setLabels(e.target.value)} placeholder="endpoint=/checkout" />
        </div>
        <div>
          <label htmlFor="s-ending" className="label">
            Ends
          </label>
          <select id="s-ending" value={ending} onChange={(e) => setEnding(e.target.value as typeof ending)}>
            <option value="duration">after…</option>
            <option value="until">at…</option>
            <option value="resolved">when resolved</option>
          </select>
        </div>
        {ending === 'duration' && (
          <div>
            <label htmlFor="s-hours" className="label">
              Hours
            </label>
            <input id="s-hours" type="number" min="0.05" step="any" className="w-20" value={hours} onChange={(e) => setHours(e.target.value)} />
          </div>
        )}
        {ending === 'until' && (
          <div>
            <label htmlFor="s-until" className="label">
              Ends at (local)
            </label>
            <input id="s-until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
          </div>
        )}
        <div className="min-w-[10rem] flex-1">
          <label htmlFor="s-comment" className="label">
            Comment
          </label>
          <input id="s-comment" className="w-full" value={comment} onChange={(e) => setComment(e.target.value)} placeholder="maintenance window, known issue…" />
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
      </div>
      {err && (
        <p role="alert" className="mt-2 text-xs text-red-300">
          {err}
        </p>
      )}
    </form>
  );
}

export default function SilencesPage() {
  const [show, setShow] = useState<Show>('active');
  const list = useAsync((s) => api.silences(show === 'active', s), [show]);
  const rules = useAsync((s) => api.rules(s), []);
  const [services, setServices] = useState<string[]>([]);
  const [toast, setToast] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [expiring, setExpiring] = useState<string | null>(null);
  const now = useNow(10000);
  useEffect(() => {
    api
      .services()
      .then((r) => setServices(r.items.map((s) => s.service).sort()))
      .catch(() => undefined);
  }, []);

  const expire = async (s: Silence) => {
    setExpiring(s.id);
    try {
      await api.expireSilence(s.id);
      setToast({ kind: 'ok', text: 'Silence expired' });
      list.reload(true);
    } catch (e) {
      setToast({ kind: 'error', text: `Expire failed: ${errorText(e)}` });
    } finally {
      setExpiring(null);
    }
  };

  return (
    <div>
      <PageHeader title="Silences">
        <Link to="/rules" className="link text-sm">
          ← Rules
        </Link>
      </PageHeader>
      <CreateForm
        rules={rules.data?.items.map((r) => r.name) ?? []}
        services={services}
        onCreated={() => {
          setToast({ kind: 'ok', text: 'Silence created' });
          if (show === 'active') list.reload(true);
          else setShow('active');
        }}
      />
      {toast && (
        <div className="mx-4 mb-2">
          <Toast kind={toast.kind} text={toast.text} onClose={() => setToast(null)} />
        </div>
      )}
      <div role="tablist" aria-label="Which silences" className="flex gap-1 border-b border-slate-800 px-4">
        {(['active', 'expired'] as const).map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={show === k}
            onClick={() => setShow(k)}
            className={`-mb-px border-b-2 px-3 py-1.5 text-sm capitalize ${show === k ? 'border-sky-400 font-semibold text-white' : 'border-transparent text-slate-400 hover:text-slate-200'}`}
          >
            {k}
          </button>
        ))}
      </div>
      {list.error && !list.data ? (
        <ErrorState error={list.error} what="Could not load silences" onRetry={() => list.reload()} />
      ) : !list.data ? (
        <Loading what="Loading silences" rows={3} />
      ) : list.data.items.length === 0 ? (
        <Empty title={show === 'active' ? 'No active silences' : 'No expired silences'}>
          {show === 'active' ? 'Every matching incident notifies. Silence one from its page, or create a silence above.' : null}
        </Empty>
      ) : (
        <table className="w-full text-sm" aria-label="Silences" data-testid="silences-table">
          <thead className="border-b border-slate-800">
            <tr>
              <th className="th">Matches</th>
              <th className="th">Ends</th>
              <th className="th">Comment</th>
              <th className="th">Created</th>
              <th className="th">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((s) => (
              <tr key={s.id} className="border-b border-slate-800/70" data-silence={s.id}>
                <td className="td">
                  <div className="flex flex-wrap gap-1 font-mono text-xs">
                    {s.service && <span className="rounded bg-slate-800 px-1.5">service={s.service}</span>}
                    {s.rule && <span className="rounded bg-slate-800 px-1.5">rule={s.rule}</span>}
                    {s.severity && <span className="rounded bg-slate-800 px-1.5">severity={s.severity}</span>}
                    <Chips labels={s.labels} />
                  </div>
                </td>
                <td className="td text-slate-300">
                  {s.deleted_at ? (
                    <span>
                      expired <Time iso={s.deleted_at} now={now} />
                    </span>
                  ) : s.until_resolved ? (
                    'when resolved'
                  ) : (
                    <Time iso={s.ends_at} now={now} />
                  )}
                </td>
                <td className="td text-slate-300">{s.comment || <span className="text-slate-500">—</span>}</td>
                <td className="td text-slate-400">
                  <Time iso={s.created_at} now={now} /> by {s.created_by}
                </td>
                <td className="td text-right">
                  {s.active && (
                    <button type="button" className="btn btn-sm" disabled={expiring === s.id} onClick={() => void expire(s)}>
                      {expiring === s.id ? 'Expiring…' : 'Expire now'}
                    </button>
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
