// The resumable live stream client (WebSocket /api/stream, docs/api.md "Live stream").
//
// The server sends {"type":"hello","stream_id":N} first, then incident transitions (each with a
// global stream_id in commit order) and service stats every 5 s. After a disconnect the client
// reconnects with backoff and `?after=<last stream_id it saw>`: the server replays what it missed
// (or sends {"type":"reset"} when that is too much, and the client reloads). Transitions are
// delivered to listeners at most once each, in stream_id order.
import type { ServiceStats } from './api';
import type { Transition } from './incidents';

export interface Hello {
  type: 'hello';
  stream_id: number;
}
export interface ServiceStatsMessage {
  type: 'service.stats';
  at: string;
  items: ServiceStats[];
}
export type StreamMessage = Hello | Transition | ServiceStatsMessage | { type: 'reset' };

export type StreamStatus = 'connecting' | 'live' | 'reconnecting';

export interface StreamListener {
  transition?: (t: Transition) => void;
  stats?: (m: ServiceStatsMessage) => void;
  /** The stream could not replay what was missed (or restarted): reload what is shown. */
  reset?: () => void;
  status?: (s: StreamStatus) => void;
}

/** The subset of the browser's WebSocket the client uses (a fake one in tests). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface StreamOptions {
  url: string;
  socket?: SocketFactory;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (h: unknown) => void;
  random?: () => number;
  now?: () => number;
  /** Backoff bounds in ms. */
  minDelay?: number;
  maxDelay?: number;
}

/** Reconnect delay for the n-th consecutive failure (0-based): exponential with ±20 % jitter. */
export function backoffDelay(n: number, min = 500, max = 15000, random: () => number = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.min(n, 20));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** The stream URL, with `after` when resuming. */
export function streamUrl(base: string, after: number | null): string {
  if (after === null) return base;
  return `${base}${base.includes('?') ? '&' : '?'}after=${after}`;
}

export function defaultStreamUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/api/stream`;
}

export class StreamClient {
  private readonly opts: Required<Omit<StreamOptions, 'url' | 'socket'>> & { url: string; socket: SocketFactory };
  private listeners = new Set<StreamListener>();
  private ws: SocketLike | null = null;
  private timer: unknown = null;
  private failures = 0;
  private stopped = true;
  private resetPending = false;
  private _status: StreamStatus = 'connecting';
  /** The last stream_id seen (from hello or a transition); null before the first hello. */
  lastId: number | null = null;
  lastStats: ServiceStatsMessage | null = null;
  lastMessageAt = 0;

  constructor(opts: StreamOptions) {
    this.opts = {
      url: opts.url,
      socket: opts.socket ?? ((u) => new WebSocket(u) as unknown as SocketLike),
      setTimer: opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
      random: opts.random ?? Math.random,
      now: opts.now ?? Date.now,
      minDelay: opts.minDelay ?? 500,
      maxDelay: opts.maxDelay ?? 15000,
    };
  }

  get status(): StreamStatus {
    return this._status;
  }

  subscribe(l: StreamListener): () => void {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
      ws.close(1000, 'stop');
    }
  }

  /** Drops the connection and reconnects at once (e.g. when the tab comes back online). */
  reconnectNow(): void {
    if (this.stopped) return;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    this.failures = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
      ws.close(1000, 'reconnect');
    }
    this.connect();
  }

  private setStatus(s: StreamStatus) {
    if (s === this._status) return;
    this._status = s;
    for (const l of this.listeners) l.status?.(s);
  }

  private connect() {
    this.timer = null;
    if (this.stopped) return;
    let ws: SocketLike;
    try {
      ws = this.opts.socket(streamUrl(this.opts.url, this.lastId));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.handle(ev.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleReconnect() {
    if (this.stopped || this.timer !== null) return;
    this.setStatus('reconnecting');
    const delay = backoffDelay(this.failures, this.opts.minDelay, this.opts.maxDelay, this.opts.random);
    this.failures += 1;
    this.timer = this.opts.setTimer(() => this.connect(), delay);
  }

  /** Handles one text frame (public for tests). */
  handle(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: StreamMessage;
    try {
      msg = JSON.parse(data) as StreamMessage;
    } catch {
      return;
    }
    this.lastMessageAt = this.opts.now();
    switch (msg.type) {
      case 'hello': {
        this.failures = 0;
        // Resuming (after=N): the replay that follows carries ids <= hello's; keep N.
        if (this.lastId === null) this.lastId = msg.stream_id;
        else if (msg.stream_id < this.lastId) {
          // The server's sequence is behind what we saw (a new database): start over.
          this.lastId = msg.stream_id;
          this.resetPending = true;
        }
        this.setStatus('live');
        if (this.resetPending) {
          this.resetPending = false;
          for (const l of this.listeners) l.reset?.();
        }
        break;
      }
      case 'incident.transition': {
        if (typeof msg.stream_id !== 'number') return;
        if (this.lastId !== null && msg.stream_id <= this.lastId) return; // already delivered
        this.lastId = msg.stream_id;
        for (const l of this.listeners) l.transition?.(msg);
        break;
      }
      case 'service.stats': {
        this.lastStats = msg;
        for (const l of this.listeners) l.stats?.(msg);
        break;
      }
      case 'reset': {
        // Too much was missed to replay: start over from "now" and let listeners reload once the
        // new connection's hello says where "now" is.
        this.lastId = null;
        this.resetPending = true;
        const ws = this.ws;
        this.ws = null;
        if (ws) {
          ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
          ws.close(1000, 'reset');
        }
        this.failures = 0;
        this.connect();
        break;
      }
      default:
        break;
    }
  }
}
