import { describe, expect, it } from 'vitest';
import { fmtAgo, fmtDuration, fmtTime, fromLocalInput, rangeFrom, toLocalInput, utcTitle } from './time';

const NOW = Date.parse('2026-11-24T10:00:00.000Z');

describe('time formatting', () => {
  it('utcTitle shows UTC with milliseconds', () => {
    expect(utcTitle('2026-11-24T10:00:00.123Z')).toBe('2026-11-24 10:00:00.123 UTC');
    expect(utcTitle(null)).toBe('');
    expect(utcTitle('garbage')).toBe('');
  });

  it('fmtTime is in the given zone: time only today, date and time otherwise', () => {
    expect(fmtTime('2026-11-24T09:15:07.000Z', NOW, 'UTC')).toBe('09:15:07');
    expect(fmtTime('2026-11-24T09:15:07.000Z', NOW, 'Asia/Tokyo')).toBe('18:15:07');
    expect(fmtTime('2026-11-24T09:15:07.000Z', NOW, 'America/New_York')).toBe('04:15:07');
    expect(fmtTime('2026-11-20T09:15:07.000Z', NOW, 'UTC')).toBe('20 Nov 09:15');
    expect(fmtTime('2025-11-20T09:15:07.000Z', NOW, 'UTC')).toBe('20 Nov 2025 09:15');
    // 23:30 UTC on the 23rd is already the 24th in Tokyo.
    expect(fmtTime('2026-11-23T23:30:00.000Z', NOW, 'Asia/Tokyo')).toBe('08:30:00');
    expect(fmtTime(null, NOW)).toBe('—');
  });

  it('fmtDuration uses the two largest units', () => {
    expect(fmtDuration(0)).toBe('0s');
    expect(fmtDuration(45_000)).toBe('45s');
    expect(fmtDuration(125_000)).toBe('2m 5s');
    expect(fmtDuration(12 * 60_000)).toBe('12m');
    expect(fmtDuration(3 * 3600_000 + 5 * 60_000)).toBe('3h 5m');
    expect(fmtDuration(2 * 86400_000 + 4 * 3600_000)).toBe('2d 4h');
  });

  it('fmtAgo', () => {
    expect(fmtAgo('2026-11-24T09:59:59.500Z', NOW)).toBe('just now');
    expect(fmtAgo('2026-11-24T09:59:48.000Z', NOW)).toBe('12s ago');
    expect(fmtAgo('2026-11-24T10:00:05.000Z', NOW)).toBe('in 5s');
  });

  it('rangeFrom', () => {
    expect(rangeFrom('1h', NOW)).toBe('2026-11-24T09:00:00.000Z');
    expect(rangeFrom('nope', NOW)).toBe('');
  });

  it('datetime-local round trip', () => {
    const iso = '2026-11-24T09:15:00.000Z';
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
    expect(fromLocalInput('')).toBe('');
  });
});
