// Logs explorer filters <-> URL and API query.
import type { LogQuery } from './api';
import { rangeFrom, rangeSeconds } from './time';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface LogFilter {
  service: string;
  level: string;
  q: string;
  /** A RANGES key, or 'custom' with from/to (ISO). */
  range: string;
  from: string;
  to: string;
}

export const DEFAULT_LOG_FILTER: LogFilter = { service: '', level: '', q: '', range: '1h', from: '', to: '' };

export function logFilterFromSearch(p: URLSearchParams): LogFilter {
  const range = p.get('range') ?? DEFAULT_LOG_FILTER.range;
  const from = p.get('from') ?? '';
  const to = p.get('to') ?? '';
  const custom = range === 'custom' || (!p.get('range') && (from || to));
  return {
    service: p.get('service')?.trim() ?? '',
    level: p.get('level')?.trim() ?? '',
    q: p.get('q') ?? '',
    range: custom ? 'custom' : rangeSeconds(range) !== null ? range : DEFAULT_LOG_FILTER.range,
    from: custom ? from : '',
    to: custom ? to : '',
  };
}

export function logFilterToSearch(f: LogFilter): URLSearchParams {
  const p = new URLSearchParams();
  if (f.service) p.set('service', f.service);
  if (f.level) p.set('level', f.level);
  if (f.q) p.set('q', f.q);
  if (f.range === 'custom') {
    p.set('range', 'custom');
    if (f.from) p.set('from', f.from);
    if (f.to) p.set('to', f.to);
  } else if (f.range !== DEFAULT_LOG_FILTER.range) p.set('range', f.range);
  return p;
}

export function logFilterToQuery(f: LogFilter, now: number = Date.now(), limit = 100): LogQuery {
  const q: LogQuery = { limit };
  if (f.service) q.service = f.service;
  if (f.level) q.level = f.level;
  if (f.q.trim()) q.q = f.q.trim();
  if (f.range === 'custom') {
    if (f.from) q.from = f.from;
    if (f.to) q.to = f.to;
  } else {
    const from = rangeFrom(f.range, now);
    if (from) q.from = from;
  }
  return q;
}
