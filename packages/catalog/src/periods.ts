import type { PeriodUnit } from './types.js';
import { instantOf, wallTimeAt } from './zoned-time.js';
import type { WallTime } from './zoned-time.js';

/**
 * Reset and billing periods. A period is half-open, `[startMs, endMs)`.
 *
 * Boundary n is always computed from the anchor (`anchor + n × interval units`), never by
 * stepping from the previous boundary, so that a month that clamps (31 January → 28
 * February) does not drag every later boundary to the 28th. The period holding any
 * instant is found directly, however far the instant is from the anchor.
 *
 * Hours are fixed lengths of 3,600 seconds. Days, weeks, months and years follow the wall
 * clock of the schedule's time zone: the boundary keeps the anchor's local time of day,
 * so a day across a daylight-saving change lasts 23 or 25 hours. A boundary whose local
 * time does not exist (clocks jumped over it) moves to the first instant after the gap; a
 * local time that occurs twice means its first occurrence.
 */
export interface Period {
  startMs: number;
  endMs: number;
  /** 0 for the period that starts at the anchor; negative before it. */
  index: number;
}

export interface ScheduleOptions {
  /** An IANA zone known to `Intl`; `UTC` by default. */
  timeZone?: string;
  /** Units per period, at least 1; 1 by default. */
  interval?: number;
}

const hourMs = 3_600_000;
/** An estimate errs by a step or two at most; the bound only keeps a bug from spinning. */
const correctionStepsMax = 64;

/** The instant `months` calendar months after `ms`, the day clamped to the month's last day. */
export function addMonths(ms: number, months: number, timeZone = 'UTC'): number {
  return instantOf(addWallMonths(wallTimeAt(ms, timeZone), months), timeZone);
}

/** Boundary `index` of a schedule anchored at `anchorMs`. */
export function periodBoundary(
  anchorMs: number,
  unit: PeriodUnit,
  index: number,
  options: ScheduleOptions = {},
): number {
  const steps = index * (options.interval ?? 1);
  const timeZone = options.timeZone ?? 'UTC';
  if (unit === 'hour') return anchorMs + steps * hourMs;
  const anchor = wallTimeAt(anchorMs, timeZone);
  if (unit === 'day' || unit === 'week') {
    const days = unit === 'week' ? steps * 7 : steps;
    const shifted = new Date(Date.UTC(anchor.year, anchor.month, anchor.day + days));
    const wall = {
      ...anchor,
      year: shifted.getUTCFullYear(),
      month: shifted.getUTCMonth(),
      day: shifted.getUTCDate(),
    };
    return instantOf(wall, timeZone);
  }
  return instantOf(addWallMonths(anchor, unit === 'year' ? steps * 12 : steps), timeZone);
}

/** The period of the schedule anchored at `anchorMs` that contains `nowMs`. */
export function periodAt(
  anchorMs: number,
  unit: PeriodUnit,
  nowMs: number,
  options: ScheduleOptions = {},
): Period {
  const index = periodIndexAt(anchorMs, unit, nowMs, options);
  return {
    startMs: periodBoundary(anchorMs, unit, index, options),
    endMs: periodBoundary(anchorMs, unit, index + 1, options),
    index,
  };
}

function periodIndexAt(
  anchorMs: number,
  unit: PeriodUnit,
  nowMs: number,
  options: ScheduleOptions,
): number {
  const interval = options.interval ?? 1;
  if (unit === 'hour') return Math.floor((nowMs - anchorMs) / (hourMs * interval));

  // Estimate, then correct: clamping and daylight saving move a boundary by days or
  // hours from the estimate, never by more than a few periods.
  let index = estimateIndex(anchorMs, unit, nowMs, options.timeZone ?? 'UTC', interval);
  for (let step = 0; step < correctionStepsMax; step += 1) {
    if (periodBoundary(anchorMs, unit, index, options) > nowMs) index -= 1;
    else if (periodBoundary(anchorMs, unit, index + 1, options) <= nowMs) index += 1;
    else return index;
  }
  throw new Error(`period index of ${nowMs} did not settle near ${index}`);
}

function estimateIndex(
  anchorMs: number,
  unit: PeriodUnit,
  nowMs: number,
  timeZone: string,
  interval: number,
): number {
  if (unit === 'day' || unit === 'week') {
    const lengthMs = (unit === 'week' ? 7 : 1) * 24 * hourMs * interval;
    return Math.floor((nowMs - anchorMs) / lengthMs);
  }
  const anchor = wallTimeAt(anchorMs, timeZone);
  const now = wallTimeAt(nowMs, timeZone);
  const months = (now.year - anchor.year) * 12 + (now.month - anchor.month);
  return Math.floor(months / ((unit === 'year' ? 12 : 1) * interval));
}

function addWallMonths(wall: WallTime, months: number): WallTime {
  const monthIndex = wall.month + months;
  const year = wall.year + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  return { ...wall, year, month, day: Math.min(wall.day, daysInMonth(year, month)) };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}
