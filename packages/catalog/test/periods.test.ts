import { describe, expect, it } from 'vitest';
import { addMonths, periodAt } from '../src/index.js';

const at = (text: string): number => Date.parse(text);
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

describe('periodAt', () => {
  const anchor = at('2017-01-31T00:00:00Z');

  it('computes each monthly boundary from the anchor, clamping to the month end', () => {
    const starts = ['2017-02-01', '2017-03-01', '2017-04-01', '2017-05-01'].map((day) =>
      periodAt(anchor, 'month', at(`${day}T00:00:00Z`)),
    );
    expect(starts.map((period) => [iso(period.startMs), iso(period.endMs)])).toEqual([
      ['2017-01-31', '2017-02-28'],
      ['2017-02-28', '2017-03-31'],
      ['2017-03-31', '2017-04-30'],
      ['2017-04-30', '2017-05-31'],
    ]);
  });

  it('is half-open: the end instant belongs to the next period', () => {
    expect(periodAt(anchor, 'month', at('2017-03-30T23:59:59Z')).index).toBe(1);
    expect(periodAt(anchor, 'month', at('2017-03-31T00:00:00Z')).index).toBe(2);
  });

  it('finds a period decades from the anchor directly', () => {
    const period = periodAt(anchor, 'month', at('2047-02-28T12:00:00Z'));
    expect(period.index).toBe(361);
    expect([iso(period.startMs), iso(period.endMs)]).toEqual(['2047-02-28', '2047-03-31']);
  });

  it('starts a new period on 02-28 for an anchor on 01-29', () => {
    const period = periodAt(at('2025-01-29T00:00:00Z'), 'month', at('2025-03-05T00:00:00Z'));
    expect([iso(period.startMs), iso(period.endMs)]).toEqual(['2025-02-28', '2025-03-29']);
  });

  it('measures hours, days and weeks in fixed lengths', () => {
    const start = at('2026-03-01T00:00:00Z');
    expect(periodAt(start, 'hour', at('2026-03-01T05:30:00Z')).index).toBe(5);
    expect(periodAt(start, 'day', at('2026-03-10T00:00:00Z')).index).toBe(9);
    expect(periodAt(start, 'week', at('2026-03-15T00:00:00Z')).index).toBe(2);
  });

  it('clamps a yearly anchor on 29 February', () => {
    const period = periodAt(at('2024-02-29T00:00:00Z'), 'year', at('2025-06-01T00:00:00Z'));
    expect([iso(period.startMs), iso(period.endMs)]).toEqual(['2025-02-28', '2026-02-28']);
  });
});

describe('addMonths', () => {
  it('keeps the time of day and clamps the day', () => {
    expect(new Date(addMonths(at('2026-03-03T10:15:00Z'), 12)).toISOString()).toBe(
      '2027-03-03T10:15:00.000Z',
    );
    expect(new Date(addMonths(at('2026-01-31T00:00:00Z'), 1)).toISOString()).toBe(
      '2026-02-28T00:00:00.000Z',
    );
    expect(new Date(addMonths(at('2026-03-31T00:00:00Z'), -1)).toISOString()).toBe(
      '2026-02-28T00:00:00.000Z',
    );
  });
});
