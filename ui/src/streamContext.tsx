import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { StreamClient, defaultStreamUrl, type StreamListener, type StreamStatus, type ServiceStatsMessage } from './stream';

const Ctx = createContext<StreamClient | null>(null);

export function StreamProvider({ children }: { children: ReactNode }) {
  const [client] = useState(() => new StreamClient({ url: defaultStreamUrl() }));
  useEffect(() => {
    client.start();
    const online = () => client.reconnectNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      client.stop();
    };
  }, [client]);
  return <Ctx.Provider value={client}>{children}</Ctx.Provider>;
}

export function useStreamClient(): StreamClient {
  const c = useContext(Ctx);
  if (!c) throw new Error('useStreamClient outside StreamProvider');
  return c;
}

/** Subscribes the listener (its latest version) for the component's lifetime. */
export function useStream(listener: StreamListener) {
  const client = useStreamClient();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(
    () =>
      client.subscribe({
        transition: (t) => ref.current.transition?.(t),
        stats: (m) => ref.current.stats?.(m),
        reset: () => ref.current.reset?.(),
        status: (s) => ref.current.status?.(s),
      }),
    [client],
  );
}

export function useStreamStatus(): StreamStatus {
  const client = useStreamClient();
  const [s, setS] = useState<StreamStatus>(client.status);
  useStream({ status: setS });
  useEffect(() => setS(client.status), [client]);
  return s;
}

/** The latest service.stats message (null until the first one). */
export function useLiveStats(): ServiceStatsMessage | null {
  const client = useStreamClient();
  const [m, setM] = useState<ServiceStatsMessage | null>(client.lastStats);
  useStream({ stats: setM });
  return m;
}
