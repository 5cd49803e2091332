import { useState, type FormEvent } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router-dom';
import { getUser, setUser } from './api';
import { useStreamStatus } from './streamContext';
import IncidentsPage from './pages/Incidents';
import IncidentPage from './pages/Incident';
import ServicesPage from './pages/Services';
import ServicePage from './pages/Service';
import LogsPage from './pages/Logs';
import RulesPage from './pages/Rules';
import SilencesPage from './pages/Silences';
import { Empty } from './components/ui';

const NAV = [
  { to: '/incidents', label: 'Incidents' },
  { to: '/services', label: 'Services' },
  { to: '/logs', label: 'Logs' },
  { to: '/rules', label: 'Rules' },
  { to: '/silences', label: 'Silences' },
];

function StreamIndicator() {
  const s = useStreamStatus();
  const [dot, text, title] =
    s === 'live'
      ? ['bg-emerald-400', 'live', 'Connected to the live stream: changes appear without reloading']
      : s === 'connecting'
        ? ['bg-amber-400 animate-pulse', 'connecting', 'Connecting to the live stream']
        : ['bg-red-500 animate-pulse', 'reconnecting', 'The live stream is disconnected; reconnecting (nothing is missed on resume)'];
  return (
    <span role="status" aria-live="polite" title={title} data-stream={s} className="inline-flex items-center gap-1.5 text-xs text-slate-400">
      <span aria-hidden className={`h-2 w-2 rounded-full ${dot}`} />
      {text}
    </span>
  );
}

function UserBox() {
  const [name, setName] = useState(getUser);
  const [editing, setEditing] = useState(() => !getUser());
  const [draft, setDraft] = useState(name);
  const save = (e: FormEvent) => {
    e.preventDefault();
    const v = draft.trim().slice(0, 100);
    setUser(v);
    setName(v);
    setEditing(!v);
  };
  if (!editing)
    return (
      <button type="button" className="btn btn-sm" onClick={() => { setDraft(name); setEditing(true); }} title="Your name is recorded on acknowledgements, notes and silences">
        <span className="text-slate-400">acting as</span> <span data-testid="user-name">{name}</span>
      </button>
    );
  return (
    <form onSubmit={save} className="flex items-center gap-1">
      <label htmlFor="user-name" className="text-xs text-slate-400">
        Your name
      </label>
      <input id="user-name" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="e.g. alice" maxLength={100} className="w-32 py-0.5" />
      <button type="submit" className="btn btn-sm btn-primary">
        Save
      </button>
    </form>
  );
}

export default function App() {
  return (
    <div className="flex h-full flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-sky-700 focus:px-2 focus:py-1">
        Skip to content
      </a>
      <header className="flex flex-wrap items-center gap-x-4 gap-y-1 border-b border-slate-800 bg-slate-900 px-4 py-1.5">
        <NavLink to="/" className="flex items-center gap-1.5 font-bold tracking-tight text-slate-100">
          <span aria-hidden className="h-2.5 w-2.5 rounded-full bg-red-500" />
          rtmon
        </NavLink>
        <nav aria-label="Main" className="flex flex-wrap gap-0.5">
          {NAV.map((n) => (
            <NavLink
              key={n.to}
              to={n.to}
              className={({ isActive }) =>
                `rounded px-2.5 py-1 text-sm ${isActive ? 'bg-slate-800 font-medium text-white' : 'text-slate-400 hover:bg-slate-800/60 hover:text-slate-200'}`
              }
            >
              {n.label}
            </NavLink>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-3">
          <StreamIndicator />
          <UserBox />
        </div>
      </header>
      <main id="main" className="min-h-0 flex-1 overflow-auto">
        <Routes>
          <Route path="/" element={<Navigate to="/incidents" replace />} />
          <Route path="/incidents" element={<IncidentsPage />} />
          <Route path="/incidents/:id" element={<IncidentPage />} />
          <Route path="/services" element={<ServicesPage />} />
          <Route path="/services/:name" element={<ServicePage />} />
          <Route path="/logs" element={<LogsPage />} />
          <Route path="/rules" element={<RulesPage />} />
          <Route path="/silences" element={<SilencesPage />} />
          <Route
            path="*"
            element={
              <Empty title="No such page">
                <NavLink className="link" to="/incidents">
                  Go to incidents
                </NavLink>
              </Empty>
            }
          />
        </Routes>
      </main>
    </div>
  );
}
