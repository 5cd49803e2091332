import { describe, expect, it } from 'vitest';
import { StreamClient, backoffDelay, streamUrl, type SocketLike } from './stream';
import type { Transition } from './incidents';

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  send(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop() {
    this.onclose?.({});
  }
  close() {
    this.closed = true;
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const client = new StreamClient({
    url: 'ws://hub/api/stream',
    socket: (u) => {
      const s = new FakeSocket(u);
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => undefined,
    random: () => 0.5,
  });
  const got: number[] = [];
  let resets = 0;
  const statuses: string[] = [];
  client.subscribe({ transition: (t) => got.push(t.stream_id), reset: () => resets++, status: (s) => statuses.push(s) });
  client.start();
  return { client, sockets, timers, got, statuses, resets: () => resets };
}

const t = (stream_id: number): Partial<Transition> => ({ type: 'incident.transition', stream_id, incident_id: 'a', seq: stream_id });

describe('StreamClient', () => {
  it('connects without after, then resumes from the last stream_id it saw', () => {
    const h = harness();
    expect(h.sockets[0]!.url).toBe('ws://hub/api/stream');
    h.sockets[0]!.send({ type: 'hello', stream_id: 10 });
    h.sockets[0]!.send(t(11));
    h.sockets[0]!.send(t(12));
    h.sockets[0]!.drop();
    expect(h.client.status).toBe('reconnecting');
    expect(h.timers).toHaveLength(1);
    h.timers[0]!.fn();
    expect(h.sockets[1]!.url).toBe('ws://hub/api/stream?after=12');
    // The server replays what was missed (ids <= its hello), then goes on live.
    h.sockets[1]!.send({ type: 'hello', stream_id: 14 });
    h.sockets[1]!.send(t(13));
    h.sockets[1]!.send(t(14));
    h.sockets[1]!.send(t(15));
    expect(h.got).toEqual([11, 12, 13, 14, 15]);
    expect(h.client.status).toBe('live');
  });

  it('without a hello yet, resumes from the first connection hello id', () => {
    const h = harness();
    h.sockets[0]!.send({ type: 'hello', stream_id: 7 });
    h.sockets[0]!.drop();
    h.timers[0]!.fn();
    expect(h.sockets[1]!.url).toBe('ws://hub/api/stream?after=7');
  });

  it('delivers each transition once, even when a replay overlaps', () => {
    const h = harness();
    h.sockets[0]!.send({ type: 'hello', stream_id: 0 });
    h.sockets[0]!.send(t(1));
    h.sockets[0]!.send(t(2));
    h.sockets[0]!.send(t(2));
    h.sockets[0]!.send(t(1));
    expect(h.got).toEqual([1, 2]);
  });

  it('backs off exponentially while the hub is down, and resets after a hello', () => {
    const h = harness();
    for (let i = 0; i < 5; i++) {
      h.sockets[i]!.drop();
      h.timers[i]!.fn();
    }
    expect(h.timers.map((x) => x.ms)).toEqual([500, 1000, 2000, 4000, 8000]);
    h.sockets[5]!.send({ type: 'hello', stream_id: 3 });
    h.sockets[5]!.drop();
    expect(h.timers[5]!.ms).toBe(500);
  });

  it('on reset, reconnects fresh and tells listeners to reload once the new hello arrives', () => {
    const h = harness();
    h.sockets[0]!.send({ type: 'hello', stream_id: 5 });
    h.sockets[0]!.send({ type: 'reset' });
    expect(h.sockets[0]!.closed).toBe(true);
    expect(h.sockets[1]!.url).toBe('ws://hub/api/stream');
    expect(h.resets()).toBe(0);
    h.sockets[1]!.send({ type: 'hello', stream_id: 5000 });
    expect(h.resets()).toBe(1);
    h.sockets[1]!.send(t(5001));
    expect(h.got).toEqual([5001]);
  });

  it('starts over when the server is behind what it saw (a new database)', () => {
    const h = harness();
    h.sockets[0]!.send({ type: 'hello', stream_id: 100 });
    h.sockets[0]!.drop();
    h.timers[0]!.fn();
    h.sockets[1]!.send({ type: 'hello', stream_id: 3 });
    expect(h.resets()).toBe(1);
    h.sockets[1]!.send(t(4));
    expect(h.got).toEqual([4]);
  });

  it('keeps the latest service stats and ignores garbage frames', () => {
    const h = harness();
    h.client.handle('not json');
    h.client.handle(42);
    h.sockets[0]!.send({ type: 'service.stats', at: '2026-11-24T10:00:00Z', items: [] });
    expect(h.client.lastStats?.at).toBe('2026-11-24T10:00:00Z');
  });

  it('stop() closes and does not reconnect', () => {
    const h = harness();
    h.client.stop();
    expect(h.sockets[0]!.closed).toBe(true);
    expect(h.timers).toHaveLength(0);
  });
});

describe('helpers', () => {
  it('backoffDelay is bounded and jittered', () => {
    expect(backoffDelay(0, 500, 15000, () => 0)).toBe(400);
    expect(backoffDelay(0, 500, 15000, () => 1)).toBe(600);
    expect(backoffDelay(30, 500, 15000, () => 0.5)).toBe(15000);
  });
  it('streamUrl adds after', () => {
    expect(streamUrl('ws://h/api/stream', null)).toBe('ws://h/api/stream');
    expect(streamUrl('ws://h/api/stream', 0)).toBe('ws://h/api/stream?after=0');
    expect(streamUrl('ws://h/api/stream?x=1', 9)).toBe('ws://h/api/stream?x=1&after=9');
  });
});
