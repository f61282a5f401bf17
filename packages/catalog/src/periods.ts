import type { PeriodUnit } from './types.js';

/**
 * Reset and billing periods, computed in UTC. A period is half-open, `[startMs, endMs)`.
 *
 * Boundary n is always computed from the anchor (`anchor + n units`), never by stepping
 * from the previous boundary, so that a month that clamps (31 January → 28 February) does
 * not drag every later boundary to the 28th. The period holding any instant is found
 * directly, however far the instant is from the anchor.
 */
export interface Period {
  startMs: number;
  endMs: number;
  /** 0 for the period that starts at the anchor; negative before it. */
  index: number;
}

const hourMs = 3_600_000;
const fixedLengthMs: Partial<Record<PeriodUnit, number>> = {
  hour: hourMs,
  day: 24 * hourMs,
  week: 7 * 24 * hourMs,
};

/** The instant `months` calendar months after `ms`, the day clamped to the month's last day. */
export function addMonths(ms: number, months: number): number {
  const date = new Date(ms);
  const monthIndex = date.getUTCMonth() + months;
  const year = date.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const day = Math.min(date.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(
    year,
    month,
    day,
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    date.getUTCMilliseconds(),
  );
}

/** Boundary `index` of a schedule anchored at `anchorMs`. */
export function periodBoundary(anchorMs: number, unit: PeriodUnit, index: number): number {
  const lengthMs = fixedLengthMs[unit];
  if (lengthMs !== undefined) return anchorMs + index * lengthMs;
  return addMonths(anchorMs, unit === 'year' ? index * 12 : index);
}

/** The period of the schedule anchored at `anchorMs` that contains `nowMs`. */
export function periodAt(anchorMs: number, unit: PeriodUnit, nowMs: number): Period {
  const index = periodIndexAt(anchorMs, unit, nowMs);
  return {
    startMs: periodBoundary(anchorMs, unit, index),
    endMs: periodBoundary(anchorMs, unit, index + 1),
    index,
  };
}

function periodIndexAt(anchorMs: number, unit: PeriodUnit, nowMs: number): number {
  const lengthMs = fixedLengthMs[unit];
  if (lengthMs !== undefined) return Math.floor((nowMs - anchorMs) / lengthMs);

  // Estimate from the calendar difference, then correct by at most one step each way:
  // clamping can put a boundary a few days before the naive month arithmetic.
  const anchor = new Date(anchorMs);
  const now = new Date(nowMs);
  const months =
    (now.getUTCFullYear() - anchor.getUTCFullYear()) * 12 +
    (now.getUTCMonth() - anchor.getUTCMonth());
  const step = unit === 'year' ? 12 : 1;
  let index = Math.floor(months / step);
  while (periodBoundary(anchorMs, unit, index) > nowMs) index -= 1;
  while (periodBoundary(anchorMs, unit, index + 1) <= nowMs) index += 1;
  return index;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}
