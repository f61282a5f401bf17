import { describe, expect, it } from 'vitest';
import { periodAt, periodBoundary } from '../src/index.js';

const at = (text: string): number => Date.parse(text);
const iso = (ms: number): string => new Date(ms).toISOString();
const hourMs = 3_600_000;

describe('periodAt in a time zone across daylight saving', () => {
  const berlin = { timeZone: 'Europe/Berlin' };
  // Local midnight of 2025-03-29 in Berlin is 23:00Z the day before (UTC+1).
  const anchor = at('2025-03-28T23:00:00Z');

  it('lasts 23 hours on the day clocks go forward (2025-03-30 in Berlin)', () => {
    const period = periodAt(anchor, 'day', at('2025-03-30T12:00:00Z'), berlin);
    expect([iso(period.startMs), iso(period.endMs)]).toEqual([
      '2025-03-29T23:00:00.000Z',
      '2025-03-30T22:00:00.000Z',
    ]);
    expect(period.endMs - period.startMs).toBe(23 * hourMs);
  });

  it('lasts 25 hours on the day clocks go back (2025-10-26 in Berlin)', () => {
    const period = periodAt(anchor, 'day', at('2025-10-26T12:00:00Z'), berlin);
    expect([iso(period.startMs), iso(period.endMs)]).toEqual([
      '2025-10-25T22:00:00.000Z',
      '2025-10-26T23:00:00.000Z',
    ]);
    expect(period.endMs - period.startMs).toBe(25 * hourMs);
  });

  it('moves a boundary that falls in the gap to the first instant after it', () => {
    // Anchored at 02:30 local on 2025-03-29; on 03-30 local 02:30 does not exist in Berlin
    // (02:00 jumps to 03:00, at 01:00Z), so that boundary is 01:00Z, local 03:00.
    const anchorAt0230 = at('2025-03-29T01:30:00Z');
    expect(iso(periodBoundary(anchorAt0230, 'day', 1, berlin))).toBe('2025-03-30T01:00:00.000Z');
    expect(iso(periodBoundary(anchorAt0230, 'day', 2, berlin))).toBe('2025-03-31T00:30:00.000Z');
  });

  it('keeps hourly periods at a fixed 3,600 seconds through the change', () => {
    const period = periodAt(anchor, 'hour', at('2025-03-30T01:30:00Z'), berlin);
    expect([iso(period.startMs), iso(period.endMs)]).toEqual([
      '2025-03-30T01:00:00.000Z',
      '2025-03-30T02:00:00.000Z',
    ]);
    expect(period.endMs - period.startMs).toBe(3_600_000);
  });

  it('follows local midnight for monthly periods on both sides of a change', () => {
    const march = periodAt(anchor, 'month', at('2025-04-10T00:00:00Z'), berlin);
    expect([iso(march.startMs), iso(march.endMs)]).toEqual([
      '2025-03-28T23:00:00.000Z',
      '2025-04-28T22:00:00.000Z',
    ]);
  });

  it('finds a period decades away directly, in a zone', () => {
    const period = periodAt(anchor, 'day', at('2060-07-01T12:00:00Z'), berlin);
    expect(iso(period.startMs)).toBe('2060-06-30T22:00:00.000Z');
  });

  it('counts periods of several units with an interval', () => {
    const period = periodAt(at('2026-01-01T00:00:00Z'), 'week', at('2026-01-20T00:00:00Z'), {
      interval: 2,
    });
    expect([iso(period.startMs), iso(period.endMs)]).toEqual([
      '2026-01-15T00:00:00.000Z',
      '2026-01-29T00:00:00.000Z',
    ]);
  });
});
